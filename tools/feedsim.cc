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

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "config/settings.h"
#include "handlers/base/time_util.h"
#include "tools/client.h"

namespace {

std::string FeedFor(const std::string& type) {
  auto dot = type.find('.');
  std::string prefix = type.substr(0, dot);
  if (prefix == "instrument") return "orders";
  if (prefix == "victim") return "tag";  // the protected person's device (protocol 9.3)
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
  int heartbeat_ms = 0;
  double linger_s = 0;
  std::vector<std::string> drops;
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "send a heartbeat on every feed this often (counts in seq), 0 = none");
  app.add_option("--linger-s", linger_s,
                 "keep serving replay requests and heartbeats this long after the scenario");
  app.add_option("--drop", drops,
                 "FEED:FROM-TO: do not publish these seqs of the feed's default source (they "
                 "stay available from the replay endpoint), e.g. tag:500-510");
  std::string server_key, client_key;
  app.add_option("--server-key", server_key,
                 "security.mode curve: breachwatchd's public key file (server.pub)");
  app.add_option("--client-key", client_key,
                 "security.mode curve: this feed's secret key file (NAME.key; its public key must "
                 "be allow-listed with role feed for these feeds)");
  CLI11_PARSE(app, argc, argv);
  auto keys = bw::LoadCurveClientKeys(server_key, client_key);
  if (!keys.ok()) {
    std::cerr << "bw-feedsim: " << keys.status().ToString() << "\n";
    return 2;
  }

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
    // The daemon is the CURVE server even though it connects: the feed is a client.
    bw::ApplyCurveClient(*s, *keys);
    try {
      s->bind(f.endpoint);
    } catch (const zmq::error_t& e) {
      std::cerr << "bw-feedsim: cannot bind feed " << f.name << " at " << f.endpoint << ": "
                << e.what() << "\n";
      return 1;
    }
    pubs[f.name] = std::move(s);
  }
  // Replay endpoints (ROUTER) for feeds that have one: answer
  // {"op":"replay","from_seq":N[,"source":S]} with stored events, at most 1000.
  struct Stored {
    std::string source;
    int64_t seq;
    std::string payload;
  };
  std::map<std::string, std::vector<Stored>> stored;
  std::map<std::string, std::unique_ptr<zmq::socket_t>> replays;
  for (const auto& f : cfg->feeds) {
    if (f.replay.empty()) continue;
    auto r = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
    r->set(zmq::sockopt::linger, 0);
    bw::ApplyCurveClient(*r, *keys);
    try {
      r->bind(f.replay);
    } catch (const zmq::error_t& e) {
      std::cerr << "bw-feedsim: cannot bind replay endpoint " << f.replay << ": " << e.what()
                << "\n";
      return 1;
    }
    replays[f.name] = std::move(r);
  }
  auto serve = [&](std::chrono::milliseconds timeout) {
    std::vector<zmq::pollitem_t> items;
    std::vector<std::string> names;
    for (auto& [name, r] : replays) {
      items.push_back({r->handle(), 0, ZMQ_POLLIN, 0});
      names.push_back(name);
    }
    if (items.empty()) {
      std::this_thread::sleep_for(timeout);
      return;
    }
    zmq::poll(items.data(), items.size(), timeout);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      auto& r = *replays[names[i]];
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(r, std::back_inserter(frames), zmq::recv_flags::dontwait) ||
          frames.size() < 2) {
        continue;
      }
      boost::json::error_code ec;
      auto req = boost::json::parse(frames.back().to_string(), ec);
      int64_t from = 1;
      std::string source;
      if (!ec && req.is_object()) {
        if (auto it = req.as_object().find("from_seq"); it != req.as_object().end()) {
          from = it->value().to_number<int64_t>();
        }
        if (auto it = req.as_object().find("source");
            it != req.as_object().end() && it->value().is_string()) {
          source = std::string(it->value().get_string());
        }
      }
      std::string body = "{\"events\":[";
      int n = 0;
      for (const auto& st : stored[names[i]]) {
        if (st.seq < from || n >= 1000 || (!source.empty() && st.source != source)) continue;
        body += (n++ ? "," : "") + st.payload;
      }
      body += "]}";
      r.send(frames[0], zmq::send_flags::sndmore);
      if (frames.size() >= 4 && frames[1].size() == 0) {  // from a REQ-style DEALER
        r.send(zmq::buffer(std::string()), zmq::send_flags::sndmore);
      }
      r.send(zmq::buffer(std::string("replay")), zmq::send_flags::sndmore);
      r.send(zmq::buffer(body), zmq::send_flags::none);
      std::cerr << "feedsim: replayed " << n << " event(s) of " << names[i] << " from seq " << from
                << "\n";
    }
  };
  // Drops: feed -> [from, to] of its default source.
  std::map<std::string, std::pair<int64_t, int64_t>> dropped;
  for (const auto& d : drops) {
    auto colon = d.find(':'), dash = d.find('-');
    if (colon == std::string::npos || dash == std::string::npos || dash < colon) {
      std::cerr << "bw-feedsim: --drop is FEED:FROM-TO\n";
      return 2;
    }
    dropped[d.substr(0, colon)] = {std::stoll(d.substr(colon + 1, dash - colon - 1)),
                                   std::stoll(d.substr(dash + 1))};
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
  std::map<std::string, std::chrono::steady_clock::time_point> next_heartbeat;
  auto publish = [&](const std::string& feed, const std::string& source, int64_t seq,
                     const std::string& payload) {
    if (replays.count(feed)) stored[feed].push_back({source, seq, payload});
    auto d = dropped.find(feed);
    if (d != dropped.end() && source == "feedsim-" + feed && seq >= d->second.first &&
        seq <= d->second.second) {
      return;  // lost on the wire, on purpose
    }
    pubs[feed]->send(zmq::buffer(feed), zmq::send_flags::sndmore);
    pubs[feed]->send(zmq::buffer(payload), zmq::send_flags::none);
  };
  auto heartbeats = [&] {
    if (heartbeat_ms <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    for (auto& [feed, sock] : pubs) {
      auto& next = next_heartbeat[feed];
      if (now < next) continue;
      next = now + std::chrono::milliseconds(heartbeat_ms);
      const std::string source = "feedsim-" + feed;
      const int64_t seq = ++seq_by_source[source];
      publish(feed, source, seq,
              boost::json::serialize(
                  boost::json::object{{"type", "heartbeat"},
                                      {"id", "hb-" + source + "-" + std::to_string(seq)},
                                      {"source", source},
                                      {"seq", seq},
                                      {"time", bw::FormatRfc3339(bw::SystemClock().Now())}}));
    }
  };
  auto wait = [&](std::chrono::milliseconds total) {
    const auto until = std::chrono::steady_clock::now() + total;
    do {
      heartbeats();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      serve(std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(20)));
    } while (std::chrono::steady_clock::now() < until);
  };
  for (auto& item : *items) {
    if (!item.is_object()) {
      std::cerr << "bw-feedsim: scenario items must be objects\n";
      return 2;
    }
    auto& o = item.get_object();
    int64_t delay = default_delay_ms;
    if (auto d = o.find("delay_ms"); d != o.end()) delay = d->value().to_number<int64_t>();
    if (delay > 0) wait(std::chrono::milliseconds(delay));
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
    {
      std::string source;
      int64_t seq = 0;
      boost::json::error_code ec;
      auto v = boost::json::parse(payload, ec);
      if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        if (auto s1 = o.find("source"); s1 != o.end() && s1->value().is_string()) {
          source = std::string(s1->value().get_string());
        }
        if (auto s2 = o.find("seq"); s2 != o.end() && s2->value().is_int64()) {
          seq = s2->value().get_int64();
        }
      }
      publish(feed, source, seq, payload);
    }
    ++sent;
    std::cerr << "feedsim: sent on " << feed << ": " << payload.substr(0, 110)
              << (payload.size() > 110 ? "..." : "") << "\n";
  }
  std::cerr << "feedsim: " << sent << " message(s) sent\n";
  if (linger_s > 0) {
    std::cerr << "feedsim: serving replay requests and heartbeats for " << linger_s << " s\n";
    wait(std::chrono::milliseconds(static_cast<int64_t>(linger_s * 1000)));
  }
  return 0;
}
