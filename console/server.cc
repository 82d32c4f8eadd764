#include "console/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "handlers/base/time_util.h"
#include "tools/history_doc.h"

namespace bw::console {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------------------------------------
// ConsoleAudit

Status ConsoleAudit::Open(const std::string& path) {
  std::lock_guard lock(mu_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return Status::BadInput("audit.file", "cannot open " + path + ": " + std::strerror(errno));
  }
  path_ = path;
  return Status::Ok();
}

void ConsoleAudit::Write(const std::string& event, const std::string& username,
                         const std::string& identity, const std::string& client,
                         const std::string& detail, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now - last_sweep_ >= std::chrono::seconds(1)) Sweep(now);
  if (event != "login" && event != "logout") {
    const std::string key = event + "|" + client;
    auto it = throttle_.find(key);
    if (it == throttle_.end()) it = throttle_.emplace(key, Throttle{.window_start = now}).first;
    if (it->second.written >= kBurst) {
      ++it->second.suppressed;
      return;
    }
    ++it->second.written;
  }
  Append(event, username, identity, client, detail);
}

void ConsoleAudit::Sweep(Clock::time_point now) {
  last_sweep_ = now;
  for (auto it = throttle_.begin(); it != throttle_.end();) {
    if (now - it->second.window_start < kWindow) {
      ++it;
      continue;
    }
    if (it->second.suppressed > 0) {
      const auto bar = it->first.find('|');
      Append(it->first.substr(0, bar), "", "", it->first.substr(bar + 1),
             std::to_string(it->second.suppressed) + " more " + it->first.substr(0, bar) +
                 " event(s) from this client within " + std::to_string(kWindow.count()) +
                 " s, not written one by one");
    }
    it = throttle_.erase(it);
  }
}

void ConsoleAudit::Append(const std::string& event, const std::string& username,
                          const std::string& identity, const std::string& client,
                          const std::string& detail) {
  json::object o;
  o["at"] = FormatRfc3339(SystemClock().Now());
  o["event"] = event;
  if (!username.empty()) o["username"] = username;
  if (!identity.empty()) o["identity"] = identity;
  o["client"] = client;
  if (!detail.empty()) o["detail"] = detail;
  std::string line = json::serialize(o) + "\n";
  spdlog::info("console event: {}", json::serialize(o));
  if (fd_ < 0) return;
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    spdlog::error("console events: cannot write {}: {}", path_, std::strerror(errno));
    return;
  }
  ::fdatasync(fd_);
}

// ---------------------------------------------------------------------------------------------
// Helpers.

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr const char* kCookieName = "bw_session";

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(s[i + 1]) &&
               std::isxdigit(s[i + 2])) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t amp = s.find('&', pos);
    std::string_view part = s.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    size_t eq = part.find('=');
    if (!part.empty()) {
      out[UrlDecode(part.substr(0, eq))] =
          eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::string CookieValue(const Request& req, std::string_view name) {
  auto it = req.find(http::field::cookie);
  if (it == req.end()) return "";
  std::string_view all = it->value();
  size_t pos = 0;
  while (pos < all.size()) {
    size_t semi = all.find(';', pos);
    std::string_view part = all.substr(pos, semi == std::string_view::npos ? semi : semi - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.starts_with(name) && part.size() > name.size() && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  return "";
}

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ContentType(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".json" || ext == ".geojson") return "application/json";
  return "application/octet-stream";
}

// The origin (scheme://host[:port]) of a URL template, for the CSP; "" when none.
std::string Origin(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  auto slash = url.find('/', scheme + 3);
  std::string origin = url.substr(0, slash);
  // A {s} subdomain template: allow every subdomain.
  auto brace = origin.find("{s}.");
  if (brace != std::string::npos) origin.replace(brace, 3, "*");
  return origin;
}

int64_t SeqOf(const json::object& alert) {
  const auto* s = alert.if_contains("seq");
  return s && s->is_int64() ? s->get_int64() : 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct ConsoleServer::Impl {
  Impl(ConsoleConfig c, DaemonLink& d, ConsoleAudit& a)
      : config(std::move(c)),
        daemon(d),
        audit(a),
        sessions(std::chrono::seconds(config.session_idle_s),
                 std::chrono::seconds(config.session_max_s)),
        user_limiter(static_cast<int>(config.max_failures),
                     std::chrono::seconds(config.failure_window_s)),
        client_limiter(static_cast<int>(config.max_failures * kClientFailureFactor),
                       std::chrono::seconds(config.failure_window_s)) {}

  // A client address may fail this many times more than one username: browsers behind one
  // proxy or NAT share an address, a password-spraying client does not get far.
  static constexpr int64_t kClientFailureFactor = 4;
  // Longer usernames are cut before they are counted or written to the event file.
  static constexpr size_t kMaxUsername = 128;

  ConsoleConfig config;
  DaemonLink& daemon;
  ConsoleAudit& audit;
  SessionStore sessions;
  UsersFile users_file{config.users_file};
  LoginLimiter user_limiter;    // failed logins per username
  LoginLimiter client_limiter;  // failed logins per client address
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls;
  std::string zones_json;
  std::string dummy_hash;  // verified against for unknown usernames: same cost as a real one
  std::mutex verify_mu;    // serialises password checks
  std::string csp;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};

  // --- responses ---

  void Common(Response& res, const Request& req) {
    res.version(req.version());
    res.set(http::field::server, "breachwatch-console");
    res.set("Content-Security-Policy", csp);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    // same-origin: no referrer leaves the console, and a same-origin POST carries its Origin
    // (with no-referrer, browsers send "Origin: null", which SameOrigin refuses).
    res.set("Referrer-Policy", "same-origin");
    if (!res.count(http::field::cache_control)) res.set(http::field::cache_control, "no-store");
    if (tls) res.set("Strict-Transport-Security", "max-age=31536000");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
  }

  Response Make(const Request& req, http::status status, std::string type, std::string body) {
    Response res{status, req.version()};
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    Common(res, req);
    return res;
  }

  Response Json(const Request& req, http::status status, const json::value& v) {
    return Make(req, status, "application/json", json::serialize(v));
  }

  Response Error(const Request& req, http::status status, const std::string& message) {
    return Json(req, status, json::object{{"ok", false}, {"error", message}});
  }

  Response Redirect(const Request& req, const std::string& location,
                    const std::string& cookie = "") {
    Response res{http::status::see_other, req.version()};
    res.set(http::field::location, location);
    if (!cookie.empty()) res.set(http::field::set_cookie, cookie);
    Common(res, req);
    return res;
  }

  Response DaemonError(const Request& req, const Status& s) {
    http::status code = http::status::bad_gateway;
    if (s.code() == ErrorCode::kBadInput) code = http::status::bad_request;
    if (s.code() == ErrorCode::kNotFound) code = http::status::not_found;
    if (s.code() == ErrorCode::kForbidden) code = http::status::forbidden;
    if (s.code() == ErrorCode::kUnavailable) code = http::status::service_unavailable;
    return Error(req, code, "breachwatchd: " + s.message());
  }

  Response StaticFile(const Request& req, const std::string& dir, const std::string& rel,
                      bool cache) {
    if (rel.empty() || rel.find("..") != std::string::npos || rel.front() == '/') {
      return Make(req, http::status::not_found, "text/plain", "not found\n");
    }
    auto body = ReadFile(dir + "/" + rel);
    if (!body) return Make(req, http::status::not_found, "text/plain", "not found\n");
    Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, ContentType(rel));
    if (cache) res.set(http::field::cache_control, "private, max-age=3600");
    res.body() = std::move(*body);
    Common(res, req);
    return res;
  }

  Response Page(const Request& req, const std::string& name) {
    return StaticFile(req, config.static_dir, name, false);
  }

  // --- sessions ---

  // The request's session, if it is live and its user is still in the users file with the same
  // identity and role: removing a user (or changing their role) ends their sessions at their
  // next request.
  std::optional<Session> CurrentSession(const Request& req) {
    std::string token = CookieValue(req, kCookieName);
    if (token.empty()) return std::nullopt;
    auto s = sessions.Find(token, Clock::now());
    if (s && !StillGranted(*s)) {
      sessions.Remove(token);
      return std::nullopt;
    }
    return s;
  }

  bool StillGranted(const Session& s) {
    auto users = users_file.Get();
    if (!users.ok()) return false;
    for (const auto& u : **users) {
      if (u.username == s.user.username) return SameGrant(s.user, u);
    }
    return false;
  }

  std::string SessionCookie(const std::string& token, int64_t max_age) {
    return std::string(kCookieName) + "=" + token + "; Path=/; Max-Age=" + std::to_string(max_age) +
           "; HttpOnly; Secure; SameSite=Strict";
  }

  Response Login(const Request& req, const std::string& client) {
    auto form = ParseForm(req.body());
    std::string username = Trim(form["username"]);
    const bool too_long = username.size() > kMaxUsername;  // no such user: cut for the records
    if (too_long) username.resize(kMaxUsername);
    const std::string& password = form["password"];
    const auto now = Clock::now();
    if (user_limiter.Blocked(username, now) || client_limiter.Blocked(client, now)) {
      audit.Write("login_rate_limited", username, "", client,
                  "too many failed logins for this username or address within " +
                      std::to_string(config.failure_window_s) + " s; refused without checking");
      return Make(req, http::status::too_many_requests, "text/html; charset=utf-8",
                  "<!doctype html><title>Too many failed logins</title><p>Too many failed "
                  "logins. Try again later, or ask an administrator.</p>");
    }
    auto users = users_file.Get();
    if (!users.ok()) {
      spdlog::error("login refused: {}", users.status().ToString());
      return Make(req, http::status::service_unavailable, "text/plain",
                  "the users file cannot be read; see the console's log\n");
    }
    const User* found = nullptr;
    for (const auto& u : **users) {
      if (!too_long && u.username == username) found = &u;
    }
    bool ok = false;
    {
      // One argon2id check at a time (64 MiB each): a flood of logins queues here instead of
      // exhausting memory.
      std::lock_guard lock(verify_mu);
      ok = VerifyPassword(found ? found->password_hash : dummy_hash, password) && found;
    }
    if (!ok) {
      user_limiter.RecordFailure(username, now);
      client_limiter.RecordFailure(client, now);
      audit.Write("login_failed", username, "", client,
                  found ? "wrong password" : "unknown username");
      return Redirect(req, "/login?error=failed");
    }
    user_limiter.Reset(username);
    Session s = sessions.Create(*found, now);
    audit.Write("login", found->username, found->identity, client,
                std::string("role ") + RoleName(found->role));
    return Redirect(req, "/", SessionCookie(s.token, config.session_max_s));
  }

  // True without an Origin header (not a browser, or an old one: the CSRF token still guards),
  // or when the Origin's host:port is the Host the request was sent to.
  static bool SameOrigin(const Request& req) {
    auto origin = req.find(http::field::origin);
    if (origin == req.end()) return true;
    std::string_view o = origin->value();
    auto scheme = o.find("://");
    if (scheme == std::string_view::npos) return false;  // "null" and the like
    auto host = req.find(http::field::host);
    return host != req.end() && o.substr(scheme + 3) == host->value();
  }

  bool CsrfOk(const Request& req, const Session& s) {
    auto it = req.find("X-CSRF-Token");
    return it != req.end() && TokensEqual(std::string(it->value()), s.csrf);
  }

  // --- daemon calls on behalf of the user ---

  Result<json::object> Ask(const Session& s, const std::string& op, json::object body,
                           const std::string& reason) {
    return daemon.Call(op, std::move(body), s.user.identity, reason);
  }

  // Every open alert (alerts.open, following its pages), at most kMaxOpenAlertPages pages: the
  // reply's `more` says the list was cut there.
  static constexpr int kMaxOpenAlertPages = 20;
  Result<json::object> AskOpenAlerts(const Session& s, json::object body,
                                     const std::string& reason) {
    json::array alerts;
    body["limit"] = 1000;
    for (int page = 0; page < kMaxOpenAlertPages; ++page) {
      auto reply = Ask(s, "alerts.open", body, reason);
      if (!reply.ok()) return reply.status();
      if (const auto* got = reply->if_contains("alerts"); got && got->is_array()) {
        for (auto& a : got->get_array()) alerts.push_back(a);
      }
      const auto* more = reply->if_contains("more");
      const auto* next = reply->if_contains("next");
      if (!more || !more->is_bool() || !more->get_bool() || !next || !next->is_string()) {
        return json::object{{"alerts", std::move(alerts)}, {"more", false}};
      }
      body["cursor"] = next->get_string();
    }
    return json::object{{"alerts", std::move(alerts)}, {"more", true}};
  }

  Result<int64_t> HeadSeq(const Session& s, const std::string& reason) {
    auto st = Ask(s, "status", {}, reason);
    if (!st.ok()) return st.status();
    const auto* counts = st->if_contains("counts");
    if (counts && counts->is_object()) {
      if (const auto* last = counts->get_object().if_contains("last_alert_seq");
          last && last->is_int64()) {
        return last->get_int64();
      }
    }
    return int64_t{0};
  }

  // The open alert `alert_id` if this user may see it.
  Result<json::object> OpenAlertFor(const Session& s, const std::string& alert_id,
                                    const std::string& reason) {
    auto open = AskOpenAlerts(s, {}, reason);
    if (!open.ok()) return open.status();
    for (const auto& a : open->at("alerts").as_array()) {
      const auto& o = a.as_object();
      const auto* id = o.if_contains("alert_id");
      if (id && id->is_string() && id->get_string() == alert_id) {
        if (!MaySeeAlert(s.user, o)) return Status::Forbidden("not an alert you may act on");
        return o;
      }
    }
    return Status::NotFound("no open alert " + alert_id);
  }

  json::array VisibleAlerts(const Session& s, const json::object& reply) {
    json::array out;
    if (const auto* alerts = reply.if_contains("alerts"); alerts && alerts->is_array()) {
      for (const auto& a : alerts->get_array()) {
        if (a.is_object() && MaySeeAlert(s.user, a.get_object())) out.push_back(a);
      }
    }
    return out;
  }

  Result<json::object> JsonBody(const Request& req) {
    json::error_code ec;
    auto v = json::parse(req.body(), ec);
    if (ec || !v.is_object()) return Status::BadInput("body", "must be a JSON object");
    return v.as_object();
  }

  static std::string Field(const json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? Trim(std::string(v->get_string())) : "";
  }

  // --- the routes of a logged-in user ---

  Response Api(const Request& req, const Session& s, const std::string& path,
               std::map<std::string, std::string>& query, const std::string& client) {
    const bool post = req.method() == http::verb::post;
    auto forbid = [&](Area area) -> std::optional<Response> {
      if (MayUse(s.user, area)) return std::nullopt;
      audit.Write(
          "forbidden", s.user.username, s.user.identity, client,
          std::string(req.method_string()) + " " + path + ": role " + RoleName(s.user.role));
      return Error(req, http::status::forbidden,
                   std::string("the role ") + RoleName(s.user.role) + " may not use this page");
    };
    if (path == "/api/session" && !post) {
      json::object o{{"username", s.user.username},
                     {"identity", s.user.identity},
                     {"role", RoleName(s.user.role)},
                     {"csrf", s.csrf},
                     {"code_property", config.zones_code_property},
                     {"name_property", config.zones_name_property},
                     {"may_see_reports", MayUse(s.user, Area::kReports)}};
      if (!config.tile_url.empty()) {
        o["tile_url"] = config.tile_url;
        o["tile_attribution"] = config.tile_attribution;
      }
      return Json(req, http::status::ok, o);
    }
    if (path == "/api/zones" && !post) {
      Response res = Make(req, http::status::ok, "application/json", zones_json);
      res.set(http::field::cache_control, "private, max-age=3600");
      return res;
    }
    if (path == "/api/queue" && !post) {
      const std::string reason = "breachwatch-console: open alert queue";
      auto head = HeadSeq(s, reason);
      if (!head.ok()) return DaemonError(req, head.status());
      auto open = AskOpenAlerts(s, {}, reason);
      if (!open.ok()) return DaemonError(req, open.status());
      return Json(req, http::status::ok,
                  json::object{{"ok", true},
                               {"head_seq", *head},
                               {"alerts", VisibleAlerts(s, *open)},
                               {"truncated", open->at("more")}});
    }
    if (path == "/api/alert" && !post) {
      int64_t seq = 0;
      try {
        seq = std::stoll(query["seq"]);
      } catch (...) {
      }
      if (seq < 1) return Error(req, http::status::bad_request, "seq: a positive integer");
      auto r = Ask(s, "alerts.since", {{"seq", seq - 1}},
                   "breachwatch-console: alert " + std::to_string(seq) + " on the map");
      if (!r.ok()) return DaemonError(req, r.status());
      for (const auto& a : r->at("alerts").as_array()) {
        if (SeqOf(a.as_object()) != seq) break;
        if (!MaySeeAlert(s.user, a.as_object())) {
          audit.Write("forbidden", s.user.username, s.user.identity, client,
                      "alert " + std::to_string(seq) + ": not sent to this user");
          return Error(req, http::status::forbidden, "not an alert you may see");
        }
        return Json(req, http::status::ok, json::object{{"ok", true}, {"alert", a}});
      }
      return Error(req, http::status::not_found, "no alert " + std::to_string(seq));
    }
    if ((path == "/api/ack" || path == "/api/resolve") && post) {
      auto body = JsonBody(req);
      if (!body.ok()) return Error(req, http::status::bad_request, body.status().ToString());
      const std::string alert_id = Field(*body, "alert_id");
      if (alert_id.empty()) return Error(req, http::status::bad_request, "alert_id: required");
      const bool ack = path == "/api/ack";
      auto alert = OpenAlertFor(s, alert_id,
                                "breachwatch-console: checking alert " + alert_id + " before " +
                                    (ack ? "acknowledging" : "resolving"));
      if (!alert.ok()) {
        if (alert.status().code() == ErrorCode::kForbidden) {
          audit.Write("forbidden", s.user.username, s.user.identity, client,
                      path + " " + alert_id + ": " + alert.status().message());
        }
        return DaemonError(req, alert.status());
      }
      json::object request{{"alert_id", alert_id}};
      // A control-room user acts for the control room that received the alert.
      if (std::string room = ControlIdReceiving(s.user, *alert); !room.empty()) {
        request["control_id"] = room;
      }
      std::string reason = "acknowledged from the control-room console";
      if (!ack) {
        const std::string outcome = Field(*body, "outcome");
        const std::string note = Field(*body, "note");
        if (outcome.empty()) return Error(req, http::status::bad_request, "outcome: required");
        if (outcome == "no_action" && note.empty()) {
          return Error(req, http::status::bad_request,
                       "note: required with outcome no_action (say why nothing was done)");
        }
        request["outcome"] = outcome;
        if (!note.empty()) request["note"] = note;
        reason = "outcome recorded from the control-room console";
      }
      auto r = Ask(s, ack ? "alert.ack" : "alert.resolve", std::move(request), reason);
      if (!r.ok()) return DaemonError(req, r.status());
      return Json(req, http::status::ok, *r);
    }
    if (path == "/api/person" && post) {
      auto body = JsonBody(req);
      if (!body.ok()) return Error(req, http::status::bad_request, body.status().ToString());
      const std::string person = Field(*body, "person_id");
      const std::string reason = Field(*body, "reason");
      if (person.empty()) return Error(req, http::status::bad_request, "person_id: required");
      if (reason.empty()) {
        return Error(req, http::status::bad_request,
                     "reason: required. Say why you need this person's record; it goes in the "
                     "audit log with your identity.");
      }
      json::object cond_req{{"person_id", person}};
      if (auto at = Field(*body, "at_time"); !at.empty()) cond_req["at_time"] = at;
      auto conditions = Ask(s, "conditions.person", std::move(cond_req), reason);
      if (!conditions.ok()) return DaemonError(req, conditions.status());
      json::object out{{"ok", true}, {"person_id", person}, {"conditions", *conditions}};
      const auto* with_history = body->if_contains("history");
      if (!with_history || !with_history->is_bool() || with_history->get_bool()) {
        json::object history_req{{"person_id", person}};
        // A protected person's own record is for control rooms (protocol 9.3): the daemon lets
        // the console's key read it for a control-room user, who is named by a control id.
        if (s.user.role == Role::kControlRoom && !s.user.control_ids.empty()) {
          history_req["control_id"] = s.user.control_ids.front();
        }
        auto history = Ask(s, "history.person", std::move(history_req), reason);
        if (!history.ok()) return DaemonError(req, history.status());
        out["document_html"] = HistoryHtml(*history);
        out["history"] = std::move(*history);
      }
      return Json(req, http::status::ok, out);
    }
    if (path == "/api/unactioned" && !post) {
      if (auto r = forbid(Area::kReports)) return *r;
      int64_t older = config.unactioned_after_s;
      try {
        if (!query["older_than_s"].empty()) older = std::stoll(query["older_than_s"]);
      } catch (...) {
        return Error(req, http::status::bad_request, "older_than_s: an integer");
      }
      auto open = AskOpenAlerts(s, {{"older_than_s", older}},
                                "breachwatch-console: no record of action taken report");
      if (!open.ok()) return DaemonError(req, open.status());
      return Json(req, http::status::ok,
                  json::object{{"ok", true},
                               {"older_than_s", older},
                               {"alerts", VisibleAlerts(s, *open)},
                               {"truncated", open->at("more")}});
    }
    if (path == "/api/status" && !post) {
      if (auto r = forbid(Area::kHealth)) return *r;
      auto st = Ask(s, "status", {}, "breachwatch-console: feed health");
      if (!st.ok()) return DaemonError(req, st.status());
      return Json(req, http::status::ok, *st);
    }
    if (path == "/logout" && post) {
      sessions.Remove(s.token);
      audit.Write("logout", s.user.username, s.user.identity, client, "");
      Response res = Json(req, http::status::ok, json::object{{"ok", true}});
      res.set(http::field::set_cookie, SessionCookie("", 0));
      return res;
    }
    if (!post) {
      if (path == "/") return Page(req, "queue.html");
      if (path == "/map") return Page(req, "map.html");
      if (path == "/person") return Page(req, "person.html");
      if (path == "/reports") {
        if (!MayUse(s.user, Area::kReports)) {
          audit.Write("forbidden", s.user.username, s.user.identity, client,
                      "GET /reports: role " + std::string(RoleName(s.user.role)));
          return Make(req, http::status::forbidden, "text/html; charset=utf-8",
                      "<!doctype html><title>Not for your role</title><p>The reports are for "
                      "control rooms and administrators. <a href=\"/\">Back to the queue</a>.");
        }
        return Page(req, "reports.html");
      }
    }
    return Make(req, http::status::not_found, "text/plain", "not found\n");
  }

  // --- the live queue: Server-Sent Events ---

  template <class Stream>
  void Events(Stream& stream, const Request& req, const Session& s,
              std::map<std::string, std::string>& query) {
    int64_t since = -1;
    auto parse = [](std::string_view v) -> int64_t {
      try {
        return std::stoll(std::string(v));
      } catch (...) {
        return -1;
      }
    };
    if (auto it = req.find("Last-Event-ID"); it != req.end()) since = parse(it->value());
    if (since < 0 && !query["since"].empty()) since = parse(query["since"]);
    const std::string reason = "breachwatch-console: live alert queue";
    uint64_t generation = daemon.generation();
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    http::write_header(stream, sr, ec);
    if (ec) return;
    auto send = [&](const std::string& text) {
      net::write(stream, net::buffer(text), ec);
      return !ec;
    };
    if (!send("retry: 1000\n\n")) return;
    int daemon_ok = -1;  // unknown
    // Tells the page when the daemon stops or starts answering.
    auto report = [&](const Status& st) {
      const int now_ok = st.ok() ? 1 : 0;
      if (now_ok == daemon_ok) return true;
      daemon_ok = now_ok;
      json::object state{{"ok", st.ok()}};
      if (!st.ok()) state["message"] = st.message();
      return send("event: daemon\ndata: " + json::serialize(state) + "\n\n");
    };
    while (!stopping) {
      generation = daemon.generation();
      // Without a starting point, start at the daemon's newest alert (never at 0, which would
      // replay the whole history as if it were new): wait for the daemon if it is not answering.
      bool more = true;
      if (since < 0) {
        auto head = HeadSeq(s, reason);
        if (!report(head.ok() ? Status::Ok() : head.status())) return;
        if (head.ok()) since = *head;
        more = head.ok();
      }
      while (more) {
        more = false;
        auto r = Ask(s, "alerts.since", {{"seq", since}}, reason);
        if (!report(r.ok() ? Status::Ok() : r.status())) return;
        if (!r.ok()) break;
        for (const auto& a : r->at("alerts").as_array()) {
          const auto& alert = a.as_object();
          since = std::max(since, SeqOf(alert));
          std::string frame = "id: " + std::to_string(SeqOf(alert)) + "\n";
          if (MaySeeAlert(s.user, alert)) {
            frame += "event: alert\ndata: " + json::serialize(alert) + "\n";
          }
          if (!send(frame + "\n")) return;
        }
        const auto* m = r->if_contains("more");
        more = m && m->is_bool() && m->get_bool();
      }
      // Wait for a doorbell, a poll, or send a keep-alive comment (which also notices a browser
      // that went away).
      const auto deadline = Clock::now() + std::chrono::seconds(config.poll_interval_s);
      while (!stopping && Clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        uint64_t now_gen =
            daemon.WaitForNews(generation, std::min(left, std::chrono::milliseconds(15000)));
        if (now_gen != generation) break;
        if (!send(": keep-alive\n\n")) return;
      }
      // Logged out, expired, or removed from the users file.
      if (!sessions.Find(s.token, Clock::now()) || !StillGranted(s)) return;
    }
  }

  // --- one request ---

  // Writes the response; false when the connection must close.
  template <class Stream>
  bool Handle(Stream& stream, Request& req, const std::string& client) {
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    std::map<std::string, std::string> query;
    if (auto q = target.find('?'); q != std::string::npos) query = ParseForm(target.substr(q + 1));
    const bool post = req.method() == http::verb::post;
    auto reply = [&](Response res) {
      beast::error_code ec;
      http::write(stream, res, ec);
      return !ec && res.keep_alive();
    };
    if (req.method() != http::verb::get && !post) {
      return reply(Make(req, http::status::method_not_allowed, "text/plain", "GET or POST\n"));
    }
    // A browser names the page a POST comes from: one from another site is refused, the login
    // form included (it has no session, so no CSRF token, yet).
    if (post && !SameOrigin(req)) {
      audit.Write("csrf_refused", "", "", client,
                  "POST " + path + " from another origin: " +
                      std::string(req[http::field::origin]).substr(0, 200));
      return reply(Error(req, http::status::forbidden, "cross-origin request refused"));
    }
    // Open to everyone: the login page and the code and styles (no data in them).
    if (path == "/login" && !post) return reply(Page(req, "login.html"));
    if (path == "/login" && post) return reply(Login(req, client));
    if (path.starts_with("/static/")) {
      return reply(StaticFile(req, config.static_dir, path.substr(8), true));
    }
    if (path.starts_with("/leaflet/")) {
      return reply(StaticFile(req, config.leaflet_dir, path.substr(9), true));
    }
    auto session = CurrentSession(req);
    const bool api = path.starts_with("/api/") || path == "/events" || post;
    if (!session) {
      if (!api) return reply(Redirect(req, "/login"));
      audit.Write("unauthenticated", "", "", client,
                  std::string(req.method_string()) + " " + path + ": no valid session");
      return reply(Error(req, http::status::unauthorized, "log in first"));
    }
    if (post && !CsrfOk(req, *session)) {
      audit.Write("csrf_refused", session->user.username, session->user.identity, client,
                  "POST " + path + ": missing or wrong X-CSRF-Token");
      return reply(Error(req, http::status::forbidden, "missing or wrong CSRF token"));
    }
    if (path == "/events" && !post) {
      Events(stream, req, *session, query);
      return false;
    }
    return reply(Api(req, *session, path, query, client));
  }

  template <class Stream>
  void Converse(Stream& stream, const std::string& client) {
    beast::flat_buffer buffer;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(64 * 1024);
      beast::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      Request req = parser.release();
      if (!Handle(stream, req, client)) return;
    }
  }

  void Serve(tcp::socket socket) {
    struct Count {
      std::atomic<int>& n;
      ~Count() { --n; }
    } count{connections};
    beast::error_code ec;
    std::string client = socket.remote_endpoint(ec).address().to_string();
    // Time-outs on the blocking socket: an idle or stuck browser frees its thread.
    timeval tv{60, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (tls) {
      beast::ssl_stream<tcp::socket> stream(std::move(socket), *tls);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) return;
      Converse(stream, client);
      stream.shutdown(ec);
    } else {
      Converse(socket, client);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }
};

ConsoleServer::ConsoleServer(ConsoleConfig config, DaemonLink& daemon, ConsoleAudit& audit)
    : impl_(std::make_unique<Impl>(std::move(config), daemon, audit)) {}

ConsoleServer::~ConsoleServer() = default;

Status ConsoleServer::Listen() {
  Impl& m = *impl_;
  const ConsoleConfig& c = m.config;
  if (c.Tls()) {
    m.tls.emplace(ssl::context::tls_server);
    m.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    m.tls->use_certificate_chain_file(c.tls_certificate_file, ec);
    if (ec) {
      return Status::BadInput("http.tls_certificate_file",
                              c.tls_certificate_file + ": " + ec.message());
    }
    m.tls->use_private_key_file(c.tls_private_key_file, ssl::context::pem, ec);
    if (ec) {
      return Status::BadInput("http.tls_private_key_file",
                              c.tls_private_key_file + ": " + ec.message());
    }
  }
  for (const char* page : {"login.html", "queue.html", "app.js"}) {
    if (!std::filesystem::exists(c.static_dir + "/" + page)) {
      return Status::BadInput("http.static_dir", c.static_dir + " has no " + page);
    }
  }
  if (!std::filesystem::exists(c.leaflet_dir + "/leaflet.js")) {
    return Status::BadInput("http.leaflet_dir",
                            c.leaflet_dir + " has no leaflet.js (install libjs-leaflet)");
  }
  auto zones = ReadFile(c.zones_file);
  if (!zones) return Status::BadInput("map.zones_file", "cannot read " + c.zones_file);
  json::error_code jec;
  auto parsed = json::parse(*zones, jec);
  if (jec || !parsed.is_object()) {
    return Status::BadInput("map.zones_file", c.zones_file + ": not a GeoJSON object");
  }
  m.zones_json = std::move(*zones);
  auto dummy = HashPassword(RandomToken());
  if (!dummy.ok()) return dummy.status();
  m.dummy_hash = *dummy;
  std::string img = "'self' data:";
  if (!c.tile_url.empty()) img += " " + Origin(c.tile_url);
  m.csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src " +
          img + "; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

  std::string host = c.listen.substr(0, c.listen.rfind(':'));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  auto port = static_cast<unsigned short>(std::stoi(c.listen.substr(c.listen.rfind(':') + 1)));
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::BadInput("http.listen", "not an IP address: " + host);
  tcp::endpoint ep(address, port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(64, ec);
  if (ec) return Status::IoError("http.listen " + c.listen + ": " + ec.message());
  return Status::Ok();
}

std::string ConsoleServer::bound() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return "";
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

void ConsoleServer::Run() {
  Impl& m = *impl_;
  while (!m.stopping) {
    boost::system::error_code ec;
    tcp::socket socket(m.io);
    m.acceptor.accept(socket, ec);
    if (ec) {
      if (m.stopping) break;
      spdlog::warn("accept: {}", ec.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (m.connections.load() >= kMaxConnections) {
      spdlog::warn("{} connections open: refusing another", kMaxConnections);
      continue;  // the socket closes here
    }
    ++m.connections;
    std::thread([&m, s = std::move(socket)]() mutable {
      try {
        m.Serve(std::move(s));
      } catch (const std::exception& e) {
        spdlog::error("connection: {}", e.what());
      }
    }).detach();
  }
}

void ConsoleServer::Stop() {
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.cancel(ec);
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
}

}  // namespace bw::console
