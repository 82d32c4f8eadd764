// ControlServer: the control socket (ROUTER; protocol section 7).  One request → one reply.
//
// The envelope is handled here, once for every op: frames → the pure decoder
// (handlers/wire/control_request.h) → authorisation (daemon/security.h) → the op → one audit row
// (s.62 category by op) committed with the op's own writes through the journal, so both are kept
// or neither.  Ops are grouped by topic: queries.cc (status, conditions.*, history.person) and
// alerts.cc (alerts.since/open, alert.ack/resolve, event.submit, which goes through the pipeline
// like a feed message, its audit row travelling with it).
//
// Bounded work (issue 12): the control socket shares the thread that handles breaches, so no
// request may hold it for long.  conditions.location scans for at most kQuerySlice and answers one
// page (`limit`, kMaxPageBytes, `next`); a drain of the socket yields to the other handlers (intake
// first) once it has used kQuerySlice, however many requests are waiting.
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/settings.h"
#include "daemon/intake.h"
#include "daemon/journal.h"
#include "daemon/pipeline.h"
#include "daemon/rate_limiter.h"
#include "daemon/security.h"
#include "daemon/store.h"
#include "daemon/zmq_watcher.h"
#include "handlers/wire/control_request.h"
#include "handlers/engine/engine.h"

namespace bw {

class ControlServer {
 public:
  // The longest a request's scan may run, and a drain of the socket before it yields.
  static constexpr std::chrono::milliseconds kQuerySlice{20};
  // A page stops growing once its items serialise to this many bytes (at least one item).
  static constexpr size_t kMaxPageBytes = 1 << 20;
  // Instruments a scan examines between looks at the clock.
  static constexpr size_t kScanInstrumentsPerClockCheck = 8;

  // What the ops read and write through.  Every reference must outlive the server.
  struct Stages {
    const Clock& clock;
    const Config& config;
    const Engine& engine;
    Store& store;  // reads only: every write goes through the journal
    Journal& journal;
    Pipeline& pipeline;
    const Intake& intake;
    Security& security;
    std::function<boost::json::object()> status;
  };

  ControlServer(boost::asio::io_context& io, zmq::context_t& zmq, Stages stages);
  ~ControlServer();

  [[nodiscard]] Status Bind(const std::function<void(zmq::socket_t&)>& secure);
  void Start();
  void Cancel();
  void Close();
  zmq::socket_t* socket() { return socket_.get(); }
  const int64_t& requests() const { return requests_; }
  // Every tick: the audit rows summarising requests refused over the rate limit (`all`: every
  // pending one, at stop).
  void Tick(TimePoint now, bool all = false);
  const RateLimiter& rate_limiter() const { return rate_limiter_; }
  // Active/standby (docs/ha.md): while `refusal` returns a text (which names the active node),
  // this node is a standby.  It answers `status`; every other op is refused, once the request is
  // decoded and authorised, with `unavailable` and that text, before the op runs; and nothing is
  // written to the store, not even the audit row (a standby may not write: the row is logged
  // instead).  Unset, or returning "": this node is active.
  void set_standby_refusal(std::function<std::string()> refusal) {
    standby_refusal_ = std::move(refusal);
  }

  // One request: `op` and `body` are its two frames, `user_id` the ZAP User-Id (mode curve) or
  // "".  Returns the reply JSON text.  Public for in-process tests.
  std::string Handle(const std::string& op, const std::string& body, const std::string& user_id);

 private:
  // What an op hands back to the envelope besides its reply.
  struct OpWork {
    AuditRecord* audit;
    JournalEntry writes;        // committed with the audit row
    bool audit_written = false;  // event.submit: the journal already wrote it with the message
    // status: health is answered even when its audit row cannot be written (a full disk is when
    // an operator needs it most); it discloses no personal data.
    bool answer_without_audit = false;
    // A control room or administrator acting for an officer (mode curve): that officer.
    std::string acting_for;
    // The recipient topics the requester answers for (Security::ActorTopics): who may ack or
    // resolve an alert is decided with them (handlers/alerts/alert_authority.h).
    std::vector<std::string> actor_topics;
    // The ZAP User-Id of the requester (mode curve), else "".
    std::string user_id;
  };
  using OpResult = Result<boost::json::object>;

  size_t Drain(size_t budget);
  std::string Finish(boost::json::object reply, const Status& s, OpWork* work);
  // A request refused before it could be decoded (wrong frames): answered and audited.
  std::string Refuse(const std::string& op, const std::string& user_id, const Status& why);
  // The reply to a request over its identity's rate limit (not audited one by one: Tick).
  std::string RateLimited() const;

  // queries.cc
  OpResult OpStatus(const ControlRequest& req, OpWork* work);
  OpResult OpConditionsPerson(const ControlRequest& req, OpWork* work);
  OpResult OpConditionsProtected(const ControlRequest& req, OpWork* work);
  OpResult OpConditionsLocation(const ControlRequest& req, OpWork* work);
  OpResult OpHistoryPerson(const ControlRequest& req, OpWork* work);
  // alerts.cc
  OpResult OpAlertsSince(const ControlRequest& req, OpWork* work);
  OpResult OpAlertsOpen(const ControlRequest& req, OpWork* work);
  OpResult OpAlertAck(const ControlRequest& req, OpWork* work);
  OpResult OpAlertResolve(const ControlRequest& req, OpWork* work);
  OpResult OpEventSubmit(const ControlRequest& req, OpWork* work);
  // The alert an ack or resolve names, with the audit row's subjects set; NotFound when none.
  Result<AlertState> AlertToChange(const ControlRequest& req, OpWork* work);
  // The reply of alert.ack / alert.resolve, read back once the update is committed.
  OpResult AlertAfterUpdate(const std::string& alert_id);

  boost::asio::io_context& io_;
  zmq::context_t& zmq_;
  Stages s_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<ZmqWatcher> watcher_;
  int64_t requests_ = 0;
  RateLimiter rate_limiter_;
  std::function<std::string()> standby_refusal_;
};

// The stored alert with its acknowledgement, outcome and escalation (alerts.open, ack, resolve).
boost::json::object AlertStateJson(const AlertState& a);
std::string ErrorReply(ErrorCode code, const std::string& message);

}  // namespace bw
