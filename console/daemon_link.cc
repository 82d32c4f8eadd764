#include "console/daemon_link.h"

#include <spdlog/spdlog.h>
#include <zmq_addon.hpp>

namespace bw::console {

namespace {
constexpr const char* kMonitorEndpoint = "inproc://console-alert-sub-monitor";
}

DaemonLink::DaemonLink(std::string control_endpoint, std::string alerts_endpoint, int timeout_ms,
                       CurveClientKeys keys)
    : control_endpoint_(std::move(control_endpoint)),
      alerts_endpoint_(std::move(alerts_endpoint)),
      timeout_ms_(timeout_ms),
      keys_(std::move(keys)) {}

DaemonLink::~DaemonLink() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void DaemonLink::Start() {
  thread_ = std::thread([this] { RunSubscriber(); });
}

Result<boost::json::object> DaemonLink::Call(const std::string& op, boost::json::object body,
                                             const std::string& officer_id,
                                             const std::string& reason) {
  body["officer_id"] = officer_id;
  body["reason"] = reason;
  ControlClient client(ctx_, control_endpoint_, timeout_ms_, keys_);
  auto reply = client.Call(op, body);
  if (!reply.ok()) return reply.status();
  const auto* ok = reply->if_contains("ok");
  if (ok && ok->is_bool() && ok->get_bool()) return std::move(*reply);
  std::string code = "unavailable", message = "the daemon refused the request";
  if (const auto* err = reply->if_contains("error"); err && err->is_object()) {
    const auto& e = err->get_object();
    if (const auto* c = e.if_contains("code"); c && c->is_string()) code = c->get_string();
    if (const auto* m = e.if_contains("message"); m && m->is_string()) message = m->get_string();
  }
  if (code == "bad_request") return Status::BadInput("", message);
  if (code == "not_found") return Status::NotFound(message);
  if (code == "forbidden") return Status::Forbidden(message);
  return Status::Unavailable(message);
}

void DaemonLink::Bump() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

uint64_t DaemonLink::WaitForNews(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return generation_.load() != seen || stop_.load(); });
  return generation_.load();
}

void DaemonLink::RunSubscriber() {
  try {
    zmq::socket_t sub(ctx_, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    ApplyCurveClient(sub, keys_);
    // Every connection that completes its handshake (the first, and each after a daemon
    // restart) is reported on the monitor: the live queues then re-read from the store.
    zmq_socket_monitor(sub.handle(), kMonitorEndpoint, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    zmq::socket_t monitor(ctx_, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(kMonitorEndpoint);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(alerts_endpoint_);
    while (!stop_) {
      zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(200));
      bool news = false;
      if (items[0].revents & ZMQ_POLLIN) {
        std::vector<zmq::message_t> frames;
        while (zmq::recv_multipart(sub, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
          frames.clear();
          news = true;
        }
      }
      if (items[1].revents & ZMQ_POLLIN) {
        std::vector<zmq::message_t> frames;
        while (
            zmq::recv_multipart(monitor, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
          frames.clear();
          news = true;
          spdlog::info("connected to the alert endpoint {}", alerts_endpoint_);
        }
      }
      if (news) Bump();
    }
  } catch (const zmq::error_t& e) {
    spdlog::error("alert subscriber stopped: {} (live queues fall back to polling)", e.what());
  }
}

}  // namespace bw::console
