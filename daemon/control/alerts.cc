// Control ops on alerts: alerts.since, alerts.open, alert.ack, alert.resolve, and event.submit
// (docs/control.md).  Writes are handed to the envelope as journal entries, never made here.
#include <boost/json.hpp>
#include <charconv>

#include "daemon/control/control_server.h"
#include "handlers/alerts/alert_authority.h"
#include "handlers/base/time_util.h"

namespace bw {
namespace {

constexpr int kMaxAlertsPerReply = 1000;

// The person an alert is about (its audit subject), or its id when none.
std::string PersonOfAlert(const AlertState& a) {
  boost::json::error_code ec;
  auto v = boost::json::parse(a.payload, ec);
  if (!ec && v.is_object()) {
    if (const auto* p = v.as_object().if_contains("person_id"); p && p->is_string()) {
      if (!p->as_string().empty()) return std::string(p->as_string());
    }
  }
  return a.alert_id;
}

}  // namespace

boost::json::object AlertStateJson(const AlertState& a) {
  boost::json::error_code ec;
  auto v = boost::json::parse(a.payload, ec);
  boost::json::object o = (!ec && v.is_object()) ? v.get_object() : boost::json::object{};
  o["acked"] = a.acked_at.has_value();
  if (a.acked_at) {
    o["acked_at"] = FormatRfc3339(*a.acked_at);
    o["acked_by"] = a.acked_by;
  }
  if (a.resolved_at) {
    o["resolved_at"] = FormatRfc3339(*a.resolved_at);
    o["resolved_by"] = a.resolved_by;
    o["outcome"] = a.outcome;
    if (!a.note.empty()) o["note"] = a.note;
  }
  o["escalation_level"] = a.escalation_level;
  if (a.next_escalation_at) o["next_escalation_at"] = FormatRfc3339(*a.next_escalation_at);
  return o;
}

ControlServer::OpResult ControlServer::OpAlertsSince(const ControlRequest& req, OpWork* work) {
  auto rows = s_.store.AlertsSince(req.seq, kMaxAlertsPerReply + 1);
  if (!rows.ok()) return rows.status();
  boost::json::array alerts;
  const bool more = rows->size() > static_cast<size_t>(kMaxAlertsPerReply);
  for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(kMaxAlertsPerReply); ++i) {
    alerts.push_back(boost::json::parse((*rows)[i]));
  }
  work->audit->detail = std::to_string(alerts.size()) + " alert(s) disclosed";
  boost::json::object o;
  o["alerts"] = std::move(alerts);
  o["more"] = more;
  return o;
}

ControlServer::OpResult ControlServer::OpAlertsOpen(const ControlRequest& req, OpWork* work) {
  // Paged by seq (docs/control.md, "Paged replies"): the cursor is the last seq of the page before.
  int64_t after_seq = 0;
  if (!req.cursor.empty()) {
    const char* end = req.cursor.data() + req.cursor.size();
    auto [p, ec] = std::from_chars(req.cursor.data(), end, after_seq);
    if (ec != std::errc() || p != end || after_seq < 0) {
      return Status::BadInput("cursor", "is not the next of an earlier alerts.open page");
    }
  }
  std::optional<TimePoint> raised_by;
  if (req.older_than_s > 0) raised_by = s_.clock.Now() - std::chrono::seconds(req.older_than_s);
  auto rows = s_.store.OpenAlerts(req.recipient, after_seq, raised_by,
                                  static_cast<int>(req.limit) + 1);
  if (!rows.ok()) return rows.status();
  const bool more = rows->size() > static_cast<size_t>(req.limit);
  if (more) rows->resize(static_cast<size_t>(req.limit));
  boost::json::array alerts;
  for (const auto& a : *rows) alerts.push_back(AlertStateJson(a));
  work->audit->subjects = req.recipient;
  work->audit->detail = std::to_string(alerts.size()) + " open alert(s) disclosed" +
                        (more ? "; more to page through" : "");
  boost::json::object o;
  o["alerts"] = std::move(alerts);
  o["more"] = more;
  if (more) o["next"] = std::to_string(rows->back().seq);
  return o;
}

Result<AlertState> ControlServer::AlertToChange(const ControlRequest& req, OpWork* work) {
  const std::string& alert_id = req.alert_id;
  work->audit->subjects = alert_id;
  auto current = s_.store.GetAlert(alert_id);
  if (!current.ok()) return current.status();
  if (!*current) return Status::NotFound("no alert \"" + alert_id + "\"");
  work->audit->subjects = PersonOfAlert(**current);
  work->audit->detail = "alert " + alert_id;
  if (!req.control_id.empty()) work->audit->detail += " for control room " + req.control_id;
  // Only a recipient, the instrument's supervisor or a control room that received it may ack or
  // resolve (handlers/alerts/alert_authority.h); the refusal is audited by the envelope.
  boost::json::error_code ec;
  auto payload = boost::json::parse((*current)->payload, ec);
  Result<Alert> alert = !ec && payload.is_object()
                            ? AlertFromJson(payload.get_object())
                            : Result<Alert>(Status::Internal("stored alert " + alert_id +
                                                             " is not a JSON object"));
  if (!alert.ok()) return alert.status();
  AlertChangeContext ctx;
  ctx.escalation_level = (*current)->escalation_level;
  if (auto latest = s_.engine.state().instruments.LatestVersionOf(alert->instrument_id)) {
    ctx.supervisor = latest->supervisor;
    ctx.owning_control = latest->owning_control;
  }
  if (!MayChangeAlert(*alert, ctx, work->actor_topics)) {
    return Status::Forbidden("only a recipient of alert " + alert_id +
                             ", the supervisor of its instrument or a control room that received "
                             "it may acknowledge or resolve it");
  }
  return **current;
}

ControlServer::OpResult ControlServer::OpAlertAck(const ControlRequest& req, OpWork* work) {
  const std::string& id = req.alert_id;
  auto current = AlertToChange(req, work);
  if (!current.ok()) return current.status();
  AlertUpdate u;
  u.kind = AlertUpdate::Kind::kAck;
  u.alert_id = id;
  // Who acted: the officer a console or control room acts for, else the actor.
  u.by = work->acting_for.empty() ? work->audit->actor : work->acting_for;
  u.at = s_.clock.Now();
  work->writes.alert_updates.push_back(std::move(u));
  return boost::json::object{};  // the envelope replies with the alert as committed
}

ControlServer::OpResult ControlServer::OpAlertResolve(const ControlRequest& req, OpWork* work) {
  const std::string& id = req.alert_id;
  auto current = AlertToChange(req, work);
  if (!current.ok()) return current.status();
  if (current->resolved_at) {
    return Status::BadInput(
        "alert_id",
        "alert already resolved as \"" + current->outcome + "\" by " + current->resolved_by,
        "conflict");
  }
  work->audit->detail += " outcome " + req.outcome;
  AlertUpdate u;
  u.kind = AlertUpdate::Kind::kResolve;
  u.alert_id = id;
  // Who acted: the officer a console or control room acts for, else the actor.
  u.by = work->acting_for.empty() ? work->audit->actor : work->acting_for;
  u.at = s_.clock.Now();
  u.outcome = req.outcome;
  u.note = req.note;
  work->writes.alert_updates.push_back(std::move(u));
  return boost::json::object{};
}

ControlServer::OpResult ControlServer::AlertAfterUpdate(const std::string& alert_id) {
  auto after = s_.store.GetAlert(alert_id);
  if (!after.ok()) return after.status();
  if (!*after) return Status::NotFound("no alert \"" + alert_id + "\"");
  boost::json::object o;
  o["alert"] = AlertStateJson(**after);
  return o;
}

ControlServer::OpResult ControlServer::OpEventSubmit(const ControlRequest& req, OpWork* work) {
  // What is in flight completes first: a refusal among it is held, and this event goes behind it.
  s_.pipeline.Flush();
  if (!s_.pipeline.accepting() || s_.intake.holding() || s_.pipeline.held_entries() > 0) {
    return Status::Unavailable("the store is failing; nothing can be accepted until it recovers");
  }
  std::vector<InboundMessage> batch(1);
  batch[0].channel = "control";
  batch[0].topic = "event.submit";
  batch[0].payload = boost::json::serialize(req.event);
  batch[0].require_seq = false;
  batch[0].request_audit = *work->audit;
  // Synchronous: the reply is sent once the event's entry is durable (and its alerts published).
  auto results = s_.pipeline.Handle(batch);
  if (!results) {
    work->audit->detail = "failed";
    return Status::Unavailable("the store failed; the event was not stored");
  }
  const ItemOutcome& r = results->front();
  // Handled or rejected, the journal wrote the request's row as the message's collection record
  // (a duplicate writes no message and so no row: the envelope writes it).
  work->audit_written = r.result != ItemResult::kDuplicate;
  work->audit->subjects = r.source;
  work->audit->detail =
      std::string(ItemResultName(r.result)) + (r.message.empty() ? "" : ": " + r.message);
  if (r.result == ItemResult::kRejected) return Status::BadInput("event", r.message, r.reason);
  boost::json::object o;
  o["result"] = ItemResultName(r.result);
  o["note"] = r.message;
  boost::json::array ids;
  for (const auto& a : r.alerts) {
    ids.push_back({{"alert_id", a.alert_id}, {"seq", a.seq}, {"kind", AlertKindName(a.kind)}});
  }
  o["alerts"] = std::move(ids);
  return o;
}

}  // namespace bw
