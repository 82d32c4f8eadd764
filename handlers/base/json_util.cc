#include "handlers/base/json_util.h"

#include <cmath>

#include "handlers/base/time_util.h"

namespace bw::json {

std::string Join(const std::string& path, const char* key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

Result<std::string> GetString(const boost::json::object& o, const std::string& path,
                              const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    return Status::BadInput(Join(path, key), "required field is missing", "missing_field");
  }
  if (!it->value().is_string())
    return Status::BadInput(Join(path, key), "must be a string", "wrong_type");
  const auto& s = it->value().get_string();
  if (s.empty()) return Status::BadInput(Join(path, key), "must not be empty", "out_of_range");
  return std::string(s);
}

Result<std::optional<std::string>> GetOptionalString(const boost::json::object& o,
                                                     const std::string& path, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string())
    return Status::BadInput(Join(path, key), "must be a string", "wrong_type");
  return std::optional<std::string>(std::string(it->value().get_string()));
}

Result<int64_t> GetInt(const boost::json::object& o, const std::string& path, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    return Status::BadInput(Join(path, key), "required field is missing", "missing_field");
  }
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  return Status::BadInput(Join(path, key), "must be an integer", "wrong_type");
}

Result<double> GetNumber(const boost::json::object& o, const std::string& path, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    return Status::BadInput(Join(path, key), "required field is missing", "missing_field");
  }
  const auto& v = it->value();
  if (!v.is_number()) return Status::BadInput(Join(path, key), "must be a number", "wrong_type");
  double d = v.to_number<double>();
  if (!std::isfinite(d)) return Status::BadInput(Join(path, key), "must be finite", "out_of_range");
  return d;
}

Result<TimePoint> GetTime(const boost::json::object& o, const std::string& path, const char* key) {
  auto s = GetString(o, path, key);
  if (!s.ok()) return s.status();
  auto t = ParseRfc3339(*s);
  if (!t) {
    return Status::BadInput(Join(path, key),
                            "must be an RFC 3339 time with an offset, e.g. 2016-05-10T14:00:00Z",
                            "bad_time");
  }
  return *t;
}

Result<std::optional<TimePoint>> GetOptionalTime(const boost::json::object& o,
                                                 const std::string& path, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<TimePoint>();
  auto t = GetTime(o, path, key);
  if (!t.ok()) return t.status();
  return std::optional<TimePoint>(*t);
}

Result<std::vector<std::string>> GetStringArray(const boost::json::object& o,
                                                const std::string& path, const char* key,
                                                bool required) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    if (required)
      return Status::BadInput(Join(path, key), "required field is missing", "missing_field");
    return out;
  }
  if (!it->value().is_array())
    return Status::BadInput(Join(path, key), "must be an array", "wrong_type");
  const auto& arr = it->value().get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string() || arr[i].get_string().empty()) {
      return Status::BadInput(Join(path, key) + "[" + std::to_string(i) + "]",
                              "must be a non-empty string", "wrong_type");
    }
    out.emplace_back(arr[i].get_string());
  }
  return out;
}

Result<GeoPoint> ToPoint(const boost::json::value& v, const std::string& field) {
  if (!v.is_array() || v.get_array().size() != 2 || !v.get_array()[0].is_number() ||
      !v.get_array()[1].is_number()) {
    return Status::BadInput(field, "must be [longitude, latitude]", "wrong_type");
  }
  double lon = v.get_array()[0].to_number<double>();
  double lat = v.get_array()[1].to_number<double>();
  if (!std::isfinite(lon) || lon < -180.0 || lon > 180.0) {
    return Status::BadInput(field, "longitude out of range [-180, 180]", "out_of_range");
  }
  if (!std::isfinite(lat) || lat < -90.0 || lat > 90.0) {
    return Status::BadInput(field, "latitude out of range [-90, 90]", "out_of_range");
  }
  return GeoPoint(lon, lat);
}

Result<const boost::json::object*> GetObject(const boost::json::object& o, const std::string& path,
                                             const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    return Status::BadInput(Join(path, key), "required field is missing", "missing_field");
  }
  if (!it->value().is_object())
    return Status::BadInput(Join(path, key), "must be an object", "wrong_type");
  return &it->value().get_object();
}

}  // namespace bw::json
