#include "handlers/engine/location_query.h"

#include <charconv>
#include <cstdio>

#include "handlers/geo/geometry.h"

namespace bw {

ForbiddingConditionScan::ForbiddingConditionScan(const EngineState& state, const ZoneIndex& zones,
                                                 const Location& where, const Zone* area_zone,
                                                 TimePoint at, const LocationCursor& from)
    : state_(state),
      zones_(zones),
      where_(where),
      area_zone_(area_zone),
      at_(at),
      it_(state.instruments.all().lower_bound(from.instrument_id)),
      end_(state.instruments.all().end()) {
  if (it_ != end_ && it_->first == from.instrument_id) condition_index_ = from.condition_index;
}

bool ForbiddingConditionScan::Forbids(const Condition& c) {
  if (c.kind == ConditionKind::kExclusionZone) {
    if (!c.inline_zone) {
      // A zone by code: the answer depends on the code alone.
      auto [cached, inserted] = zone_code_forbids_.try_emplace(c.zone_code, false);
      if (!inserted) return cached->second;
      const Zone* zone = zones_.Find(c.zone_code);
      bool forbids = false;
      if (zone != nullptr && where_.at && Covers(zone->geometry, *where_.at)) forbids = true;
      if (!forbids && area_zone_ != nullptr) {
        forbids = c.zone_code == where_.area ||
                  (zone != nullptr && AreasOverlap(zone->geometry, area_zone_->geometry));
      }
      cached->second = forbids;
      return forbids;
    }
    const GeoMultiPolygon geom = c.inline_zone->Expand();
    if (where_.at && Covers(geom, *where_.at)) return true;
    return area_zone_ != nullptr && AreasOverlap(geom, area_zone_->geometry);
  }
  if (c.kind == ConditionKind::kNotToAttend && c.place) {
    if (where_.at && GeodesicDistanceMeters(*where_.at, c.place->at) <= c.place->radius_m) {
      return true;
    }
    return area_zone_ != nullptr && Covers(area_zone_->geometry, c.place->at);
  }
  return false;
}

std::optional<ForbiddingCondition> ForbiddingConditionScan::Next(size_t max_instruments) {
  size_t finished = 0;
  while (it_ != end_) {
    if (!resolved_) {
      current_ = state_.instruments.InForceAt(it_->first, at_);
      resolved_ = true;
    }
    if (current_) {
      const auto& conditions = current_->conditions;
      while (condition_index_ < conditions.size()) {
        const Condition& c = conditions[condition_index_++];
        if (Forbids(c)) return ForbiddingCondition{current_, &c};
      }
    }
    ++it_;
    current_.reset();
    resolved_ = false;
    condition_index_ = 0;
    ++examined_;
    if (++finished >= max_instruments) break;
  }
  return std::nullopt;
}

LocationCursor ForbiddingConditionScan::position() const {
  if (it_ == end_) {
    // Past the last id: a later scan starts after every instrument examined here.  An id that
    // sorts after all of them: the last one with a character appended.
    const auto& all = state_.instruments.all();
    return all.empty() ? LocationCursor{} : LocationCursor{all.rbegin()->first + '\0', 0};
  }
  return LocationCursor{it_->first, condition_index_};
}

std::vector<ForbiddingCondition> ConditionsForbidding(const EngineState& state,
                                                      const ZoneIndex& zones, const Location& where,
                                                      const Zone* area_zone, TimePoint at) {
  std::vector<ForbiddingCondition> out;
  ForbiddingConditionScan scan(state, zones, where, area_zone, at);
  while (!scan.done()) {
    if (auto found = scan.Next(SIZE_MAX)) out.push_back(std::move(*found));
  }
  return out;
}

// ---------------------------------------------------------------------------
// The page token: "L1.<at ms>.<condition index>.<place digest, hex>.<instrument id, hex>".

namespace {

constexpr std::string_view kTokenVersion = "L1";

uint64_t Fnv1a(std::string_view bytes, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, v, 16);
    if (ec != std::errc() || end != text.data() + i + 2) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view text, T* out, int base = 10) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

uint64_t LocationPlaceDigest(const Location& where) {
  char at[64] = "";
  if (where.at) std::snprintf(at, sizeof at, "%.9f,%.9f", where.at->x(), where.at->y());
  return Fnv1a(where.area, Fnv1a("|", Fnv1a(at)));
}

std::string EncodeLocationPageToken(const LocationPageToken& token) {
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx",
                static_cast<unsigned long long>(token.place_digest));
  return std::string(kTokenVersion) + "." + std::to_string(token.at.time_since_epoch().count()) +
         "." + std::to_string(token.position.condition_index) + "." + digest + "." +
         Hex(token.position.instrument_id);
}

Result<LocationPageToken> DecodeLocationPageToken(std::string_view text) {
  auto bad = [] {
    return Status::BadInput("cursor",
                            "not a cursor of this query: pass the `next` of the previous reply "
                            "unchanged",
                            "out_of_range");
  };
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) return bad();
    parts.push_back(text.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(text.substr(start));
  if (parts[0] != kTokenVersion) return bad();
  LocationPageToken token;
  int64_t at_ms = 0;
  unsigned long long digest = 0;
  if (!ParseNumber(parts[1], &at_ms) || !ParseNumber(parts[2], &token.position.condition_index) ||
      parts[3].size() != 16 || !ParseNumber(parts[3], &digest, 16)) {
    return bad();
  }
  auto id = Unhex(parts[4]);
  if (!id) return bad();
  token.at = TimePoint(Millis(at_ms));
  token.place_digest = digest;
  token.position.instrument_id = std::move(*id);
  return token;
}

}  // namespace bw
