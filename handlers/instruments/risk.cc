#include "handlers/instruments/risk.h"

#include "handlers/base/json_util.h"

namespace bw {
namespace {

Result<std::optional<bool>> OptionalBool(const boost::json::object& o, const std::string& path,
                                         const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) {
    return Status::BadInput(json::Join(path, key), "must be true or false", "wrong_type");
  }
  return std::optional<bool>(v->get_bool());
}

}  // namespace

bool IsHighRisk(const Risk& risk) {
  return risk.level == "high" || risk.marac.value_or(false) || risk.mappa_level.value_or(0) >= 2;
}

Result<std::optional<Risk>> DecodeRisk(const boost::json::object& instrument,
                                       const std::string& path) {
  const auto* v = instrument.if_contains("risk");
  if (v == nullptr || v->is_null()) return std::optional<Risk>();
  const std::string rpath = json::Join(path, "risk");
  if (!v->is_object()) {
    return Status::BadInput(rpath,
                            "must be an object (level, marac, mappa_level, markers, tool, "
                            "assessed_at, dvds_disclosed, each optional)",
                            "wrong_type");
  }
  const boost::json::object& o = v->get_object();
  Risk r;
  r.raw = o;

  auto level = json::GetOptionalString(o, rpath, "level");
  if (!level.ok()) return level.status();
  if (*level) {
    r.level = **level;
    if (r.level != "standard" && r.level != "medium" && r.level != "high") {
      return Status::BadInput(json::Join(rpath, "level"),
                              "\"" + r.level + "\" is not a level; use standard, medium or high",
                              "out_of_range");
    }
  }
  auto marac = OptionalBool(o, rpath, "marac");
  if (!marac.ok()) return marac.status();
  r.marac = *marac;
  if (const auto* m = o.if_contains("mappa_level"); m != nullptr && !m->is_null()) {
    if (!m->is_int64() && !m->is_uint64()) {
      return Status::BadInput(json::Join(rpath, "mappa_level"), "must be an integer from 0 to 3",
                              "wrong_type");
    }
    const int64_t n = m->is_int64() ? m->get_int64() : static_cast<int64_t>(m->get_uint64());
    if (m->is_uint64() || n < 0 || n > 3) {
      return Status::BadInput(json::Join(rpath, "mappa_level"), "must be an integer from 0 to 3",
                              "out_of_range");
    }
    r.mappa_level = n;
  }
  if (const auto* m = o.if_contains("markers"); m != nullptr && !m->is_null()) {
    auto markers = json::GetStringArray(o, rpath, "markers", false);
    if (!markers.ok()) return markers.status();
    r.markers = std::move(*markers);
  }
  auto tool = json::GetOptionalString(o, rpath, "tool");
  if (!tool.ok()) return tool.status();
  r.tool = tool->value_or("");
  auto assessed = json::GetOptionalTime(o, rpath, "assessed_at");
  if (!assessed.ok()) return assessed.status();
  r.assessed_at = *assessed;
  auto dvds = OptionalBool(o, rpath, "dvds_disclosed");
  if (!dvds.ok()) return dvds.status();
  r.dvds_disclosed = *dvds;
  return std::optional<Risk>(std::move(r));
}

}  // namespace bw
