// bw-feedsim: a real feed endpoint for demos and tests.  Binds a publisher for
// each configured feed, waits until breachwatchd has subscribed, then plays a
// scenario file with correct per-source seq numbers.
//
// Scenario: JSON Lines (or a JSON array).  Each item is either an event object
// or {"delay_ms": N, "feed": "check", "event": {...}} / {"raw": "bytes", "feed": "tag"}.
// In any string, "${now}", "${now+90m}", "${now-2h}", "${now+28d}" are replaced by
// RFC 3339 times relative to the moment the scenario starts.  Missing envelope
// fields are filled: id, source ("feedsim-<feed>"), seq, time (now).
#include <CLI/CLI.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "config/settings.h"
#include "handlers/time_util.h"
#include "tools/client.h"

namespace {

std::string FeedFor(const std::string& type) {
  auto dot = type.find('.');
  std::string prefix = type.substr(0, dot);
  if (prefix == "instrument") return "orders";
  return prefix;  // tag, custody, check
}

std::string Expand(const std::string& s, bw::TimePoint start) {
  static const std::regex re(R"(\$\{now(?:([+-])(\d+)([smhd]))?\})");
  std::string out;
  auto begin = std::sregex_iterator(s.begin(), s.end(), re);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out += s.substr(last, m.position() - last);
    bw::TimePoint t = start;
    if (m[1].matched) {
      int64_t n = std::stoll(m[2].str());
      int64_t unit = m[3] == "s" ? 1 : m[3] == "m" ? 60 : m[3] == "h" ? 3600 : 86400;
      auto d = std::chrono::seconds(n * unit);
      t = m[1] == "+" ? t + d : t - d;
    }
    out += bw::FormatRfc3339(t);
    last = m.position() + m.length();
  }
  out += s.substr(last);
  return out;
}

void ExpandAll(boost::json::value& v, bw::TimePoint start) {
  if (v.is_string()) {
    std::string s(v.get_string());
    if (s.find("${now") != std::string::npos) v = Expand(s, start);
  } else if (v.is_array()) {
    for (auto& x : v.get_array()) ExpandAll(x, start);
  } else if (v.is_object()) {
    for (auto& [k, x] : v.get_object()) ExpandAll(x, start);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bw-feedsim - play a scenario to breachwatchd as its feeds"};
  std::string config_path, scenario_path;
  double wait_s = 10;
  int default_delay_ms = 0;
  app.add_option("--config", config_path, "breachwatchd config naming the feed endpoints")
      ->required();
  app.add_option("scenario", scenario_path, "scenario file (JSON Lines)")->required();
  app.add_option("--wait-subscriber", wait_s, "seconds to wait for breachwatchd to subscribe")
      ->capture_default_str();
  app.add_option("--delay-ms", default_delay_ms, "pause between events without delay_ms");
  CLI11_PARSE(app, argc, argv);

  auto cfg = bw::LoadConfigFile(config_path);
  if (!cfg.ok()) {
    std::cerr << "bw-feedsim: " << cfg.status().ToString() << "\n";
    return 2;
  }
  std::ifstream in(scenario_path);
  if (!in) {
    std::cerr << "bw-feedsim: cannot read " << scenario_path << "\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto items = bw::ParseJsonDocuments(ss.str());
  if (!items.ok()) {
    std::cerr << "bw-feedsim: " << scenario_path << ": " << items.status().ToString() << "\n";
    return 2;
  }

  zmq::context_t ctx(1);
  std::map<std::string, std::unique_ptr<zmq::socket_t>> pubs;
  for (const auto& f : cfg->feeds) {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::xpub);
    s->set(zmq::sockopt::linger, 3000);
    s->set(zmq::sockopt::sndhwm, 0);
    try {
      s->bind(f.endpoint);
    } catch (const zmq::error_t& e) {
      std::cerr << "bw-feedsim: cannot bind feed " << f.name << " at " << f.endpoint << ": "
                << e.what() << "\n";
      return 1;
    }
    pubs[f.name] = std::move(s);
  }
  // Wait for a subscription on every feed (XPUB delivers it as a message).
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
  for (auto& [name, s] : pubs) {
    bool subscribed = false;
    while (!subscribed && std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{s->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      if (item.revents & ZMQ_POLLIN) {
        zmq::message_t m;
        if (s->recv(m, zmq::recv_flags::dontwait) && m.size() > 0 && m.data<char>()[0] == 1) {
          subscribed = true;
        }
      }
    }
    if (!subscribed) {
      std::cerr << "bw-feedsim: nobody subscribed to feed " << name << " within " << wait_s
                << " s (is breachwatchd running with this config?)\n";
      return 1;
    }
  }

  const bw::TimePoint start = bw::SystemClock().Now();
  std::map<std::string, int64_t> seq_by_source;
  int sent = 0;
  for (auto& item : *items) {
    if (!item.is_object()) {
      std::cerr << "bw-feedsim: scenario items must be objects\n";
      return 2;
    }
    auto& o = item.get_object();
    int64_t delay = default_delay_ms;
    if (auto d = o.find("delay_ms"); d != o.end()) delay = d->value().to_number<int64_t>();
    if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    std::string feed;
    if (auto f = o.find("feed"); f != o.end() && f->value().is_string()) {
      feed = std::string(f->value().get_string());
    }
    std::string payload;
    if (auto raw = o.find("raw"); raw != o.end() && raw->value().is_string()) {
      payload = std::string(raw->value().get_string());
    } else {
      boost::json::value ev = o.contains("event") ? o["event"] : item;
      ExpandAll(ev, start);
      auto& e = ev.as_object();
      std::string type =
          e.contains("type") && e["type"].is_string() ? std::string(e["type"].get_string()) : "";
      if (feed.empty()) feed = FeedFor(type);
      if (!e.contains("source")) e["source"] = "feedsim-" + feed;
      std::string source = e["source"].is_string() ? std::string(e["source"].get_string()) : "";
      if (!e.contains("seq")) e["seq"] = ++seq_by_source[source];
      if (!e.contains("id")) {
        e["id"] = "sim-" + source + "-" + std::to_string(e["seq"].to_number<int64_t>());
      }
      if (!e.contains("time")) e["time"] = bw::FormatRfc3339(bw::SystemClock().Now());
      payload = boost::json::serialize(ev);
    }
    auto it = pubs.find(feed);
    if (it == pubs.end()) {
      std::cerr << "bw-feedsim: no configured feed \"" << feed << "\" for item " << sent + 1
                << "\n";
      return 2;
    }
    it->second->send(zmq::buffer(feed), zmq::send_flags::sndmore);
    it->second->send(zmq::buffer(payload), zmq::send_flags::none);
    ++sent;
    std::cerr << "feedsim: sent on " << feed << ": " << payload.substr(0, 110)
              << (payload.size() > 110 ? "..." : "") << "\n";
  }
  std::cerr << "feedsim: " << sent << " message(s) sent\n";
  return 0;
}
