#include "tests/integration/daemon_process.h"

#include <cstdlib>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bw::testing {

namespace {
int FreeTcpPort(zmq::context_t& ctx) {
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.set(zmq::sockopt::linger, 0);
  s.bind("tcp://127.0.0.1:*");
  std::string ep = s.get(zmq::sockopt::last_endpoint);
  return std::stoi(ep.substr(ep.rfind(':') + 1));
}
}  // namespace

DaemonProcess::DaemonProcess(Transport transport, std::vector<std::string> feeds)
    : transport_(transport), feed_names_(std::move(feeds)) {
  char tmpl[] = "/tmp/bw-it-XXXXXX";
  dir_ = mkdtemp(tmpl);
  alerts_endpoint_ = Endpoint("alerts");
  control_endpoint_ = Endpoint("control");
  for (const auto& f : feed_names_) feed_endpoints_[f] = Endpoint("feed-" + f);
  config_.store_path = dir_ + "/breachwatch.db";
  config_.zones = {{.file = BREACHWATCH_SOURCE_DIR "/config/zones/london_lad22_bgc_wgs84.geojson",
                    .code_property = "LAD22CD",
                    .name_property = "LAD22NM",
                    .skip_invalid = false}};
  config_.alerts_endpoint = alerts_endpoint_;
  config_.control_endpoint = control_endpoint_;
  for (const auto& f : feed_names_) {
    FeedConfig feed;  // silent_after_s and the rest: the defaults
    feed.name = f;
    feed.endpoint = feed_endpoints_[f];
    config_.feeds.push_back(feed);
  }
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) Kill9();
  feed_sockets_.clear();
  std::error_code ec;
  if (std::getenv("BW_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(dir_, ec);
}

std::string DaemonProcess::Endpoint(const std::string& name) {
  if (transport_ == Transport::kIpc) return "ipc://" + dir_ + "/" + name + ".sock";
  return "tcp://127.0.0.1:" + std::to_string(FreeTcpPort(ctx_));
}

FeedConfig& DaemonProcess::feed_config(const std::string& feed) {
  for (auto& f : config_.feeds) {
    if (f.name == feed) return f;
  }
  throw std::invalid_argument("no feed " + feed + " in this DaemonProcess");
}

std::string DaemonProcess::EnableReplay(const std::string& feed) {
  return feed_config(feed).replay = Endpoint("replay-" + feed);
}

std::string DaemonProcess::WriteConfig() {
  config_path_ = dir_ + "/breachwatch.toml";
  std::ofstream(config_path_) << RenderConfig(config_) << "\n";
  return config_path_;
}

namespace {
CurveClientKeys NewKeys(const std::string& server_public) {
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  return CurveClientKeys{server_public, pub, sec};
}
}  // namespace

void DaemonProcess::EnableCurve() {
  curve_ = true;
  config_.security = {.mode = "curve",
                      .server_secret_key_file = dir_ + "/server.key",
                      .clients_file = dir_ + "/clients.toml"};
  server_keys_ = NewKeys("");
  server_keys_.server_public = server_keys_.public_key;
  {
    std::ofstream key(dir_ + "/server.key");
    key << "# test server key\n" << server_keys_.secret_key << "\n";
  }
  std::filesystem::permissions(dir_ + "/server.key", std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write);
  admin_keys_ = AddClient("ADMIN-TEST", ClientRole::kAdministrator);
  feed_all_keys_ = AddClient("FEED-TEST", ClientRole::kFeed, feed_names_);
}

CurveClientKeys DaemonProcess::AddClient(const std::string& identity, ClientRole role,
                                         std::vector<std::string> feeds,
                                         std::vector<std::string> control_ids) {
  CurveClientKeys keys = NewKeys(server_keys_.public_key);
  ClientEntry entry;
  entry.identity = identity;
  entry.role = role;
  entry.public_key = keys.public_key;
  entry.feeds = std::move(feeds);
  entry.control_ids = std::move(control_ids);
  clients_.push_back(std::move(entry));
  WriteClients();
  return keys;
}

void DaemonProcess::RemoveClient(const std::string& identity) {
  std::erase_if(clients_, [&](const ClientEntry& c) { return c.identity == identity; });
  WriteClients();
}

CurveClientKeys DaemonProcess::UnknownClient() const { return NewKeys(server_keys_.public_key); }

void DaemonProcess::WriteClients() {
  const std::string tmp = dir_ + "/clients.toml.tmp";
  {
    std::ofstream out(tmp);
    for (const auto& c : clients_) {
      out << RenderClientEntry(c) << "\n";
    }
  }
  std::filesystem::rename(tmp, dir_ + "/clients.toml");
}

bool DaemonProcess::Start() { return Spawn() && AwaitReady(std::chrono::seconds(20)); }

bool DaemonProcess::Spawn() {
  if (config_path_.empty()) WriteConfig();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log_path = dir_ + "/daemon.log";
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // BW_DAEMON_PATH: another build of the daemon (before/after measurements, docs/ha.md).
  const char* other = std::getenv("BW_DAEMON_PATH");
  std::string bin = other != nullptr && *other != '\0' ? other : BREACHWATCHD_PATH;
  std::vector<std::string> args = {bin, "--config", config_path_, "--log-level", "debug"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    if (!env_.count(kv.substr(0, kv.find('=')))) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& kv : env_strings) envp.push_back(kv.data());
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  return true;
}

int DaemonProcess::AwaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

bool DaemonProcess::AwaitReady(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    ControlClient client(ctx_, control_endpoint_, 200, admin_keys_);
    auto r = client.Call("status", {{"officer_id", "test-harness"}, {"reason", "readiness"}});
    // Serving: not a warm standby (which answers status too, docs/ha.md).
    if (r.ok() && r->contains("ok") && r->at("ok").as_bool()) {
      const auto* ha = r->if_contains("ha");
      const auto* role = ha && ha->is_object() ? ha->as_object().if_contains("role") : nullptr;
      if (role == nullptr || !role->is_string() || role->as_string() != "standby") return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int DaemonProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill9();
  return -1;
}

void DaemonProcess::Signal(int signo) {
  if (pid_ > 0) kill(pid_, signo);
}

void DaemonProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string DaemonProcess::log() const {
  std::ifstream in(dir_ + "/daemon.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

zmq::socket_t& DaemonProcess::FeedSocket(const std::string& feed) {
  auto it = feed_sockets_.find(feed);
  if (it != feed_sockets_.end()) return *it->second;
  auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::xpub);
  s->set(zmq::sockopt::linger, 2000);
  s->set(zmq::sockopt::sndhwm, 0);
  if (curve_) {
    auto k = feed_keys_.find(feed);
    ApplyCurveClient(*s, k != feed_keys_.end() ? k->second : feed_all_keys_);
  }
  s->bind(feed_endpoints_.at(feed));
  // Wait for the daemon's subscription so nothing is lost to the slow-joiner window.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    zmq::pollitem_t item{s->handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(50));
    zmq::message_t m;
    if ((item.revents & ZMQ_POLLIN) && s->recv(m, zmq::recv_flags::dontwait) && m.size() > 0 &&
        m.data<char>()[0] == 1) {
      break;
    }
  }
  return *(feed_sockets_[feed] = std::move(s));
}

void DaemonProcess::Publish(const std::string& feed, const std::string& payload) {
  PublishFrames(feed, {feed, payload});
}

void DaemonProcess::PublishFrames(const std::string& feed, const std::vector<std::string>& frames) {
  zmq::socket_t& s = FeedSocket(feed);
  for (size_t i = 0; i < frames.size(); ++i) {
    s.send(zmq::buffer(frames[i]),
           i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

bool DaemonProcess::AwaitFeedSubscription(const std::string& feed,
                                          std::chrono::milliseconds timeout) {
  auto it = feed_sockets_.find(feed);
  if (it == feed_sockets_.end()) {
    FeedSocket(feed);  // binds and waits for the subscription itself
    return true;
  }
  zmq::socket_t& s = *it->second;
  // Pass every subscription on, even one the killed daemon's pipe still holds.
  s.set(zmq::sockopt::xpub_verbose, 1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(50));
    zmq::message_t m;
    if ((item.revents & ZMQ_POLLIN) && s.recv(m, zmq::recv_flags::dontwait) && m.size() > 0 &&
        m.data<char>()[0] == 1) {
      return true;
    }
  }
  return false;
}

boost::json::object DaemonProcess::Call(const std::string& op, boost::json::object body) {
  return CallAs(admin_keys_, op, std::move(body));
}

boost::json::object DaemonProcess::CallAs(const CurveClientKeys& keys, const std::string& op,
                                          boost::json::object body, int timeout_ms) {
  if (!body.contains("officer_id")) body["officer_id"] = "MP-TEST01";
  if (!body.contains("reason")) body["reason"] = "integration test";
  ControlClient client(ctx_, control_endpoint_, timeout_ms, keys);
  auto r = client.Call(op, body);
  if (!r.ok()) return {{"ok", false}, {"transport_error", r.status().ToString()}};
  return *r;
}

std::vector<boost::json::object> DaemonProcess::AlertsSince(int64_t after) {
  std::vector<boost::json::object> out;
  for (;;) {
    auto r = Call("alerts.since", {{"seq", after}});
    if (!r.contains("alerts")) break;
    for (const auto& a : r.at("alerts").as_array()) {
      out.push_back(a.as_object());
      after = a.at("seq").to_number<int64_t>();
    }
    if (!r.at("more").as_bool()) break;
  }
  return out;
}

std::unique_ptr<zmq::socket_t> DaemonProcess::Subscribe(const std::string& topic) {
  return SubscribeAs(admin_keys_, topic);
}

std::vector<std::vector<std::string>> DaemonProcess::StoreRows(
    const std::string& sql, const std::vector<std::string>& params) const {
  std::vector<std::vector<std::string>> rows;
  sqlite3* db = nullptr;
  const std::string path = dir_ + "/breachwatch.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* v = sqlite3_column_text(st, i);
        row.emplace_back(v ? reinterpret_cast<const char*>(v) : "");
      }
      rows.push_back(std::move(row));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::vector<std::string> DaemonProcess::AuditRows(const std::string& op) const {
  std::vector<std::string> rows;
  for (const auto& r : StoreRows("SELECT actor, subjects, outcome, detail FROM audit_log "
                                 "WHERE op = ?1 ORDER BY rowid",
                                 {op})) {
    rows.push_back(r[0] + "|" + r[1] + "|" + r[2] + "|" + r[3]);
  }
  return rows;
}

std::vector<DaemonProcess::DeadLetter> DaemonProcess::DeadLetters() const {
  std::vector<DeadLetter> out;
  for (const auto& r : StoreRows("SELECT channel, reason, detail, length(payload) FROM inbound "
                                 "WHERE result = 'rejected' ORDER BY rowid_")) {
    out.push_back({r[0], r[1], r[2], std::stoll(r[3])});
  }
  return out;
}

std::unique_ptr<zmq::socket_t> DaemonProcess::SubscribeAs(const CurveClientKeys& keys,
                                                          const std::string& topic) {
  auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::sub);
  s->set(zmq::sockopt::linger, 0);
  ApplyCurveClient(*s, keys);
  s->set(zmq::sockopt::subscribe, topic);
  s->connect(alerts_endpoint_);
  return s;
}

std::optional<boost::json::object> DaemonProcess::Receive(zmq::socket_t& sub,
                                                          std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(sub, std::back_inserter(frames), zmq::recv_flags::dontwait) ||
      frames.size() != 2) {
    return std::nullopt;
  }
  boost::json::error_code ec;
  auto v = boost::json::parse(frames[1].to_string(), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

ReplayServer::ReplayServer(zmq::context_t& ctx, const std::string& endpoint)
    : socket_(ctx, zmq::socket_type::router) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind(endpoint);
  thread_ = std::thread([this] { Serve(); });
}

ReplayServer::~ReplayServer() {
  stop_ = true;
  thread_.join();
}

void ReplayServer::Store(int64_t seq, const std::string& event) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.emplace_back(seq, event);
}

void ReplayServer::Serve() {
  while (!stop_) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(20));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait) ||
        frames.size() < 3) {
      continue;
    }
    ++requests_;
    auto req = boost::json::parse(frames.back().to_string()).as_object();
    int64_t from = req.at("from_seq").to_number<int64_t>();
    std::string body = "{\"events\":[";
    int n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [seq, ev] : events_) {
        if (seq < from || n >= 1000) continue;
        body += (n++ ? "," : "") + ev;
      }
    }
    body += "]}";
    // [identity][empty][topic][body]
    socket_.send(frames[0], zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string()), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string("replay")), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
  }
}

}  // namespace bw::testing
