// Small helpers for reading typed fields out of Boost.JSON objects with errors
// that name the field.  Pure functions; thread-safe.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "handlers/base/clock.h"
#include "handlers/base/status.h"
#include "handlers/geo/geometry.h"

namespace bw::json {

// Each Get* returns a value or a BadInput status naming `path` + "." + key.
Result<std::string> GetString(const boost::json::object& o, const std::string& path,
                              const char* key);
// Absent or null -> nullopt; present but not a string -> error.
Result<std::optional<std::string>> GetOptionalString(const boost::json::object& o,
                                                     const std::string& path, const char* key);
Result<int64_t> GetInt(const boost::json::object& o, const std::string& path, const char* key);
Result<double> GetNumber(const boost::json::object& o, const std::string& path, const char* key);
Result<TimePoint> GetTime(const boost::json::object& o, const std::string& path, const char* key);
Result<std::optional<TimePoint>> GetOptionalTime(const boost::json::object& o,
                                                 const std::string& path, const char* key);
Result<std::vector<std::string>> GetStringArray(const boost::json::object& o,
                                                const std::string& path, const char* key,
                                                bool required);
// [lon, lat] with both in range.
Result<GeoPoint> ToPoint(const boost::json::value& v, const std::string& field);
Result<const boost::json::object*> GetObject(const boost::json::object& o, const std::string& path,
                                             const char* key);

std::string Join(const std::string& path, const char* key);

}  // namespace bw::json
