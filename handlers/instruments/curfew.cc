#include "handlers/instruments/curfew.h"

#include <date/tz.h>

#include <exception>

namespace bw {
namespace {

enum class Ambiguity { kEarliest, kLatest };

// The instant of local time `lt` in `zone`: a nonexistent local time is the
// first valid instant after it (the transition); an ambiguous one is its
// earliest or latest occurrence.
TimePoint LocalToInstant(const date::time_zone& zone, date::local_seconds lt, Ambiguity pick) {
  const date::local_info info = zone.get_info(lt);
  date::sys_seconds sys;
  switch (info.result) {
    case date::local_info::unique:
      sys = date::sys_seconds{lt.time_since_epoch() - info.first.offset};
      break;
    case date::local_info::nonexistent:
      sys = info.second.begin;
      break;
    case date::local_info::ambiguous:
      sys = date::sys_seconds{lt.time_since_epoch() - (pick == Ambiguity::kEarliest
                                                           ? info.first.offset
                                                           : info.second.offset)};
      break;
  }
  return std::chrono::time_point_cast<Millis>(sys);
}

// "HH:MM" for minutes after midnight (0..1440).
std::string Clock24(int minutes) {
  const int h = minutes / 60, m = minutes % 60;
  std::string out;
  out += static_cast<char>('0' + h / 10 % 10);
  out += static_cast<char>('0' + h % 10);
  out += ':';
  out += static_cast<char>('0' + m / 10);
  out += static_cast<char>('0' + m % 10);
  return out;
}

}  // namespace

Result<std::optional<CurfewInterval>> ActiveCurfewWindow(const Condition& c, TimePoint t,
                                                         std::chrono::minutes grace) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(c.tz);
  } catch (const std::exception& ex) {
    return Status::BadInput("tz", "unknown time zone \"" + c.tz + "\": " + ex.what());
  }
  const date::local_days today = date::floor<date::days>(zone->to_local(t));
  std::optional<CurfewInterval> best;
  // A window lasts less than a day, so only windows starting on the local day
  // of t or the day before can contain t.
  for (const date::local_days day : {today - date::days{1}, today}) {
    const unsigned weekday = date::weekday{day}.c_encoding();
    for (size_t i = 0; i < c.windows.size(); ++i) {
      const CurfewWindow& w = c.windows[i];
      bool starts_today = false;
      for (unsigned d : w.days) starts_today = starts_today || d == weekday;
      if (!starts_today) continue;
      const date::local_seconds local_start = day + std::chrono::minutes{w.start_min};
      const date::local_seconds local_end =
          (w.end_min <= w.start_min ? day + date::days{1} : day) + std::chrono::minutes{w.end_min};
      CurfewInterval interval{LocalToInstant(*zone, local_start, Ambiguity::kEarliest),
                              LocalToInstant(*zone, local_end, Ambiguity::kLatest), i};
      if (t < interval.start + grace || t >= interval.end) continue;
      if (!best || interval.start < best->start) best = interval;
    }
  }
  return best;
}

bool InCurfewWindow(const Condition& c, TimePoint t, std::chrono::minutes grace) {
  auto active = ActiveCurfewWindow(c, t, grace);
  return active.ok() && active->has_value();
}

std::string DescribeCurfewWindow(const Condition& c, size_t window_index) {
  static const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  if (window_index >= c.windows.size()) return "";
  const CurfewWindow& w = c.windows[window_index];
  unsigned mask = 0;
  for (unsigned d : w.days) mask |= d < 7 ? 1u << d : 0u;
  std::string out;
  if (mask == 0x7f) {
    out = "daily";
  } else {
    for (size_t i = 0; i < w.days.size(); ++i) {
      if (i) out += ",";
      out += w.days[i] < 7 ? kDays[w.days[i]] : "?";
    }
  }
  return out + " " + Clock24(w.start_min) + "-" + Clock24(w.end_min) + " " + c.tz;
}

}  // namespace bw
