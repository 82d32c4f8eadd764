// breachctl: the officer's and operator's command line for breachwatchd.
//
// Exit status: 0 success; 1 the daemon refused or reported an error;
// 2 usage error; 3 the daemon could not be reached.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "config/settings.h"
#include "daemon/audit_chain.h"
#include "daemon/client_allowlist.h"
#include "daemon/curve_keys.h"
#include "daemon/pg_store.h"
#include "handlers/base/time_util.h"
#include "tools/client.h"
#include "tools/history_doc.h"

namespace {

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

struct Globals {
  std::string config_path;
  std::string control = "tcp://127.0.0.1:7602";
  std::string alerts = "tcp://127.0.0.1:7601";
  std::string officer;
  std::string reason;
  int timeout_ms = 5000;
  bool json = false;
  std::string server_key;  // the daemon's public key file (security.mode curve)
  std::string client_key;  // this client's secret key file
  bw::CurveClientKeys keys;
};

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

std::string Pretty(const boost::json::value& v, int indent = 0) {
  std::string pad(indent, ' ');
  std::ostringstream out;
  if (v.is_object()) {
    out << "{\n";
    bool first = true;
    for (const auto& [k, val] : v.get_object()) {
      if (!first) out << ",\n";
      first = false;
      out << pad << "  " << boost::json::serialize(boost::json::string(k)) << ": "
          << Pretty(val, indent + 2);
    }
    out << "\n" << pad << "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    out << "[\n";
    bool first = true;
    for (const auto& val : v.get_array()) {
      if (!first) out << ",\n";
      first = false;
      out << pad << "  " << Pretty(val, indent + 2);
    }
    out << "\n" << pad << "]";
  } else {
    out << boost::json::serialize(v);
  }
  return out.str();
}

class Ctl {
 public:
  explicit Ctl(Globals g) : g_(std::move(g)), client_(ctx_, g_.control, g_.timeout_ms, g_.keys) {}

  // Calls op; prints errors; returns the reply or nullopt with *exit_code set.
  std::optional<boost::json::object> Call(const std::string& op, boost::json::object body,
                                          int* exit_code) {
    body["officer_id"] = g_.officer;
    body["reason"] = g_.reason;
    auto reply = client_.Call(op, body);
    if (!reply.ok()) {
      std::cerr << "breachctl: " << reply.status().ToString() << "\n";
      *exit_code = kExitUnreachable;
      return std::nullopt;
    }
    auto ok = reply->find("ok");
    if (ok == reply->end() || !ok->value().is_bool() || !ok->value().get_bool()) {
      std::string code = "error", message;
      if (auto e = reply->find("error"); e != reply->end() && e->value().is_object()) {
        const auto& eo = e->value().get_object();
        if (auto c = eo.find("code"); c != eo.end() && c->value().is_string())
          code = std::string(c->value().get_string());
        if (auto m = eo.find("message"); m != eo.end() && m->value().is_string())
          message = std::string(m->value().get_string());
      }
      std::cerr << "breachctl: " << op << " refused (" << code << "): " << message << "\n";
      *exit_code = kExitRefused;
      return std::nullopt;
    }
    *exit_code = 0;
    return std::move(*reply);
  }

  // Call() for a command that prints the reply as text: with --json the reply
  // is printed as it came and nullopt returned, with *exit_code 0.
  std::optional<boost::json::object> CallForText(const std::string& op, boost::json::object body,
                                                 int* exit_code) {
    auto reply = Call(op, std::move(body), exit_code);
    if (reply && g_.json) {
      std::cout << Pretty(*reply) << "\n";
      return std::nullopt;
    }
    return reply;
  }

  int Status() {
    int rc;
    auto r = CallForText("status", {}, &rc);
    if (!r) return rc;
    auto s = [&](const boost::json::value& v) { return boost::json::serialize(v); };
    std::cout << "breachwatchd " << (*r)["version"].as_string().c_str() << ", up "
              << s((*r)["uptime_s"]) << " s\n";
    const auto& store = (*r)["store"].as_object();
    std::cout << "store: " << store.at("path").as_string().c_str() << " ("
              << (store.at("healthy").as_bool() ? "healthy" : "DEGRADED") << ")\n";
    std::cout << "zones loaded: " << s((*r)["zones"]) << "\n";
    std::cout << "counts: " << s((*r)["counts"]) << "\n";
    for (const auto& f : (*r)["feeds"].as_array()) {
      const auto& fo = f.as_object();
      std::cout << "feed " << fo.at("name").as_string().c_str() << " "
                << fo.at("endpoint").as_string().c_str() << ": received " << s(fo.at("received"))
                << ", handled " << s(fo.at("handled")) << ", rejected " << s(fo.at("rejected"))
                << ", duplicates " << s(fo.at("duplicates")) << ", last seen "
                << (fo.at("last_seen_age_s").is_null() ? std::string("never")
                                                       : s(fo.at("last_seen_age_s")) + " s ago")
                << ", last seq " << s(fo.at("last_seq")) << "\n";
    }
    return 0;
  }

  int Conditions(const std::string& person, const std::string& at_time) {
    boost::json::object body{{"person_id", person}};
    if (!at_time.empty()) body["at_time"] = at_time;
    int rc;
    auto r = CallForText("conditions.person", body, &rc);
    if (!r) return rc;
    const auto& instruments = (*r)["instruments"].as_array();
    std::cout << person << " at " << (*r)["at_time"].as_string().c_str() << ": "
              << instruments.size() << " instrument(s) in force"
              << ((*r)["in_custody"].as_bool() ? ", IN CUSTODY" : "")
              << (r->contains("high_risk") && (*r)["high_risk"].is_bool() &&
                          (*r)["high_risk"].as_bool()
                      ? ", HIGH RISK"
                      : "")
              << ", "
              << boost::json::serialize((*r)["breach_count"]) << " breach(es) recorded\n";
    for (const auto& iv : instruments) PrintInstrument(iv.as_object(), false);
    return 0;
  }

  static void PrintInstrument(const boost::json::object& ins, bool show_subject) {
    auto str = [&](const char* k) {
      auto it = ins.find(k);
      return it != ins.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                        : std::string("-");
    };
    std::cout << "\n  " << str("instrument_id") << " (" << str("kind") << ")";
    if (show_subject) std::cout << " subject " << str("subject");
    std::cout << " case " << str("case_ref") << ", OIC " << str("oic") << ", owning control "
              << str("owning_control") << "\n  in force " << str("valid_from") << " until "
              << str("valid_until") << "\n";
    if (auto r = ins.find("risk"); r != ins.end() && r->value().is_object()) {
      std::cout << "  " << bw::FormatRisk(r->value()) << "\n";
    }
    if (auto c = ins.find("conditions"); c != ins.end() && c->value().is_array()) {
      for (const auto& cv : c->value().get_array()) {
        std::cout << "    - "
                  << (cv.is_object() ? bw::FormatCondition(cv.get_object())
                                     : boost::json::serialize(cv))
                  << "\n";
      }
    }
  }

  int Submit(const std::vector<std::string>& files) {
    std::vector<std::string> inputs = files.empty() ? std::vector<std::string>{"-"} : files;
    int worst = 0;
    for (const auto& f : inputs) {
      std::string text;
      if (f == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        text = ss.str();
      } else {
        std::ifstream in(f);
        if (!in) {
          std::cerr << "breachctl: cannot read " << f << "\n";
          return kExitUsage;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
      }
      auto docs = bw::ParseJsonDocuments(text);
      if (!docs.ok()) {
        std::cerr << "breachctl: " << f << ": " << docs.status().ToString() << "\n";
        return kExitUsage;
      }
      for (const auto& d : *docs) {
        int rc;
        auto r = Call("event.submit", {{"event", d}}, &rc);
        if (!r) {
          worst = std::max(worst, rc);
          continue;
        }
        std::cout << (*r)["result"].as_string().c_str() << ": " << (*r)["note"].as_string().c_str();
        for (const auto& a : (*r)["alerts"].as_array()) {
          std::cout << "\n  alert #" << boost::json::serialize(a.at("seq")) << " "
                    << a.at("kind").as_string().c_str();
        }
        std::cout << "\n";
      }
    }
    return worst;
  }

  int Protected(const std::string& person) {
    int rc;
    auto r = CallForText("conditions.protected", {{"person_id", person}}, &rc);
    if (!r) return rc;
    const auto& instruments = (*r)["instruments"].as_array();
    std::cout << person << " is protected by " << instruments.size() << " instrument(s) in force\n";
    for (const auto& iv : instruments) PrintInstrument(iv.as_object(), true);
    return 0;
  }

  // conditions.location is paged (docs/control.md): follows `next` until the end, or until `max`
  // conditions (0: no cap) have been printed, then says how to carry on.
  int Location(const std::string& at, const std::string& area, const std::string& at_time,
               int64_t page_size, int64_t max, const std::string& cursor) {
    boost::json::object body;
    if (!at.empty()) {
      auto comma = at.find(',');
      if (comma == std::string::npos) {
        std::cerr << "breachctl: --at is LON,LAT (e.g. -0.0268,51.4560)\n";
        return kExitUsage;
      }
      try {
        body["at"] = boost::json::array{std::stod(at.substr(0, comma)), std::stod(at.substr(comma + 1))};
      } catch (const std::exception&) {
        std::cerr << "breachctl: --at is LON,LAT (e.g. -0.0268,51.4560)\n";
        return kExitUsage;
      }
    }
    if (!area.empty()) body["area"] = area;
    if (!at_time.empty()) body["at_time"] = at_time;
    if (page_size > 0) body["limit"] = page_size;
    std::string next = cursor;
    boost::json::array all;
    boost::json::object last;
    for (;;) {
      if (!next.empty()) body["cursor"] = next;
      int rc;
      auto r = Call("conditions.location", body, &rc);
      if (!r) return rc;
      for (auto& cv : (*r)["conditions"].as_array()) all.push_back(std::move(cv));
      const bool more = r->contains("more") && r->at("more").as_bool();
      next = more ? std::string(r->at("next").as_string()) : "";
      last = std::move(*r);
      if (next.empty() || (max > 0 && static_cast<int64_t>(all.size()) >= max)) break;
    }
    if (g_.json) {
      last["conditions"] = std::move(all);
      last["more"] = !next.empty();
      if (next.empty()) {
        last.erase("next");
      } else {
        last["next"] = next;
      }
      std::cout << Pretty(last) << "\n";
      return 0;
    }
    std::cout << all.size() << " condition(s) forbid presence here"
              << (next.empty() ? "" : " (so far)") << "\n";
    for (const auto& cv : all) {
      const auto& c = cv.as_object();
      std::cout << "  " << c.at("subject").as_string().c_str() << " ("
                << c.at("instrument_id").as_string().c_str() << ", "
                << c.at("instrument_kind").as_string().c_str() << ", OIC "
                << c.at("oic").as_string().c_str() << ")"
                << (c.at("in_custody").as_bool() ? " IN CUSTODY" : "") << "\n    "
                << bw::FormatCondition(c.at("condition").as_object()) << "\n";
    }
    if (!next.empty()) std::cout << "(more: carry on with --cursor " << next << ")\n";
    return 0;
  }

  int History(const std::string& person, const std::string& format, const std::string& output) {
    int rc;
    auto r = Call("history.person", {{"person_id", person}}, &rc);
    if (!r) return rc;
    std::string doc;
    if (format == "json") {
      doc = Pretty(*r) + "\n";
    } else if (format == "md" || format == "markdown") {
      doc = bw::HistoryMarkdown(*r);
    } else if (format == "html") {
      doc = bw::HistoryHtml(*r);
    } else {
      std::cerr << "breachctl: --format is md, html or json\n";
      return kExitUsage;
    }
    if (output.empty() || output == "-") {
      std::cout << doc;
      return 0;
    }
    std::ofstream out(output);
    out << doc;
    if (!out) {
      std::cerr << "breachctl: cannot write " << output << "\n";
      return kExitUsage;
    }
    std::cerr << "wrote " << output << "\n";
    return 0;
  }

  int Open(const std::string& recipient, double older_than_h) {
    boost::json::object body;
    if (!recipient.empty()) body["recipient"] = recipient;
    if (older_than_h > 0) body["older_than_s"] = static_cast<int64_t>(older_than_h * 3600);
    // Every page (alerts.open is paged like conditions.location: docs/control.md).
    body["limit"] = 1000;
    boost::json::array alerts;
    for (;;) {
      int rc;
      auto r = Call("alerts.open", body, &rc);
      if (!r) return rc;
      for (auto& a : (*r)["alerts"].as_array()) alerts.push_back(a);
      const auto* next = r->if_contains("next");
      if (!(*r)["more"].as_bool() || !next || !next->is_string()) break;
      body["cursor"] = next->get_string();
    }
    if (g_.json) {
      for (const auto& a : alerts) std::cout << boost::json::serialize(a) << "\n";
      return 0;
    }
    for (const auto& a : alerts) {
      const auto& o = a.as_object();
      std::cout << bw::FormatAlert(o) << "\n    id " << o.at("alert_id").as_string().c_str()
                << (o.at("acked").as_bool()
                        ? std::string(", acknowledged by ") + o.at("acked_by").as_string().c_str()
                        : std::string(", NOT ACKNOWLEDGED"))
                << ", escalation level " << boost::json::serialize(o.at("escalation_level"))
                << "\n";
    }
    std::cout << alerts.size() << " alert(s) without a recorded outcome"
              << (older_than_h > 0 ? " older than " + std::to_string(older_than_h) + " h" : "")
              << "\n";
    // The "no record of action taken" report must be empty in a healthy force.
    return (older_than_h > 0 && !alerts.empty()) ? kExitRefused : 0;
  }

  int Ack(const std::string& alert_id) {
    int rc;
    auto r = Call("alert.ack", {{"alert_id", alert_id}}, &rc);
    if (!r) return rc;
    std::cout << "acknowledged " << alert_id << "\n";
    return 0;
  }

  int Resolve(const std::string& alert_id, const std::string& outcome, const std::string& note) {
    boost::json::object body{{"alert_id", alert_id}, {"outcome", outcome}};
    if (!note.empty()) body["note"] = note;
    int rc;
    auto r = Call("alert.resolve", body, &rc);
    if (!r) return rc;
    std::cout << "resolved " << alert_id << ": " << outcome << "\n";
    return 0;
  }

  int Since(int64_t seq) {
    int rc;
    auto r = Call("alerts.since", {{"seq", seq}}, &rc);
    if (!r) return rc;
    for (const auto& a : (*r)["alerts"].as_array()) {
      std::cout << (g_.json ? boost::json::serialize(a) : bw::FormatAlert(a.as_object())) << "\n";
    }
    if ((*r)["more"].as_bool()) std::cout << "(more: ask again from the last seq)\n";
    return 0;
  }

  // Live view of alerts.  Subscribes first, then catches up with alerts.since so
  // nothing published between start-up and the subscription is missed.
  int Watch(const std::vector<std::string>& topics, int64_t since, int count, double timeout_s) {
    zmq::socket_t sub(ctx_, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    bw::ApplyCurveClient(sub, g_.keys);
    sub.connect(g_.alerts);
    if (topics.empty()) {
      sub.set(zmq::sockopt::subscribe, "");
    } else {
      for (const auto& t : topics) sub.set(zmq::sockopt::subscribe, t);
    }
    int rc;
    if (since < 0) {
      auto st = Call("status", {}, &rc);
      if (!st) return rc;
      since = (*st)["counts"].as_object().at("last_alert_seq").to_number<int64_t>();
    }
    auto matches = [&](const boost::json::object& a) {
      if (topics.empty()) return true;
      for (const auto& r : a.at("recipients").as_array()) {
        for (const auto& t : topics) {
          if (std::string_view(r.as_string()).substr(0, t.size()) == t) return true;
        }
      }
      return false;
    };
    std::set<int64_t> seen;
    int shown = 0;
    auto show = [&](const boost::json::object& a) {
      int64_t seq = a.at("seq").to_number<int64_t>();
      if (seq <= since || !seen.insert(seq).second) return;
      std::cout << (g_.json ? boost::json::serialize(a) : bw::FormatAlert(a)) << std::endl;
      ++shown;
    };
    if (!g_.json) {
      std::cerr << "watching alerts on " << g_.alerts
                << (topics.empty() ? std::string(" (all recipients)") : "") << "; since #" << since
                << "\n";
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    bool caught_up = false;
    const auto catch_up_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (count <= 0 || shown < count) {
      if (timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) break;
      if (!caught_up && std::chrono::steady_clock::now() >= catch_up_at) {
        caught_up = true;
        int64_t from = since;
        for (;;) {
          auto r = Call("alerts.since", {{"seq", from}}, &rc);
          if (!r) return rc;
          for (const auto& a : (*r)["alerts"].as_array()) {
            from = std::max(from, a.at("seq").to_number<int64_t>());
            if (matches(a.as_object())) show(a.as_object());
          }
          if (!(*r)["more"].as_bool()) break;
        }
      }
      zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(sub, std::back_inserter(frames), zmq::recv_flags::dontwait) ||
          frames.size() != 2) {
        continue;
      }
      boost::json::error_code ec;
      auto v = boost::json::parse(frames[1].to_string(), ec);
      if (!ec && v.is_object()) show(v.get_object());
    }
    if (count > 0 && shown < count) {
      std::cerr << "breachctl: watch ended after " << shown << " of " << count << " alert(s)\n";
      return kExitRefused;
    }
    return 0;
  }

 private:
  Globals g_;
  zmq::context_t ctx_{1};
  bw::ControlClient client_;
};

// `breachctl audit verify|export`: reads the store directly (read-only; safe
// while the daemon runs), so it needs the service's file permissions, e.g.
// `sudo -u breachwatch breachctl audit verify --db /var/lib/breachwatch/breachwatch.db`,
// or, on the PostgreSQL backend (`--config` with `[store] backend = "postgresql"`, or
// `--pg CONNINFO`), a role that may read the database.
int Audit(const std::string& action, const std::string& db, const std::string& pg,
          const std::string& from, const std::string& to, const std::string& output) {
  if (db.empty() && pg.empty()) {
    std::cerr << "breachctl: audit needs the store: --db PATH, --pg CONNINFO, or --config with "
                 "an absolute [store] path or the postgresql backend\n";
    return kExitUsage;
  }
  if (action == "verify") {
    auto report = pg.empty() ? bw::VerifyAuditLog(db) : bw::VerifyPostgresAuditLog(pg);
    if (!report.ok()) {
      std::cerr << "breachctl: " << report.status().ToString() << "\n";
      return kExitUnreachable;
    }
    if (!report->ok()) {
      std::cout << "audit log BROKEN: " << report->problems.size() << " problem(s) in "
                << report->rows << " record(s)\n";
      for (const auto& p : report->problems) std::cout << "  " << p << "\n";
      return kExitRefused;
    }
    std::cout << "audit log intact: " << report->rows << " record(s)";
    if (report->rows > 0) {
      std::cout << ", ids " << report->first_id << ".." << report->last_id;
    }
    if (report->purged_through > 0) {
      std::cout << " (ids up to " << report->purged_through << " purged by retention, anchored)";
    }
    std::cout << "\nhead " << report->head_hash
              << "\n(keep the head elsewhere: a later verify whose chain does not contain it "
                 "means records were removed from the end)\n";
    return 0;
  }
  if (action == "export") {
    std::ofstream file;
    if (!output.empty()) {
      file.open(output, std::ios::out | std::ios::trunc);
      if (!file) {
        std::cerr << "breachctl: cannot write " << output << "\n";
        return kExitUsage;
      }
    }
    std::ostream& out = output.empty() ? std::cout : file;
    auto n = pg.empty() ? bw::ExportAuditLog(db, from, to, out)
                        : bw::ExportPostgresAuditLog(pg, from, to, out);
    if (!n.ok()) {
      std::cerr << "breachctl: " << n.status().ToString() << "\n";
      return kExitUnreachable;
    }
    std::cerr << "exported " << *n << " audit record(s)\n";
    return 0;
  }
  std::cerr << "breachctl: audit action must be verify or export, not \"" << action << "\"\n";
  return kExitUsage;
}

// `breachctl keys ...`: key pairs for the daemon and its clients (docs/security.md).
int Keys(const std::string& action, const std::string& name, const std::string& dir,
         const std::string& role, const std::string& identity,
         const std::vector<std::string>& feeds, const std::vector<std::string>& control_ids,
         const std::string& note) {
  if (action == "public") {
    auto keys = bw::ReadSecretKeyFile(name, false);
    if (!keys.ok()) {
      std::cerr << "breachctl: " << keys.status().ToString() << "\n";
      return kExitUsage;
    }
    std::cout << keys->public_z85 << "\n";
    return 0;
  }
  if (action != "generate") {
    std::cerr << "breachctl: keys generate NAME --dir DIR | keys public SECRET_KEY_FILE\n";
    return kExitUsage;
  }
  auto keys = bw::GenerateCurveKeyPair();
  if (!keys.ok()) {
    std::cerr << "breachctl: " << keys.status().ToString() << "\n";
    return kExitRefused;
  }
  const std::string out_dir = dir.empty() ? "." : dir;
  bw::Status s = bw::WriteKeyPairFiles(out_dir, name, *keys);
  if (!s.ok()) {
    std::cerr << "breachctl: " << s.ToString() << "\n";
    return kExitRefused;
  }
  const std::string base = (std::filesystem::path(out_dir) / name).string();
  std::cerr << "wrote " << base << ".key (secret, mode 0600) and " << base << ".pub (public)\n";
  if (role == "server") {
    std::cerr << "server key: point security.server_secret_key_file at " << base
              << ".key (or install it as /etc/breachwatch/server.key for LoadCredential=) and "
                 "give "
              << base << ".pub to every client (--server-key)\n";
    return 0;
  }
  bw::ClientEntry entry;
  entry.identity = identity.empty() ? name : identity;
  entry.public_key = keys->public_z85;
  entry.feeds = feeds;
  entry.control_ids = control_ids;
  entry.note = note;
  const std::vector<std::string> roles = {"officer", "control_room", "feed", "administrator"};
  auto it = std::find(roles.begin(), roles.end(), role);
  if (it == roles.end()) {
    std::cerr << "breachctl: --role is server, officer, control_room, feed or administrator\n";
    return kExitUsage;
  }
  entry.role = static_cast<bw::ClientRole>(it - roles.begin());
  const std::string rendered = bw::RenderClientEntry(entry);
  // Check the entry the way the daemon will (e.g. a feed without --feed).
  auto check = bw::ClientAllowList::Parse(rendered, "the new entry");
  if (!check.ok()) {
    std::cerr << "breachctl: the key is written, but its entry would be refused: "
              << check.status().ToString() << "\n";
    return kExitUsage;
  }
  std::cerr << "add this to the daemon's clients file, then reload (systemctl reload "
               "breachwatchd); give "
            << base << ".key to the client only:\n";
  std::cout << rendered;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "breachctl - ask breachwatchd about people, conditions and alerts.\n\n"
      "Every request is recorded in the audit log with who asked (--officer) and why (--reason).\n"
      "Examples:\n"
      "  breachctl --reason 'person check, Catford' conditions PNC-79/123456X\n"
      "  breachctl --reason 'control room shift' watch --topic control/E09000023/\n"
      "  breachctl --reason 'manual entry' submit event.json\n"};
  app.require_subcommand(1);
  Globals g;
  g.officer = EnvOr("BREACHWATCH_OFFICER", "operator:" + EnvOr("USER", "unknown"));
  g.reason = EnvOr("BREACHWATCH_REASON", "");
  app.add_option("--config", g.config_path,
                 "read the alert and control endpoints from this breachwatchd config");
  app.add_option("--control", g.control, "control endpoint (ROUTER)")->capture_default_str();
  app.add_option("--alerts", g.alerts, "alert endpoint (PUB)")->capture_default_str();
  app.add_option("--officer", g.officer,
                 "who is asking (default $BREACHWATCH_OFFICER, else operator:$USER)");
  app.add_option(
      "--reason", g.reason,
      "why the data is needed; required (or $BREACHWATCH_REASON), stored in the audit log");
  app.add_option("--timeout-ms", g.timeout_ms, "how long to wait for a reply")
      ->capture_default_str();
  app.add_flag("--json", g.json, "print raw JSON instead of readable text");
  g.server_key = EnvOr("BREACHWATCH_SERVER_KEY", "");
  g.client_key = EnvOr("BREACHWATCH_CLIENT_KEY", "");
  app.add_option("--server-key", g.server_key,
                 "security.mode curve: the daemon's public key file, server.pub (default "
                 "$BREACHWATCH_SERVER_KEY)");
  app.add_option("--client-key", g.client_key,
                 "security.mode curve: your secret key file, NAME.key (default "
                 "$BREACHWATCH_CLIENT_KEY); the daemon knows you by its public key");

  std::string keys_action, keys_name, keys_dir = ".", keys_role = "officer", keys_identity,
                                      keys_note;
  std::vector<std::string> keys_feeds, keys_control_ids;
  auto* keys = app.add_subcommand(
      "keys",
      "make CURVE key pairs: `keys generate NAME --dir D --role R` writes D/NAME.key and "
      "D/NAME.pub and prints the clients.toml entry; `keys public NAME.key` prints a public key");
  keys->add_option("action", keys_action, "generate | public")->required();
  keys->add_option("name", keys_name, "key name (generate) or secret key file (public)")
      ->required();
  keys->add_option("--dir", keys_dir, "where to write NAME.key and NAME.pub")
      ->capture_default_str();
  keys->add_option("--role", keys_role,
                   "server | officer | control_room | feed | administrator")
      ->capture_default_str();
  keys->add_option("--identity", keys_identity,
                   "the identity the key authenticates as (default NAME), e.g. MP-PC1234");
  keys->add_option("--feed", keys_feeds, "role feed: a feed it may publish (repeatable)");
  keys->add_option("--control-id", keys_control_ids,
                   "role control_room: a control room it receives (repeatable; default the "
                   "identity)");
  keys->add_option("--note", keys_note, "free text stored with the entry, e.g. the issue date");

  std::string audit_action, audit_db, audit_pg, audit_from, audit_to, audit_output;
  auto* audit = app.add_subcommand(
      "audit",
      "the audit log, read from the store (SQLite file or PostgreSQL): `audit verify` checks the "
      "hash chain (exit 1 "
      "if a record was edited or deleted); `audit export` writes JSON Lines for a regulator");
  audit->add_option("action", audit_action, "verify | export")->required();
  audit->add_option("--db", audit_db,
                    "the store file (default: [store] path of --config when absolute)");
  audit->add_option("--pg", audit_pg,
                    "the PostgreSQL store's libpq conninfo (default: [store] postgresql_conninfo "
                    "of --config when its backend is postgresql)");
  audit->add_option("--from", audit_from, "export: records at or after this RFC 3339 time");
  audit->add_option("--to", audit_to, "export: records before this RFC 3339 time");
  audit->add_option("-o,--output", audit_output, "export: write to this file (default stdout)");

  auto* status = app.add_subcommand("status", "daemon health: feeds, counts, store");
  std::string person, at_time;
  auto* conditions = app.add_subcommand("conditions", "conditions in force for a person");
  conditions->add_option("person_id", person, "the person (PNC ID)")->required();
  conditions->add_option("--at", at_time, "as at this RFC 3339 time (default now)");
  std::vector<std::string> files;
  auto* submit = app.add_subcommand(
      "submit", "submit events (JSON object, array or JSON Lines) as if from a feed");
  submit->add_option("files", files, "files to read; '-' or none reads standard input");
  std::vector<std::string> topics;
  int64_t since = -1;
  int count = 0;
  double timeout_s = 0;
  auto* watch = app.add_subcommand("watch", "show alerts as they arrive");
  watch->add_option("--topic", topics,
                    "recipient topic to follow, e.g. officer/MP-PC1234/ (repeatable; default all)");
  watch->add_option("--since", since, "also show stored alerts after this seq (default: from now)");
  watch->add_option("--count", count, "exit after this many alerts");
  watch->add_option("--timeout", timeout_s, "exit after this many seconds");
  int64_t since_seq = 0;
  auto* alerts_since = app.add_subcommand("since", "stored alerts after a seq (catch up)");
  alerts_since->add_option("seq", since_seq, "last seq you have")->required();
  auto* protected_cmd = app.add_subcommand(
      "protected", "instruments protecting a person (who must keep away from them)");
  protected_cmd->add_option("person_id", person, "the protected person")->required();
  std::string loc_at, loc_area;
  auto* location = app.add_subcommand(
      "location", "every condition forbidding presence at a point or area, with its subject");
  location->add_option("--at", loc_at, "LON,LAT");
  location->add_option("--area", loc_area, "GSS code, e.g. E09000023");
  int64_t loc_page_size = 0, loc_max = 0;
  std::string loc_cursor;
  location->add_option("--page-size", loc_page_size,
                       "conditions per request (1-1000; default: the daemon's, 500)");
  location->add_option("--max", loc_max, "stop after this many conditions (default: all pages)");
  location->add_option("--cursor", loc_cursor, "carry on from this `next` of an earlier run");
  location->add_option("--time", at_time, "as at this RFC 3339 time (default now)");
  std::string format = "md", output;
  auto* history = app.add_subcommand(
      "history", "a person's full record (versions, breaches, arrests, outcomes) for court");
  history->add_option("person_id", person, "the person (PNC ID)")->required();
  history->add_option("--format", format, "md, html or json")->capture_default_str();
  history->add_option("-o,--output", output, "write the document to this file");
  std::string recipient;
  double older_than_h = 24;
  auto* open = app.add_subcommand("open", "alerts without a recorded outcome");
  open->add_option("--recipient", recipient, "only those sent to this topic, e.g. officer/MP-PC1234/");
  auto* report = app.add_subcommand(
      "unactioned",
      "the 'no record of action taken' report: alerts without an outcome older than N hours "
      "(exit 1 when not empty)");
  report->add_option("--older-than-h", older_than_h, "age in hours")->capture_default_str();
  report->add_option("--recipient", recipient, "only those sent to this topic");
  std::string alert_id, outcome, note;
  auto* ack = app.add_subcommand("ack", "acknowledge an alert (stops its escalation)");
  ack->add_option("alert_id", alert_id, "the alert")->required();
  auto* resolve = app.add_subcommand("resolve", "record an alert's outcome");
  resolve->add_option("alert_id", alert_id, "the alert")->required();
  resolve->add_option("outcome", outcome,
                      "arrested | warned | attended_no_breach | false_alarm | in_custody | "
                      "referred_to_court | no_action")
      ->required();
  resolve->add_option("--note", note, "what was done (required for no_action)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*keys) {
    return Keys(keys_action, keys_name, keys_dir, keys_role, keys_identity, keys_feeds,
                keys_control_ids, keys_note);
  }
  if (*audit) {
    if (audit_db.empty() && audit_pg.empty() && !g.config_path.empty()) {
      auto cfg = bw::LoadConfigFile(g.config_path);
      if (!cfg.ok()) {
        std::cerr << "breachctl: " << cfg.status().ToString() << "\n";
        return kExitUsage;
      }
      if (cfg->store_backend == "postgresql") {
        if (audit_pg.empty()) audit_pg = cfg->store_postgresql_conninfo;
      } else if (!cfg->store_path.empty() && cfg->store_path.front() == '/') {
        audit_db = cfg->store_path;
      }
    }
    return Audit(audit_action, audit_db, audit_pg, audit_from, audit_to, audit_output);
  }
  {
    auto curve_keys = bw::LoadCurveClientKeys(g.server_key, g.client_key);
    if (!curve_keys.ok()) {
      std::cerr << "breachctl: " << curve_keys.status().ToString() << "\n";
      return kExitUsage;
    }
    g.keys = *curve_keys;
  }
  if (!g.config_path.empty()) {
    auto cfg = bw::LoadConfigFile(g.config_path);
    if (!cfg.ok()) {
      std::cerr << "breachctl: " << cfg.status().ToString() << "\n";
      return kExitUsage;
    }
    if (app.count("--control") == 0) g.control = cfg->control_endpoint;
    if (app.count("--alerts") == 0) g.alerts = cfg->alerts_endpoint;
  }
  if (g.reason.empty()) {
    std::cerr << "breachctl: say why you need the data: --reason \"...\" (it is recorded in the "
                 "audit log)\n";
    return kExitUsage;
  }
  Ctl ctl(g);
  if (*status) return ctl.Status();
  if (*conditions) return ctl.Conditions(person, at_time);
  if (*submit) return ctl.Submit(files);
  if (*watch) return ctl.Watch(topics, since, count, timeout_s);
  if (*alerts_since) return ctl.Since(since_seq);
  if (*protected_cmd) return ctl.Protected(person);
  if (*location) {
    if (loc_at.empty() == loc_area.empty()) {
      std::cerr << "breachctl: location needs exactly one of --at LON,LAT or --area CODE\n";
      return kExitUsage;
    }
    return ctl.Location(loc_at, loc_area, at_time, loc_page_size, loc_max, loc_cursor);
  }
  if (*history) return ctl.History(person, format, output);
  if (*open) return ctl.Open(recipient, 0);
  if (*report) return ctl.Open(recipient, older_than_h);
  if (*ack) return ctl.Ack(alert_id);
  if (*resolve) return ctl.Resolve(alert_id, outcome, note);
  return kExitUsage;
}
