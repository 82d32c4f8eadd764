#include "handlers/engine/engine_snapshot.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json.hpp>

namespace bw {
namespace {

// Fixed-width little-endian-as-the-host values (a snapshot is read back by the
// same build on the same machine; kEngineStateFormat guards the layout).
class Writer {
 public:
  std::string& bytes() { return out_; }

  template <typename T>
  void Pod(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void U8(uint8_t v) { Pod(v); }
  void U32(uint32_t v) { Pod(v); }
  void I64(int64_t v) { Pod(v); }
  void F64(double v) { Pod(v); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Size(size_t n) { U32(static_cast<uint32_t>(n)); }
  void Str(std::string_view s) {
    Size(s.size());
    out_.append(s.data(), s.size());
  }
  void Time(TimePoint t) { I64(t.time_since_epoch().count()); }
  void Point(const GeoPoint& p) {
    F64(p.x());
    F64(p.y());
  }
  template <typename T>
  void Opt(const std::optional<T>& v, auto&& write) {
    Bool(v.has_value());
    if (v) write(*v);
  }
  void Strings(const std::vector<std::string>& v) {
    Size(v.size());
    for (const auto& s : v) Str(s);
  }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && at_ == in_.size(); }
  void Fail() { ok_ = false; }

  template <typename T>
  T Pod() {
    T v{};
    if (!ok_ || in_.size() - at_ < sizeof v) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, in_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  uint8_t U8() { return Pod<uint8_t>(); }
  uint32_t U32() { return Pod<uint32_t>(); }
  int64_t I64() { return Pod<int64_t>(); }
  double F64() { return Pod<double>(); }
  bool Bool() {
    const uint8_t b = U8();
    if (b > 1) ok_ = false;
    return b == 1;
  }
  // A count of items each at least `min_item` bytes long: checked against what
  // is left, so that a corrupt count cannot ask for a huge allocation.
  size_t Size(size_t min_item = 1) {
    const size_t n = U32();
    if (!ok_ || n > (in_.size() - at_) / std::max<size_t>(min_item, 1)) {
      ok_ = false;
      return 0;
    }
    return n;
  }
  std::string Str() {
    const size_t n = Size();
    if (!ok_) return {};
    std::string s(in_.substr(at_, n));
    at_ += n;
    return s;
  }
  TimePoint Time() { return TimePoint(Millis(I64())); }
  GeoPoint Point() {
    const double x = F64();
    const double y = F64();
    return GeoPoint(x, y);
  }
  template <typename T>
  std::optional<T> Opt(auto&& read) {
    if (!Bool()) return std::nullopt;
    return read();
  }
  std::vector<std::string> Strings() {
    std::vector<std::string> v(Size(4));
    for (auto& s : v) s = Str();
    return v;
  }
  // An enumerator no greater than `last`.
  template <typename E>
  E Enum(E last) {
    const uint32_t v = U32();
    if (v > static_cast<uint32_t>(last)) ok_ = false;
    return static_cast<E>(ok_ ? v : 0);
  }

 private:
  std::string_view in_;
  size_t at_ = 0;
  bool ok_ = true;
};

template <typename E>
void Enum(Writer& w, E v) {
  w.U32(static_cast<uint32_t>(v));
}

// Instruments.

// An inline zone as CompactArea holds it: its words (counts, then int32 coordinates).
void WriteCompactArea(Writer& w, const CompactArea& area) {
  const auto& words = area.words();
  w.Size(words.size());
  for (int32_t v : words) w.Pod(v);
}
CompactArea ReadCompactArea(Reader& r) {
  std::vector<int32_t> words(r.Size(4));
  for (auto& v : words) v = r.Pod<int32_t>();
  CompactArea area;
  if (r.ok() && !CompactArea::FromWords(std::move(words), &area)) r.Fail();
  return area;
}

void WriteCondition(Writer& w, const Condition& c) {
  w.Str(c.condition_id);
  Enum(w, c.kind);
  w.Str(c.zone_code);
  w.Opt(c.inline_zone, [&](const CompactArea& area) { WriteCompactArea(w, area); });
  w.Opt(c.place, [&](const Place& p) {
    w.Str(p.label);
    w.Point(p.at);
    w.F64(p.radius_m);
  });
  w.Str(c.person);
  w.F64(c.proximity_radius_m);
  w.F64(c.proximity_warning_m);
  w.Size(c.windows.size());
  for (const auto& win : c.windows) {
    w.Size(win.days.size());
    for (unsigned d : win.days) w.U32(d);
    w.I64(win.start_min);
    w.I64(win.end_min);
  }
  w.Str(c.tz);
  w.I64(c.grace_min);
  w.Str(c.text);
  const FixPrefilter& f = c.prefilter;
  Enum(w, f.kind);
  w.Point(f.box.min_corner());
  w.Point(f.box.max_corner());
  w.Point(f.at);
  w.F64(f.radius_m);
}

Condition ReadCondition(Reader& r) {
  Condition c;
  c.condition_id = r.Str();
  c.kind = r.Enum(ConditionKind::kProximity);
  c.zone_code = r.Str();
  c.inline_zone = r.Opt<CompactArea>([&] { return ReadCompactArea(r); });
  c.place = r.Opt<Place>([&] {
    Place p;
    p.label = r.Str();
    p.at = r.Point();
    p.radius_m = r.F64();
    return p;
  });
  c.person = r.Str();
  c.proximity_radius_m = r.F64();
  c.proximity_warning_m = r.F64();
  c.windows.resize(r.Size(8));
  for (auto& win : c.windows) {
    win.days.resize(r.Size(4));
    for (auto& d : win.days) d = r.U32();
    win.start_min = static_cast<int>(r.I64());
    win.end_min = static_cast<int>(r.I64());
  }
  c.tz = r.Str();
  c.grace_min = r.I64();
  c.text = r.Str();
  FixPrefilter& f = c.prefilter;
  f.kind = r.Enum(FixPrefilter::Kind::kProximity);
  f.box.min_corner() = r.Point();
  f.box.max_corner() = r.Point();
  f.at = r.Point();
  f.radius_m = r.F64();
  return c;
}

void WriteRisk(Writer& w, const Risk& k) {
  w.Str(k.level);
  w.Opt(k.marac, [&](bool b) { w.Bool(b); });
  w.Opt(k.mappa_level, [&](int64_t v) { w.I64(v); });
  w.Strings(k.markers);
  w.Str(k.tool);
  w.Opt(k.assessed_at, [&](TimePoint t) { w.Time(t); });
  w.Opt(k.dvds_disclosed, [&](bool b) { w.Bool(b); });
  w.Str(boost::json::serialize(k.raw));
}

Risk ReadRisk(Reader& r) {
  Risk k;
  k.level = r.Str();
  k.marac = r.Opt<bool>([&] { return r.Bool(); });
  k.mappa_level = r.Opt<int64_t>([&] { return r.I64(); });
  k.markers = r.Strings();
  k.tool = r.Str();
  k.assessed_at = r.Opt<TimePoint>([&] { return r.Time(); });
  k.dvds_disclosed = r.Opt<bool>([&] { return r.Bool(); });
  const std::string raw = r.Str();
  if (r.ok()) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(raw, ec);
    if (ec || !v.is_object()) {
      r.Fail();
    } else {
      k.raw = std::move(v.as_object());
    }
  }
  return k;
}

void WriteInstrument(Writer& w, const Instrument& ins) {
  w.Str(ins.instrument_id);
  Enum(w, ins.kind);
  w.Str(ins.subject);
  w.Strings(ins.protected_persons);
  w.Str(ins.case_ref);
  w.Str(ins.offence);
  w.Str(ins.oic);
  w.Str(ins.supervisor);
  w.Str(ins.owning_control);
  w.Strings(ins.safety_contacts);
  w.Time(ins.valid_from);
  w.Opt(ins.valid_until, [&](TimePoint t) { w.Time(t); });
  w.Size(ins.conditions.size());
  for (const auto& c : ins.conditions) WriteCondition(w, c);
  w.Opt(ins.risk, [&](const Risk& k) { WriteRisk(w, k); });
  w.U32(ins.version);
  w.Pod(ins.conditions_digest);
}

Instrument ReadInstrument(Reader& r) {
  Instrument ins;
  ins.instrument_id = r.Str();
  ins.kind = r.Enum(InstrumentKind::kLicence);
  ins.subject = r.Str();
  ins.protected_persons = r.Strings();
  ins.case_ref = r.Str();
  ins.offence = r.Str();
  ins.oic = r.Str();
  ins.supervisor = r.Str();
  ins.owning_control = r.Str();
  ins.safety_contacts = r.Strings();
  ins.valid_from = r.Time();
  ins.valid_until = r.Opt<TimePoint>([&] { return r.Time(); });
  ins.conditions.resize(r.Size(32));
  for (auto& c : ins.conditions) {
    if (!r.ok()) break;
    c = ReadCondition(r);
  }
  ins.risk = r.Opt<Risk>([&] { return ReadRisk(r); });
  ins.version = r.U32();
  ins.conditions_digest = r.Pod<uint64_t>();
  return ins;
}

// The rest of the state.

void WriteAlertKind(Writer& w, AlertKind k) { w.Str(AlertKindName(k)); }
AlertKind ReadAlertKind(Reader& r) {
  const std::string name = r.Str();
  auto k = ParseAlertKind(name);
  if (!k) {
    r.Fail();
    return AlertKind::kExclusionZoneBreach;
  }
  return *k;
}

// The entries of a hash table ordered by key, so that equal states encode to equal bytes.
template <typename V>
std::vector<const typename FlatStringMap<V>::value_type*> Sorted(const FlatStringMap<V>& table) {
  std::vector<const typename FlatStringMap<V>::value_type*> out;
  out.reserve(table.size());
  for (const auto& entry : table) out.push_back(&entry);
  std::sort(out.begin(), out.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return out;
}

void WriteFixTracks(Writer& w, const FlatStringMap<FixTrack>& tracks) {
  w.Size(tracks.size());
  for (const auto* entry : Sorted(tracks)) {
    const auto& [person, track] = *entry;
    w.Str(person);
    w.Size(track.fixes.size());
    for (const auto& f : track.fixes) {
      w.Time(f.time);
      w.Point(f.at);
      w.F64(f.accuracy_m);
    }
  }
}
void ReadFixTracks(Reader& r, FlatStringMap<FixTrack>* tracks) {
  const size_t n = r.Size(8);
  tracks->reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string person = r.Str();
    FixTrack& track = (*tracks)[person];
    track.fixes.resize(r.Size(32));
    for (auto& f : track.fixes) {
      f.time = r.Time();
      f.at = r.Point();
      f.accuracy_m = r.F64();
    }
  }
}

}  // namespace

std::string EncodeEngineState(const EngineState& s) {
  Writer w;
  // Instruments: every version, in each instrument's order; an instrument
  // shared by versions (never, today) is written once per version.
  const auto& all = s.instruments.all();
  w.Size(all.size());
  for (const auto& [id, versions] : all) {
    w.Str(id);
    w.Size(versions.size());
    for (const auto& v : versions) {
      w.Time(v.effective);
      w.Bool(v.instrument != nullptr);
      if (v.instrument) WriteInstrument(w, *v.instrument);
      w.Str(v.end_reason);
    }
  }
  const auto& unwarned = s.instruments.unwarned_valid_until();
  w.Size(unwarned.size());
  for (const auto& [t, id] : unwarned) {
    w.Time(t);
    w.Str(id);
  }
  const auto& warned = s.instruments.expiry_warnings();
  w.Size(warned.size());
  for (const auto& [id, t] : warned) {
    w.Str(id);
    w.Time(t);
  }

  w.Size(s.episodes.size());
  for (const auto& [key, e] : s.episodes) {
    w.Str(key.person_id);
    w.Str(key.instrument_id);
    w.Str(key.condition_id);
    w.Time(e.opened_at);
    w.Time(e.last_breach_at);
    WriteAlertKind(w, e.alert_kind);
    w.Size(e.earlier.size());
    for (const auto& [from, to] : e.earlier) {
      w.Time(from);
      w.Time(to);
    }
  }
  w.Size(s.last_fix.size());
  for (const auto* entry : Sorted(s.last_fix)) {
    const auto& [person, fix] = *entry;
    w.Str(person);
    w.Time(fix.time);
    w.Point(fix.at);
  }
  w.Size(s.custody.size());
  for (const auto& [person, intervals] : s.custody) {
    w.Str(person);
    w.Size(intervals.size());
    for (const auto& c : intervals) {
      w.Time(c.from);
      w.Opt(c.until, [&](TimePoint t) { w.Time(t); });
    }
  }
  w.Size(s.breaches.size());
  for (const auto& [person, records] : s.breaches) {
    w.Str(person);
    w.Size(records.size());
    for (const auto& b : records) {
      w.Time(b.time);
      WriteAlertKind(w, b.kind);
      w.Str(b.instrument_id);
    }
  }
  w.Size(s.history.size());
  for (const auto& [person, entries] : s.history) {
    w.Str(person);
    w.Size(entries.size());
    for (const auto& h : entries) {
      w.Time(h.time);
      w.Str(h.kind);
      w.Str(h.instrument_id);
      w.Str(h.condition_id);
      w.Str(h.outcome);
      w.Bool(h.same_conditions);
      w.Str(h.cause_source);
      w.Str(h.cause_id);
    }
  }
  WriteFixTracks(w, s.proximity_subject_fixes);
  WriteFixTracks(w, s.protected_person_fixes);
  return std::move(w.bytes());
}

Result<EngineState> DecodeEngineState(std::string_view bytes) {
  Reader r(bytes);
  EngineState s;
  const size_t instruments = r.Size(8);
  for (size_t i = 0; i < instruments && r.ok(); ++i) {
    const std::string id = r.Str();
    const size_t versions = r.Size(13);
    for (size_t k = 0; k < versions && r.ok(); ++k) {
      InstrumentRegistry::Version v;
      v.effective = r.Time();
      if (r.Bool()) v.instrument = std::make_shared<const Instrument>(ReadInstrument(r));
      v.end_reason = r.Str();
      if (!r.ok()) break;
      // Versions were written in their order; AddVersion keeps arrival order
      // among equal effective times, so the order is the same.
      s.instruments.AddVersion(id, std::move(v));
    }
  }
  std::set<std::pair<TimePoint, std::string>> unwarned;
  for (size_t n = r.Size(12), i = 0; i < n && r.ok(); ++i) {
    const TimePoint t = r.Time();
    unwarned.emplace(t, r.Str());
  }
  std::map<std::string, TimePoint> warned;
  for (size_t n = r.Size(12), i = 0; i < n && r.ok(); ++i) {
    std::string id = r.Str();
    warned[std::move(id)] = r.Time();
  }
  s.instruments.RestoreExpiryIndex(std::move(unwarned), std::move(warned));

  for (size_t n = r.Size(32), i = 0; i < n && r.ok(); ++i) {
    EpisodeKey key;
    key.person_id = r.Str();
    key.instrument_id = r.Str();
    key.condition_id = r.Str();
    Episode e;
    e.opened_at = r.Time();
    e.last_breach_at = r.Time();
    e.alert_kind = ReadAlertKind(r);
    e.earlier.resize(r.Size(16));
    for (auto& [from, to] : e.earlier) {
      from = r.Time();
      to = r.Time();
    }
    s.episodes.emplace(std::move(key), std::move(e));
  }
  {
    const size_t n = r.Size(28);
    s.last_fix.reserve(n);
    for (size_t i = 0; i < n && r.ok(); ++i) {
      std::string person = r.Str();
      LastFix fix;
      fix.time = r.Time();
      fix.at = r.Point();
      s.last_fix.insert_or_assign(person, fix);
    }
  }
  for (size_t n = r.Size(8), i = 0; i < n && r.ok(); ++i) {
    auto& intervals = s.custody[r.Str()];
    intervals.resize(r.Size(9));
    for (auto& c : intervals) {
      c.from = r.Time();
      c.until = r.Opt<TimePoint>([&] { return r.Time(); });
    }
  }
  for (size_t n = r.Size(8), i = 0; i < n && r.ok(); ++i) {
    auto& records = s.breaches[r.Str()];
    records.resize(r.Size(16));
    for (auto& b : records) {
      b.time = r.Time();
      b.kind = ReadAlertKind(r);
      b.instrument_id = r.Str();
    }
  }
  for (size_t n = r.Size(8), i = 0; i < n && r.ok(); ++i) {
    auto& entries = s.history[r.Str()];
    entries.resize(r.Size(33));
    for (auto& h : entries) {
      h.time = r.Time();
      h.kind = r.Str();
      h.instrument_id = r.Str();
      h.condition_id = r.Str();
      h.outcome = r.Str();
      h.same_conditions = r.Bool();
      h.cause_source = r.Str();
      h.cause_id = r.Str();
    }
  }
  ReadFixTracks(r, &s.proximity_subject_fixes);
  ReadFixTracks(r, &s.protected_person_fixes);
  if (!r.ok()) return Status::BadInput("snapshot", "engine state truncated or malformed");
  if (!r.done()) return Status::BadInput("snapshot", "engine state followed by unread bytes");
  return s;
}

}  // namespace bw
