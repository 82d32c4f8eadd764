#include "handlers/base/time_util.h"

#include <date/date.h>

#include <cctype>
#include <sstream>

namespace bw {
namespace {

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<TimePoint> ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (s.size() < 20) return std::nullopt;
  if (!ParseDigits(s, 0, 4, &year) || s[4] != '-' || !ParseDigits(s, 5, 2, &month) || s[7] != '-' ||
      !ParseDigits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
      !ParseDigits(s, 11, 2, &hour) || s[13] != ':' || !ParseDigits(s, 14, 2, &minute) ||
      s[16] != ':' || !ParseDigits(s, 17, 2, &second)) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 3) millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                           date::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  if (second == 60) second = 59;  // leap second: clamp
  TimePoint t = std::chrono::time_point_cast<Millis>(date::sys_days{ymd}) +
                std::chrono::hours{hour} + std::chrono::minutes{minute} +
                std::chrono::seconds{second} + Millis{millis} -
                std::chrono::minutes{offset_minutes};
  // Only instants FormatRfc3339 writes back with a four-digit UTC year: an offset must not carry
  // "0000-01-01T00:30:00+01:00" into year -1 or "9999-12-31T23:30:00-01:00" into year 10000.
  static const TimePoint kFirst{date::sys_days{date::year{0} / 1 / 1}};
  static const TimePoint kLast = TimePoint{date::sys_days{date::year{10000} / 1 / 1}} - Millis{1};
  if (t < kFirst || t > kLast) return std::nullopt;
  return t;
}

std::string FormatRfc3339(TimePoint t) {
  // Every stored row, alert and audit record carries timestamps, so this runs several times per
  // event on the journal's thread: the digits are written directly (date::format builds an
  // ostream with a locale per call, a quarter of the committer's CPU in a backlog drain).
  // Years outside 0000-9999 keep date::format's spelling.
  const auto day = std::chrono::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const int year = static_cast<int>(ymd.year());
  const auto in_day = t - day;
  const auto ms = in_day.count() % 1000;
  if (year < 0 || year > 9999) {
    if (ms == 0) {
      return date::format("%FT%TZ", std::chrono::time_point_cast<std::chrono::seconds>(t));
    }
    return date::format("%FT%TZ", t);
  }
  const auto secs = in_day.count() / 1000;
  char buf[24];  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  auto put = [&buf](int at, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  buf[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put(11, secs / 3600, 2);
  buf[13] = ':';
  put(14, secs / 60 % 60, 2);
  buf[16] = ':';
  put(17, secs % 60, 2);
  if (ms == 0) {
    buf[19] = 'Z';
    return std::string(buf, 20);
  }
  buf[19] = '.';
  put(20, ms, 3);
  buf[23] = 'Z';
  return std::string(buf, 24);
}

}  // namespace bw
