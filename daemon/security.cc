// Security: see daemon/security.h and docs/security.md; daemon/access_policy.h holds the rules.
#include "daemon/security.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/post.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon/access_policy.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93  // libzmq >= 4.3 (draft API): no ZAP handler -> refused
#endif

namespace bw {

struct Security::SocketMonitor {
  std::string name;  // the ZAP domain of the watched socket
  std::unique_ptr<zmq::socket_t> socket;  // PAIR receiving the socket's handshake events
  std::unique_ptr<ZmqWatcher> watcher;
};

namespace {

constexpr auto kZapStartupProbeTimeout = std::chrono::milliseconds(2000);
constexpr auto kZapWatchdogTimeout = std::chrono::milliseconds(2000);
constexpr int kAuthAuditBudgetPerTick = 50;
constexpr auto kSameRefusalInterval = std::chrono::seconds(60);
constexpr int kMaxPendingRefusals = 10000;
constexpr const char* kDaemonActor = "breachwatchd";

std::string DescribeHandshakeFailure(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    return "refused by the ZAP handler (status " + std::to_string(value) + ")";
  }
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
    // Seen e.g. when a client without CURVE notices the mismatch first and hangs up, or a port
    // scan connects and closes.
    return "handshake did not complete (the peer closed the connection: a client without "
           "CURVE, or not speaking ZMTP)";
  }
  switch (value) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
      return "security mechanism mismatch (the client did not use CURVE)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
      return "cryptographic error (the client used another server public key, or a bad key)";
    case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
      return "key exchange failed";
    default:
      break;
  }
  std::ostringstream out;
  out << "protocol error 0x" << std::hex << value;
  return out.str();
}

// The ZAP User-Id carried by a message, or "" when there is none.
std::string UserIdOf(zmq::message_t& m) {
  const char* v = zmq_msg_gets(m.handle(), "User-Id");
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

Security::Security(boost::asio::io_context& io, zmq::context_t& zmq, const Clock& clock,
                   const SecurityConfig& config)
    : io_(io), zmq_(zmq), clock_(clock), config_(config) {}

Security::~Security() {
  for (auto& m : monitors_) m->watcher.reset();
}

Status Security::Start(AuditSink audit, StopServingFn stop_serving) {
  audit_ = std::move(audit);
  stop_serving_ = std::move(stop_serving);
  if (!curve()) return Status::Ok();
  auto keys = ReadSecretKeyFile(config_.server_secret_key_file, true);
  if (!keys.ok()) {
    if (keys.status().code() == ErrorCode::kBadInput) {
      return Status::BadInput("security.server_secret_key_file",
                              keys.status().field() + ": " + keys.status().message());
    }
    return Status::BadInput("security.server_secret_key_file", keys.status().ToString());
  }
  server_keys_ = *keys;
  auto clients = ClientAllowList::Load(config_.clients_file);
  if (!clients.ok()) return clients.status();
  zap_ = std::make_unique<ZapAuthenticator>(
      zmq_, *clients, [this](AuthRefusal r) { OnAuthRefusal(std::move(r)); },
      [this](const std::string& why) {
        boost::asio::post(io_, [this, why] { StopServing(why); });
      });
  Status s = zap_->Start();
  if (!s.ok()) return s;
  ApplyZapFaults();
  s = zap_->Probe(kZapStartupProbeTimeout);
  if (!s.ok()) {
    return Status::Unavailable("refusing to serve without a working ZAP handler (libzmq would "
                               "admit any client key): " +
                               s.message());
  }
  audit_budget_ = kAuthAuditBudgetPerTick;
  spdlog::info("security: CURVE on every socket; server public key {}; {} allow-listed key(s) "
               "from {}; ZAP handler answering",
               server_keys_.public_z85, (*clients)->size(), config_.clients_file);
  return Status::Ok();
}

void Security::Secure(zmq::socket_t& socket, const std::string& domain) {
  if (!curve()) return;
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, server_keys_.secret_z85);
  socket.set(zmq::sockopt::zap_domain, domain);
  int enforce = 1;
  if (zmq_setsockopt(socket.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0) {
    spdlog::warn("security: this libzmq lacks ZMQ_ZAP_ENFORCE_DOMAIN; relying on the ZAP "
                 "handler's bound endpoint and the watchdog to fail closed on {}",
                 domain);
  }
  auto monitor = std::make_unique<SocketMonitor>();
  monitor->name = domain;
  const std::string endpoint = "inproc://bw-monitor-" + std::to_string(monitors_.size());
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
    throw zmq::error_t();
  }
  monitor->socket = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::pair);
  monitor->socket->set(zmq::sockopt::linger, 0);
  monitor->socket->connect(endpoint);
  SocketMonitor* raw = monitor.get();
  monitor->watcher = std::make_unique<ZmqWatcher>(
      io_, *monitor->socket, 64, [this, raw](size_t budget) { return DrainMonitor(*raw, budget); });
  monitor->watcher->Start();
  monitors_.push_back(std::move(monitor));
}

size_t Security::DrainMonitor(SocketMonitor& monitor, size_t budget) {
  size_t n = 0;
  for (; n < budget; ++n) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(*monitor.socket, std::back_inserter(frames),
                             zmq::recv_flags::dontwait)) {
      break;
    }
    if (frames.size() < 2 || frames[0].size() < 6) continue;
    uint16_t event;
    uint32_t value;
    std::memcpy(&event, frames[0].data(), sizeof event);
    std::memcpy(&value, frames[0].data<char>() + 2, sizeof value);
    ++handshake_failures_;
    // A ZAP refusal is audited by the handler with the key and address; the rest (no CURVE,
    // wrong server key, garbage) only the monitor sees.
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) continue;
    AuthRefusal r;
    r.at = clock_.Now();
    r.domain = monitor.name;
    r.address = frames[1].to_string();
    r.reason = DescribeHandshakeFailure(event, value);
    r.mechanism = "handshake";
    {
      std::lock_guard<std::mutex> lock(refusals_mu_);
      refusals_.push_back(std::move(r));
    }
  }
  WriteAuthRefusals();
  return n;
}

void Security::OnAuthRefusal(AuthRefusal refusal) {
  // ZAP handler thread: hand over only.
  {
    std::lock_guard<std::mutex> lock(refusals_mu_);
    if (refusals_.size() >= static_cast<size_t>(kMaxPendingRefusals)) {
      ++refusals_dropped_;
      return;
    }
    refusals_.push_back(std::move(refusal));
  }
  boost::asio::post(io_, [this] { WriteAuthRefusals(); });
}

void Security::AuditEvent(const std::string& actor, const std::string& op,
                                const std::string& subjects, const std::string& detail) {
  AuditRecord a;
  a.at = clock_.Now();
  a.category = "access";  // a refused connection or request, or the ZAP handler failing
  a.actor = actor;
  a.op = op;
  a.subjects = subjects;
  a.reason = "access control";
  a.outcome = op == "security.not_serving"    ? "unavailable"
              : op == "security.keys_revoked" ? "ok"
                                              : "forbidden";
  a.detail = detail;
  audit_(a);
}

void Security::WriteAuthRefusals() {
  std::vector<AuthRefusal> pending;
  int64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(refusals_mu_);
    pending.swap(refusals_);
    std::swap(dropped, refusals_dropped_);
  }
  audit_suppressed_ += dropped;
  for (const auto& r : pending) {
    const bool handshake = r.mechanism == "handshake";
    const std::string detail =
        r.reason + (r.address.empty() ? "" : "; peer " + r.address) +
        (r.public_key.empty() ? "" : "; client key " + r.public_key) +
        (handshake || r.mechanism.empty() ? "" : "; mechanism " + r.mechanism);
    const std::string key = r.domain + "\n" + r.public_key + "\n" + r.reason;
    auto last = audit_last_.find(key);
    if (audit_budget_ <= 0 ||
        (last != audit_last_.end() && r.at - last->second < kSameRefusalInterval)) {
      ++audit_suppressed_;
      continue;
    }
    if (audit_last_.size() > 10000) audit_last_.clear();
    audit_last_[key] = r.at;
    --audit_budget_;
    spdlog::warn("security: {} on {}: {}", handshake ? "handshake failed" : "client refused",
                 r.domain, detail);
    AuditEvent(r.public_key.empty() ? "unauthenticated" : "key:" + r.public_key,
                       handshake ? "auth.handshake_failed" : "auth.refused", r.domain, detail);
  }
}

void Security::Tick() {
  if (!curve() || !zap_) return;
  const TimePoint now = clock_.Now();
  if (audit_suppressed_ > 0 && now - audit_last_summary_ >= kSameRefusalInterval) {
    audit_last_summary_ = now;
    AuditEvent("unauthenticated", "auth.refused", "",
                       std::to_string(audit_suppressed_) +
                           " more refused or failed handshake(s) since the last summary, not "
                           "recorded one by one "
                           "(repeats of a refusal recorded in the last minute, or over the "
                           "limit of " +
                           std::to_string(kAuthAuditBudgetPerTick) + " per 500 ms)");
    spdlog::info("security: {} repeated or excess refused handshake(s) summarised in the audit "
                 "log",
                 audit_suppressed_);
    audit_suppressed_ = 0;
  }
  audit_budget_ = kAuthAuditBudgetPerTick;
  if (!serving_) return;
  ApplyZapFaults();
  if (!zap_->StillAnswering(kZapWatchdogTimeout)) {
    StopServing("the ZAP handler did not answer a request within " +
                std::to_string(kZapWatchdogTimeout.count()) + " ms");
  }
}

void Security::ApplyZapFaults() {
  // Fault seam: BREACHWATCH_FAULT_FILE may say zap_handler_exit or zap_handler_hang.
  const char* faults = std::getenv("BREACHWATCH_FAULT_FILE");
  if (faults == nullptr || *faults == '\0') return;
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(faults, ec);
  if (ec || mtime == fault_file_mtime_) return;
  fault_file_mtime_ = mtime;
  std::ifstream in(faults);
  std::string word;
  while (in >> word) {
    if (word == "zap_handler_exit") {
      spdlog::warn("TEST SEAM: ZAP handler told to exit");
      zap_->InjectFault(ZapAuthenticator::Fault::kExit);
    } else if (word == "zap_handler_hang") {
      spdlog::warn("TEST SEAM: ZAP handler told to stop answering");
      zap_->InjectFault(ZapAuthenticator::Fault::kHang);
    }
  }
}

void Security::StopServing(const std::string& why) {
  if (!serving_ || cancelled_) return;
  serving_ = false;
  not_serving_reason_ = why;
  spdlog::critical("security: NOT SERVING: {}. Without its ZAP handler libzmq could admit any "
                   "client key, so every endpoint is closed; restart breachwatchd (under systemd "
                   "the watchdog restarts it)",
                   why);
  sd_notify(0, ("STATUS=NOT SERVING: ZAP handler failed (" + why + "); endpoints closed").c_str());
  stop_serving_();
  AuditEvent(kDaemonActor, "security.not_serving", "", why);
}

Status Security::AuthoriseControl(const std::string& op, const std::string& claimed_officer_id,
                                const std::string& user_id, std::string* acting_for) {
  acting_for->clear();
  if (user_id.empty()) {
    ++requests_refused_;
    return Status::Forbidden("the request carries no authenticated identity");
  }
  const ClientEntry* client = FindClient(user_id);
  if (client == nullptr) {
    ++requests_refused_;
    return Status::Forbidden("identity \"" + user_id +
                             "\" is no longer allow-listed (key revoked); reconnect with a "
                             "current key");
  }
  // A request without officer_id is the decoder's to refuse (bad_request).
  std::string why;
  if (!MayRequest(*client, op, claimed_officer_id.empty() ? user_id : claimed_officer_id,
                  acting_for, &why)) {
    ++requests_refused_;
    spdlog::warn("security: request {} from {} refused: {}", op, user_id, why);
    return Status::Forbidden(why);
  }
  return Status::Ok();
}

void Security::FilterVisibleAlerts(const std::string& user_id,
                                   boost::json::object* reply) const {
  if (!curve() || user_id.empty()) return;
  const ClientEntry* client = FindClient(user_id);
  auto it = reply->find("alerts");
  if (it == reply->end() || !it->value().is_array()) return;
  boost::json::array visible;
  for (auto& a : it->value().get_array()) {
    std::vector<std::string> recipients;
    if (a.is_object()) {
      if (auto r = a.get_object().find("recipients");
          r != a.get_object().end() && r->value().is_array()) {
        for (const auto& t : r->value().get_array()) {
          if (t.is_string()) recipients.emplace_back(t.get_string());
        }
      }
    }
    if (client != nullptr && MaySeeAlert(*client, recipients)) visible.push_back(std::move(a));
  }
  it->value() = std::move(visible);
}

bool Security::MaySeeProtectedPersonRecord(const std::string& user_id,
                                           const std::string& acting_for,
                                           const std::string& control_id) const {
  if (!curve()) return true;
  const ClientEntry* client = user_id.empty() ? nullptr : FindClient(user_id);
  return client != nullptr && bw::MaySeeProtectedPersonRecord(*client, acting_for, control_id);
}

bool Security::AdmitSubscription(zmq::message_t& message, const std::string& topic) {
  const std::string user_id = UserIdOf(message);
  const ClientEntry* client = user_id.empty() ? nullptr : FindClient(user_id);
  if (client != nullptr && MaySubscribe(*client, topic)) return true;
  ++subscriptions_refused_;
  const std::string why =
      client == nullptr ? "identity \"" + user_id + "\" is not allow-listed"
                        : std::string("role ") + ClientRoleName(client->role) + " identity " +
                              user_id + " may not receive topic \"" + topic + "\"";
  spdlog::warn("security: alert subscription \"{}\" refused: {}", topic, why);
  AuditEvent(user_id.empty() ? "unauthenticated" : user_id, "subscription.refused", topic, why);
  return false;
}

std::vector<std::string> Security::ActorTopics(const std::string& user_id,
                                               const std::string& officer_id,
                                               const std::string& acting_for,
                                               const std::string& control_id) const {
  if (!curve()) return bw::ActorTopics(nullptr, officer_id, acting_for, control_id);
  auto clients = zap_ ? zap_->allowlist() : nullptr;  // held while the entry is read
  const ClientEntry* client = clients ? clients->FindByIdentity(user_id) : nullptr;
  if (client == nullptr) return {};
  return bw::ActorTopics(client, officer_id, acting_for, control_id);
}

const ClientEntry* Security::FindClient(const std::string& user_id) const {
  auto clients = zap_ ? zap_->allowlist() : nullptr;
  return clients ? clients->FindByIdentity(user_id) : nullptr;
}

bool Security::Reload() {
  if (!curve() || !zap_) return false;
  auto clients = ClientAllowList::Load(config_.clients_file);
  if (!clients.ok()) {
    spdlog::error("reload: clients file refused, keeping the running allow-list ({} key(s)): {}",
                  zap_->allowlist()->size(), clients.status().ToString());
    return false;
  }
  // Revoked or changed: an old key that is gone, or whose entry (identity, role, feeds, control
  // rooms) is no longer the same.
  int64_t revoked = 0;
  const auto before = zap_->allowlist();
  for (const auto& old : before ? before->entries() : std::vector<ClientEntry>{}) {
    const ClientEntry* now = (*clients)->FindByPublicKey(old.public_key);
    if (now == nullptr || RenderClientEntry(*now) != RenderClientEntry(old)) ++revoked;
  }
  zap_->SetAllowList(*clients);
  spdlog::info("reload: {} allow-listed key(s) from {}; {} key(s) removed or changed{}",
               (*clients)->size(), config_.clients_file, revoked,
               revoked > 0 ? ": open connections are cut so every client authenticates again"
                           : "");
  if (revoked > 0) {
    AuditEvent(kDaemonActor, "security.keys_revoked", "",
               std::to_string(revoked) + " key(s) removed or changed on reload; open alert and "
                                         "feed connections cut");
  }
  return revoked > 0;
}

boost::json::object Security::StatusJson() const {
  boost::json::object o;
  o["mode"] = config_.mode;
  o["serving"] = serving_;
  if (!serving_) o["not_serving_reason"] = not_serving_reason_;
  if (curve() && zap_) {
    o["server_public_key"] = server_keys_.public_z85;
    o["allow_listed_keys"] = zap_->allowlist()->size();
    o["handshakes_admitted"] = zap_->admitted();
    o["handshakes_refused"] = zap_->refused();
  }
  o["handshake_failures"] = handshake_failures_;
  o["requests_refused"] = requests_refused_;
  o["subscriptions_refused"] = subscriptions_refused_;
  return o;
}

std::string Security::Metrics() const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("breachwatch_serving", "gauge",
         "1 while endpoints are open; 0 after the ZAP handler failed (endpoints closed).",
         serving_ ? 1 : 0);
  if (curve() && zap_) {
    metric("breachwatch_zap_handshakes_admitted_total", "counter",
           "CURVE handshakes the ZAP handler admitted.", static_cast<double>(zap_->admitted()));
    metric("breachwatch_zap_handshakes_refused_total", "counter",
           "CURVE handshakes the ZAP handler refused (unknown key or role).",
           static_cast<double>(zap_->refused()));
    metric("breachwatch_allow_listed_keys", "gauge", "Client keys in the allow-list.",
           static_cast<double>(zap_->allowlist()->size()));
  }
  metric("breachwatch_handshake_failures_total", "counter",
         "Failed handshakes on any socket (ZAP refusals, no CURVE, wrong server key).",
         static_cast<double>(handshake_failures_));
  metric("breachwatch_control_requests_refused_total", "counter",
         "Control requests refused by role or identity checks.",
         static_cast<double>(requests_refused_));
  metric("breachwatch_alert_subscriptions_refused_total", "counter",
         "Alert subscriptions refused (topic the identity may not see).",
         static_cast<double>(subscriptions_refused_));
  return out;
}

void Security::Cancel() {
  cancelled_ = true;
  for (auto& m : monitors_) m->watcher->Cancel();
}

void Security::Shutdown() {
  for (auto& m : monitors_) m->watcher.reset();
  monitors_.clear();
  zap_.reset();
}

}  // namespace bw
