// RecentIds: the matcher's memory of the (source, id) pairs it has handled, so that deduplication
// reads the journal only when the journal may hold something (issue 14; protocol section 2: a
// repeated (source, id) is a duplicate, a different message under a used id a conflict).
//
// Two parts, both rebuilt by Matcher::Restore (start-up, and after a batch that cannot be kept):
//  - Every pair handled, in a Bloom filter that grows by layers (each twice the size of the one
//    before, added when that one is full, so memory stays about 3 bytes a pair, up to twice that
//    just after a layer is added, and the false-positive rate about 0.0014% a layer).  It never
//    says "new" of a pair it was given; "maybe" costs one journal read, which waits for the
//    commit in progress on the committer's thread.
//  - The most recent `window` pairs with a fingerprint of their payload (a 64-bit hash).
//    A resend of one of them byte for byte is a duplicate without reading the journal; another
//    payload under the same pair is read from the journal, which tells a resend written
//    differently (the same JSON) from a conflict.
// The journal's uniqueness of handled (source, id) stays behind this as the backstop.
//
// Until set_complete(true) (every pair the journal holds was added), "new" cannot be trusted and
// Check() answers kAskJournal for every pair outside the window.
//
// Thread-safety: not synchronised; the matcher's thread.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

namespace bw {

class RecentIds {
 public:
  // How many recent pairs keep their payload's fingerprint by default.
  // (16 bytes a pair in the table and 8 in the order: about 1.5 MiB.)
  static constexpr size_t kDefaultWindow = size_t{1} << 16;

  explicit RecentIds(size_t window = kDefaultWindow);

  enum class Verdict {
    kNew,         // certainly never handled: no journal read needed
    kResend,      // a recent pair with the same payload, byte for byte: a duplicate
    kAskJournal,  // maybe handled (older than the window, or another payload): read the journal
  };
  Verdict Check(std::string_view source, std::string_view id, std::string_view payload) const;

  // A pair handled with `payload` (as received): into the filter and the window.
  void Add(std::string_view source, std::string_view id, std::string_view payload);
  // A pair the journal holds, payload not known: into the filter only.
  void AddKey(std::string_view source, std::string_view id);

  // Forgets everything; incomplete until set_complete(true).
  void Clear();
  void set_complete(bool complete) { complete_ = complete; }
  bool complete() const { return complete_; }

  size_t window_pairs() const { return window_.size(); }
  size_t filter_bytes() const;

 private:
  struct Layer {
    std::vector<uint64_t> bits;  // a power of two of them
    size_t capacity = 0;         // pairs before the next layer is added
    size_t added = 0;
  };
  static uint64_t KeyHash(std::string_view source, std::string_view id);
  static uint64_t Fingerprint(std::string_view payload);
  bool MayContain(uint64_t key) const;
  void Insert(uint64_t key);

  const size_t window_size_;
  bool complete_ = false;
  std::vector<Layer> layers_;
  boost::unordered_flat_map<uint64_t, uint64_t> window_;  // key hash -> payload fingerprint
  std::deque<uint64_t> window_order_;  // oldest first
};

}  // namespace bw
