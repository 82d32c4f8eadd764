#include "handlers/wire/control_request.h"

#include <boost/json.hpp>

#include "handlers/alerts/escalation.h"
#include "handlers/base/json_util.h"

namespace bw {
namespace {

constexpr int64_t kMaxOlderThanS = 100LL * 366 * 24 * 3600;  // a century

struct OpInfo {
  ControlOp op;
  const char* name;
};
constexpr OpInfo kOps[] = {
    {ControlOp::kStatus, "status"},
    {ControlOp::kConditionsPerson, "conditions.person"},
    {ControlOp::kConditionsProtected, "conditions.protected"},
    {ControlOp::kConditionsLocation, "conditions.location"},
    {ControlOp::kHistoryPerson, "history.person"},
    {ControlOp::kAlertsSince, "alerts.since"},
    {ControlOp::kAlertsOpen, "alerts.open"},
    {ControlOp::kAlertAck, "alert.ack"},
    {ControlOp::kAlertResolve, "alert.resolve"},
    {ControlOp::kEventSubmit, "event.submit"},
};

// The op as it may be echoed in an error: printable ASCII only, at most 64
// characters, so a hostile op frame cannot put invalid UTF-8 into the reply.
std::string Printable(std::string_view op) {
  std::string out;
  for (char c : op.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (op.size() > 64) out += "...";
  return out;
}

// A non-empty string every request must carry.
Result<std::string> Identity(const boost::json::object& o, const char* key) {
  const std::string message =
      "every request must carry a non-empty string \"" + std::string(key) + "\"";
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    return Status::BadInput(key, message, "missing_field");
  }
  if (!it->value().is_string()) return Status::BadInput(key, message, "wrong_type");
  if (it->value().get_string().empty()) return Status::BadInput(key, message, "out_of_range");
  return std::string(it->value().get_string());
}

#define BW_ASSIGN_OR_RETURN(target, expr) \
  do {                                    \
    auto bw_r = (expr);                   \
    if (!bw_r.ok()) return bw_r.status(); \
    target = std::move(*bw_r);            \
  } while (0)

// `limit` (`default_limit` when absent) and `cursor` of a paged op.
Status DecodePage(const boost::json::object& o, ControlRequest* r,
                  int64_t default_limit = kDefaultPageLimit) {
  r->limit = default_limit;
  if (auto it = o.find("limit"); it != o.end() && !it->value().is_null()) {
    BW_ASSIGN_OR_RETURN(r->limit, json::GetInt(o, "", "limit"));
    if (r->limit < 1 || r->limit > kMaxPageLimit) {
      return Status::BadInput(
          "limit", "must be an integer from 1 to " + std::to_string(kMaxPageLimit), "out_of_range");
    }
  }
  std::optional<std::string> cursor;
  BW_ASSIGN_OR_RETURN(cursor, json::GetOptionalString(o, "", "cursor"));
  r->cursor = cursor.value_or("");
  return Status::Ok();
}

Status DecodeFields(const boost::json::object& o, ControlRequest* r) {
  switch (r->op) {
    case ControlOp::kStatus:
      return Status::Ok();
    case ControlOp::kConditionsPerson:
    case ControlOp::kConditionsProtected:
      BW_ASSIGN_OR_RETURN(r->person_id, json::GetString(o, "", "person_id"));
      BW_ASSIGN_OR_RETURN(r->at_time, json::GetOptionalTime(o, "", "at_time"));
      return Status::Ok();
    case ControlOp::kConditionsLocation: {
      if (auto at = o.find("at"); at != o.end() && !at->value().is_null()) {
        BW_ASSIGN_OR_RETURN(r->location.at, json::ToPoint(at->value(), "at"));
      }
      std::optional<std::string> area;
      BW_ASSIGN_OR_RETURN(area, json::GetOptionalString(o, "", "area"));
      r->location.area = area.value_or("");
      if (!r->location.at && r->location.area.empty()) {
        return Status::BadInput(
            "at", "one of \"at\" ([lon, lat]) or \"area\" (GSS code) is required", "missing_field");
      }
      BW_ASSIGN_OR_RETURN(r->at_time, json::GetOptionalTime(o, "", "at_time"));
      return DecodePage(o, r);
    }
    case ControlOp::kHistoryPerson: {
      BW_ASSIGN_OR_RETURN(r->person_id, json::GetString(o, "", "person_id"));
      std::optional<std::string> control_id;
      BW_ASSIGN_OR_RETURN(control_id, json::GetOptionalString(o, "", "control_id"));
      r->control_id = control_id.value_or("");
      return Status::Ok();
    }
    case ControlOp::kAlertsSince:
      BW_ASSIGN_OR_RETURN(r->seq, json::GetInt(o, "", "seq"));
      return Status::Ok();
    case ControlOp::kAlertsOpen: {
      std::optional<std::string> recipient;
      BW_ASSIGN_OR_RETURN(recipient, json::GetOptionalString(o, "", "recipient"));
      r->recipient = recipient.value_or("");
      if (o.contains("older_than_s")) {
        BW_ASSIGN_OR_RETURN(r->older_than_s, json::GetInt(o, "", "older_than_s"));
        // Bounded so that "now - older_than_s" cannot overflow the clock's milliseconds.
        if (r->older_than_s < 0 || r->older_than_s > kMaxOlderThanS) {
          return Status::BadInput("older_than_s",
                                  "must be an integer from 0 to " + std::to_string(kMaxOlderThanS),
                                  "out_of_range");
        }
      }
      // A whole page by default: a client of protocol 1.1 (which knew no pages) sees every open
      // alert unless there are more than a page holds, and then `more` says so.
      return DecodePage(o, r, kMaxPageLimit);
    }
    case ControlOp::kAlertAck: {
      BW_ASSIGN_OR_RETURN(r->alert_id, json::GetString(o, "", "alert_id"));
      std::optional<std::string> control_id;
      BW_ASSIGN_OR_RETURN(control_id, json::GetOptionalString(o, "", "control_id"));
      r->control_id = control_id.value_or("");
      return Status::Ok();
    }
    case ControlOp::kAlertResolve: {
      BW_ASSIGN_OR_RETURN(r->alert_id, json::GetString(o, "", "alert_id"));
      std::optional<std::string> control_id;
      BW_ASSIGN_OR_RETURN(control_id, json::GetOptionalString(o, "", "control_id"));
      r->control_id = control_id.value_or("");
      BW_ASSIGN_OR_RETURN(r->outcome, json::GetString(o, "", "outcome"));
      std::optional<std::string> note;
      BW_ASSIGN_OR_RETURN(note, json::GetOptionalString(o, "", "note"));
      r->note = note.value_or("");
      return ValidateResolution(r->outcome, r->note);
    }
    case ControlOp::kEventSubmit: {
      auto it = o.find("event");
      if (it == o.end() || it->value().is_null()) {
        return Status::BadInput("event", "must be an event object (spec section 4)",
                                "missing_field");
      }
      if (!it->value().is_object()) {
        return Status::BadInput("event", "must be an event object (spec section 4)", "wrong_type");
      }
      r->event = it->value().get_object();
      return Status::Ok();
    }
  }
  return Status::Internal("unhandled control op");
}

#undef BW_ASSIGN_OR_RETURN

}  // namespace

const char* ControlOpName(ControlOp op) {
  for (const auto& o : kOps) {
    if (o.op == op) return o.name;
  }
  return "unknown";
}

Result<ControlRequest> DecodeControlRequest(std::string_view op, std::string_view body,
                                            const ControlDecodeOptions& options,
                                            ControlIdentity* who) {
  if (body.size() > options.max_body_bytes) {
    return Status::BadInput("", "request too large", "oversize");
  }
  boost::json::error_code ec;
  boost::json::parse_options po;
  po.max_depth = 64;  // an event.submit carries a whole event, as deep as a feed may send
  boost::json::value v = boost::json::parse(body, ec, {}, po);
  if (ec) return Status::BadInput("", "request is not valid JSON: " + ec.message(), "not_json");
  if (!v.is_object()) return Status::BadInput("", "request must be a JSON object", "not_object");
  const auto& o = v.get_object();

  ControlRequest r;
  auto officer = Identity(o, "officer_id");
  if (!officer.ok()) return officer.status();
  auto reason = Identity(o, "reason");
  if (!reason.ok()) return reason.status();
  r.who.officer_id = std::move(*officer);
  r.who.reason = std::move(*reason);
  if (who != nullptr) *who = r.who;

  bool known = false;
  for (const auto& info : kOps) {
    if (op == info.name) {
      r.op = info.op;
      known = true;
    }
  }
  if (!known) {
    return Status::BadInput("op", "unknown op \"" + Printable(op) + "\"", "unknown_type");
  }
  if (Status s = DecodeFields(o, &r); !s.ok()) return s;
  return r;
}

}  // namespace bw
