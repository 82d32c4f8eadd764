#include "daemon/recent_ids.h"

#include <functional>

namespace bw {
namespace {

constexpr size_t kFirstLayerBits = size_t{1} << 20;  // 128 KiB
// 24 bits and 12 probes a pair: about 0.0014% false positives in a full layer, (1 - e^-0.5)^12.
// With 16 and 8 (0.06% a layer, about 0.2% over the layers of a 650,000-pair load) a 400,000-fix
// backlog read the journal 410 times in 12 s, each read waiting for the group commit in progress
// (up to 40 ms): 28% of the loop's time (docs/benchmarks.md, the backlog bound).
constexpr size_t kBitsPerPair = 24;
constexpr int kProbes = 12;

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t HashBytes(std::string_view s) { return std::hash<std::string_view>{}(s); }

}  // namespace

RecentIds::RecentIds(size_t window) : window_size_(window) { Clear(); }

uint64_t RecentIds::KeyHash(std::string_view source, std::string_view id) {
  return Mix(HashBytes(source) * 0x9e3779b97f4a7c15ULL + Mix(HashBytes(id) ^ id.size()));
}

uint64_t RecentIds::Fingerprint(std::string_view payload) {
  return Mix(HashBytes(payload) + payload.size());
}

bool RecentIds::MayContain(uint64_t key) const {
  const uint64_t h1 = key, h2 = Mix(key ^ 0x2545f4914f6cdd1dULL) | 1;
  for (const Layer& layer : layers_) {
    const uint64_t mask = layer.bits.size() * 64 - 1;
    bool all = true;
    for (int j = 0; j < kProbes && all; ++j) {
      const uint64_t bit = (h1 + static_cast<uint64_t>(j) * h2) & mask;
      all = (layer.bits[bit >> 6] >> (bit & 63)) & 1;
    }
    if (all) return true;
  }
  return false;
}

void RecentIds::Insert(uint64_t key) {
  if (layers_.empty() || layers_.back().added >= layers_.back().capacity) {
    const size_t bits = layers_.empty() ? kFirstLayerBits : layers_.back().bits.size() * 64 * 2;
    layers_.push_back(Layer{std::vector<uint64_t>(bits / 64), bits / kBitsPerPair, 0});
  }
  Layer& layer = layers_.back();
  const uint64_t mask = layer.bits.size() * 64 - 1;
  const uint64_t h1 = key, h2 = Mix(key ^ 0x2545f4914f6cdd1dULL) | 1;
  for (int j = 0; j < kProbes; ++j) {
    const uint64_t bit = (h1 + static_cast<uint64_t>(j) * h2) & mask;
    layer.bits[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
  ++layer.added;
}

RecentIds::Verdict RecentIds::Check(std::string_view source, std::string_view id,
                                    std::string_view payload) const {
  const uint64_t key = KeyHash(source, id);
  if (auto it = window_.find(key); it != window_.end()) {
    // A 64-bit key hash may be shared by two pairs; the payload names its pair, so an equal
    // fingerprint is this pair's resend (two payloads sharing both hashes: ~2^-64).
    return it->second == Fingerprint(payload) ? Verdict::kResend : Verdict::kAskJournal;
  }
  if (!complete_) return Verdict::kAskJournal;
  return MayContain(key) ? Verdict::kAskJournal : Verdict::kNew;
}

void RecentIds::Add(std::string_view source, std::string_view id, std::string_view payload) {
  const uint64_t key = KeyHash(source, id);
  Insert(key);
  if (window_size_ == 0) return;
  if (!window_.insert_or_assign(key, Fingerprint(payload)).second) return;  // keeps its place
  window_order_.push_back(key);
  while (window_order_.size() > window_size_) {
    window_.erase(window_order_.front());
    window_order_.pop_front();
  }
}

void RecentIds::AddKey(std::string_view source, std::string_view id) {
  Insert(KeyHash(source, id));
}

void RecentIds::Clear() {
  complete_ = false;
  layers_.clear();
  window_.clear();
  window_order_.clear();
}

size_t RecentIds::filter_bytes() const {
  size_t bytes = 0;
  for (const Layer& layer : layers_) bytes += layer.bits.size() * sizeof(uint64_t);
  return bytes;
}

}  // namespace bw
