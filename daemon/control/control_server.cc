#include "daemon/control/control_server.h"

#include <spdlog/spdlog.h>

#include <map>

#include "handlers/base/time_util.h"
#include "handlers/alerts/protected_location.h"

namespace bw {

std::string ErrorReply(ErrorCode code, const std::string& message) {
  boost::json::object o;
  o["ok"] = false;
  o["error"] = {{"code", ErrorCodeName(code)}, {"message", message}};
  return boost::json::serialize(o);
}

namespace {
std::string ErrorReply(const Status& s) {
  ErrorCode code = s.code();
  if (code == ErrorCode::kIoError || code == ErrorCode::kInternal) code = ErrorCode::kUnavailable;
  return ErrorReply(code, s.ToString());
}
}  // namespace

ControlServer::ControlServer(boost::asio::io_context& io, zmq::context_t& zmq, Stages stages)
    : io_(io),
      zmq_(zmq),
      s_(std::move(stages)),
      rate_limiter_(static_cast<double>(s_.config.control_rate_per_s),
                    static_cast<double>(s_.config.control_rate_burst)) {}

std::string ControlServer::RateLimited() const {
  return ErrorReply(ErrorCode::kUnavailable,
                    "rate limit: at most " + std::to_string(s_.config.control_rate_per_s) +
                        " requests a second (" + std::to_string(s_.config.control_rate_burst) +
                        " at once) per identity; slow down and retry");
}

void ControlServer::Tick(TimePoint now, bool all) {
  for (auto& summary : rate_limiter_.TakeAuditSummaries(now, all)) {
    std::string ops;
    for (const auto& [op, n] : summary.by_op) {
      ops += (ops.empty() ? "" : ", ") + op + " " + std::to_string(n);
    }
    AuditRecord audit;
    audit.at = now;
    audit.category = "access";
    audit.actor = summary.identity;
    audit.op = "control.rate_limited";
    audit.reason = "rate limit";
    audit.outcome = "unavailable";
    audit.detail = std::to_string(summary.refused) + " request(s) refused over the rate limit (" +
                   std::to_string(s_.config.control_rate_per_s) + "/s, " +
                   std::to_string(s_.config.control_rate_burst) + " at once) from " +
                   FormatRfc3339(summary.first) + " to " + FormatRfc3339(summary.last) +
                   "; ops: " + ops;
    spdlog::warn("control: {} {}", summary.identity, audit.detail);
    JournalEntry entry;
    entry.at = now;
    entry.audits.push_back(std::move(audit));
    // In the journal's order, behind what is in flight; waits for it (daemon/pipeline.h).
    auto committed = s_.pipeline.CommitNow(std::move(entry));
    if (!committed.ok()) {
      spdlog::error("audit write failed for control.rate_limited: {}",
                    committed.status().ToString());
    }
  }
}

ControlServer::~ControlServer() { watcher_.reset(); }

Status ControlServer::Bind(const std::function<void(zmq::socket_t&)>& secure) {
  const Config& config = s_.config;
  try {
    socket_ = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::router);
    socket_->set(zmq::sockopt::linger, 1000);
    // The transport's cap (over it libzmq drops the connection, unanswered) lies far above the
    // decoder's (intake.max_message_bytes × 4), so an oversize request is answered bad_request
    // naming the size, and audited.
    socket_->set(zmq::sockopt::maxmsgsize,
                 static_cast<int64_t>(std::max<int64_t>(config.intake_max_message_bytes * 64,
                                                        64 << 20)));
    socket_->set(zmq::sockopt::router_mandatory, false);
    secure(*socket_);
    socket_->bind(config.control_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind the control socket " + config.control_endpoint + ": " +
                               e.what());
  }
  watcher_ = std::make_unique<ZmqWatcher>(io_, *socket_,
                                          static_cast<size_t>(config.intake_drain_budget),
                                          [this](size_t budget) { return Drain(budget); });
  return Status::Ok();
}

void ControlServer::Start() { watcher_->Start(); }
void ControlServer::Cancel() { watcher_->Cancel(); }
void ControlServer::Close() {
  watcher_.reset();
  if (socket_) socket_->close();
}

size_t ControlServer::Drain(size_t budget) {
  const auto yield_at = std::chrono::steady_clock::now() + kQuerySlice;
  size_t n = 0;
  for (; n < budget; ++n) {
    // A slice used: let intake have the thread.  Reporting the budget spent makes the watcher
    // post the next drain behind the handlers already queued (no edge needed: it reads anyway).
    if (n > 0 && std::chrono::steady_clock::now() >= yield_at) return budget;
    std::vector<zmq::message_t> frames;
    auto got = zmq::recv_multipart(*socket_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) break;
    // Not serving (the ZAP handler failed): nothing is answered.
    if (frames.empty() || !s_.security.serving()) continue;
    // [identity][empty delimiter, from REQ][op][body]  or  [identity][op][body] from DEALER.
    std::vector<zmq::message_t> envelope;
    envelope.push_back(std::move(frames[0]));
    size_t i = 1;
    if (i < frames.size() && frames[i].size() == 0) {
      envelope.push_back(std::move(frames[i]));
      ++i;
    }
    // The ZAP User-Id (mode curve) travels with every frame the client sent.
    const char* user_id = zmq_msg_gets(frames.back().handle(), "User-Id");
    std::string reply;
    std::string op;
    if (frames.size() - i != 2) {
      // Also an empty op frame, read as REQ's delimiter.  Answered and audited like any request.
      op = frames.size() > i ? frames[i].to_string() : "";
      reply = Refuse(op, user_id ? user_id : "",
                     Status::BadInput("", "a request is two frames: the op name, then a JSON "
                                      "object; got " + std::to_string(frames.size() - i),
                                      "bad_frames"));
    } else {
      op = frames[i].to_string();
      reply = Handle(op, frames[i + 1].to_string(), user_id ? user_id : "");
    }
    ++requests_;
    try {
      for (auto& f : envelope) socket_->send(f, zmq::send_flags::sndmore);
      socket_->send(zmq::buffer(op), zmq::send_flags::sndmore);
      socket_->send(zmq::buffer(reply), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      spdlog::warn("control reply not sent: {}", e.what());
    }
  }
  watcher_->Recheck();
  return n;
}

std::string ControlServer::Finish(boost::json::object reply, const Status& s, OpWork* work) {
  AuditRecord& audit = *work->audit;
  audit.outcome = s.ok() ? "ok"
                         : ErrorCodeName(s.code() == ErrorCode::kIoError ? ErrorCode::kUnavailable
                                                                         : s.code());
  if (!s.ok() && audit.detail.empty()) audit.detail = s.ToString();
  // The op's writes only when it succeeded; its audit row in every case (a refusal is audited).
  JournalEntry entry;
  entry.at = s_.clock.Now();
  if (s.ok()) entry = std::move(work->writes);
  if (!work->audit_written) entry.audits.push_back(audit);
  const bool updated = !entry.alert_updates.empty();
  if (standby_refusal_ && !standby_refusal_().empty()) {
    // A standby writes nothing (its store is fenced out; the active node owns the audit chain):
    // the audit row goes to the log.  Only status and refusals get here (Handle).
    spdlog::info("standby: audit row not stored: {} by {} ({}): {}{}", audit.op, audit.actor,
                 audit.category, audit.outcome, audit.detail.empty() ? "" : "; " + audit.detail);
    if (!s.ok()) return ErrorReply(s);
    reply["ok"] = true;
    return std::string(boost::json::serialize(reply));
  }
  if (!entry.empty()) {
    // In the journal's order, behind what is in flight; the reply waits until it is durable.
    auto committed = s_.pipeline.CommitNow(entry);
    if (!committed.ok() && !(s.ok() && work->answer_without_audit)) {
      spdlog::error("audit write failed, request refused: {}", committed.status().ToString());
      return ErrorReply(ErrorCode::kUnavailable, "the audit log cannot be written; refusing");
    }
    if (!committed.ok()) {
      spdlog::error("audit write failed for {}, answered all the same: {}", audit.op,
                    committed.status().ToString());
    }
  }
  if (!s.ok()) return ErrorReply(s);
  if (updated) {
    const AlertUpdate& u = entry.alert_updates.front();
    auto after = AlertAfterUpdate(u.alert_id);
    if (!after.ok()) return ErrorReply(after.status());
    if (u.kind == AlertUpdate::Kind::kResolve) {
      // The engine's history shows the outcome from now on (protocol 9.1).
      if (const auto* alert = after->if_contains("alert"); alert && alert->is_object()) {
        if (auto a = AlertFromJson(alert->get_object()); a.ok()) {
          s_.pipeline.AlertResolved(*a, u.outcome);
        }
      }
    }
    reply = std::move(*after);
  }
  reply["ok"] = true;
  return std::string(boost::json::serialize(reply));
}

std::string ControlServer::Refuse(const std::string& op, const std::string& user_id,
                                  const Status& why) {
  AuditRecord audit;
  audit.at = s_.clock.Now();
  audit.op = op.empty() ? "(none)" : op;
  audit.actor = user_id.empty() ? "unknown" : user_id;
  if (!rate_limiter_.Admit(audit.actor, audit.op, audit.at)) return RateLimited();
  audit.category = "access";
  OpWork work{&audit, {}, false};
  return Finish({}, why, &work);
}

std::string ControlServer::Handle(const std::string& op, const std::string& body,
                                  const std::string& user_id) {
  AuditRecord audit;
  audit.at = s_.clock.Now();
  audit.op = op;
  audit.actor = "unknown";
  audit.category = "access";  // until the request is decoded and allowed
  OpWork work{&audit, {}, false};
  work.user_id = user_id;

  // Parsing and validation are the pure decoder's; a refused request is still audited with who
  // asked and why when known.
  ControlDecodeOptions decode_options;
  decode_options.max_body_bytes = static_cast<size_t>(s_.config.intake_max_message_bytes) * 4;
  ControlIdentity who;
  auto decoded = DecodeControlRequest(op, body, decode_options, &who);
  if (!who.officer_id.empty()) {
    audit.actor = who.officer_id;
    audit.reason = who.reason;
  }
  // Before anything is written: a flood must not become a flood of audit rows.
  const std::string identity = s_.security.curve()
                                   ? (user_id.empty() ? "unauthenticated" : user_id)
                                   : audit.actor;
  if (!rate_limiter_.Admit(identity, op, audit.at)) return RateLimited();
  // CURVE: the actor is the authenticated identity (ZAP User-Id), never the claimed officer_id.
  std::string& acting_for = work.acting_for;
  if (s_.security.curve()) {
    audit.actor = user_id.empty() ? "unauthenticated" : user_id;
    Status allowed = s_.security.AuthoriseControl(op, who.officer_id, user_id, &acting_for);
    if (!allowed.ok()) return Finish({}, allowed, &work);
  }
  if (!decoded.ok()) return Finish({}, decoded.status(), &work);
  const ControlRequest& req = *decoded;
  work.actor_topics =
      s_.security.ActorTopics(user_id, who.officer_id, acting_for, req.control_id);

  switch (req.op) {
    case ControlOp::kAlertAck:
    case ControlOp::kAlertResolve:
      audit.category = "alteration";
      break;
    case ControlOp::kEventSubmit:
      audit.category = "collection";
      break;
    default:
      audit.category = "consultation";
  }
  // A standby serves status only; it refuses the rest (state changes and the reads that must be
  // audited alike), authorised first, naming the active node.
  if (req.op != ControlOp::kStatus && standby_refusal_) {
    if (std::string refusal = standby_refusal_(); !refusal.empty()) {
      return Finish({}, Status::Unavailable(refusal), &work);
    }
  }
  using OpFn = OpResult (ControlServer::*)(const ControlRequest&, OpWork*);
  static const std::map<ControlOp, OpFn> kOps = {
      {ControlOp::kStatus, &ControlServer::OpStatus},
      {ControlOp::kConditionsPerson, &ControlServer::OpConditionsPerson},
      {ControlOp::kConditionsProtected, &ControlServer::OpConditionsProtected},
      {ControlOp::kConditionsLocation, &ControlServer::OpConditionsLocation},
      {ControlOp::kHistoryPerson, &ControlServer::OpHistoryPerson},
      {ControlOp::kAlertsSince, &ControlServer::OpAlertsSince},
      {ControlOp::kAlertsOpen, &ControlServer::OpAlertsOpen},
      {ControlOp::kAlertAck, &ControlServer::OpAlertAck},
      {ControlOp::kAlertResolve, &ControlServer::OpAlertResolve},
      {ControlOp::kEventSubmit, &ControlServer::OpEventSubmit},
  };
  auto reply = (this->*(kOps.at(req.op)))(req, &work);
  if (!acting_for.empty()) {
    audit.detail = "on behalf of " + acting_for + (audit.detail.empty() ? "" : "; " + audit.detail);
  }
  if (!reply.ok()) return Finish({}, reply.status(), &work);
  if (req.op == ControlOp::kAlertsSince || req.op == ControlOp::kAlertsOpen) {
    s_.security.FilterVisibleAlerts(user_id, &*reply);
    // Protocol 9.3: a reply that discloses a protected person's location names her in its audit
    // row (after filtering: what was actually disclosed).
    if (auto* alerts = reply->if_contains("alerts"); alerts && alerts->is_array()) {
      for (const auto& her : ProtectedPersonsLocated(alerts->as_array())) {
        audit.subjects += (audit.subjects.empty() ? "" : ",") + her;
        audit.detail += "; discloses the location of protected person " + her;
      }
    }
  }
  return Finish(std::move(*reply), Status::Ok(), &work);
}

}  // namespace bw
