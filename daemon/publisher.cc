#include "daemon/publisher.h"

#include <linux/sockios.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "daemon/connection_guard.h"

namespace bw {
namespace {

constexpr auto kFlushInterval = std::chrono::milliseconds(5);

}  // namespace

Publisher::Publisher(boost::asio::io_context& io, zmq::context_t& zmq)
    : io_(io), zmq_(zmq), flush_timer_(io) {}

Publisher::~Publisher() { watcher_.reset(); }  // releases libzmq's fd before the socket closes

Status Publisher::Bind(const Options& options, const std::function<void(zmq::socket_t&)>& secure,
                       SubscriptionGate gate) {
  gate_ = std::move(gate);
  options_ = options;
  manual_ = options.manual_subscriptions;
  try {
    // XPUB with NODROP, always: a subscriber past its high-water mark makes send fail with EAGAIN
    // instead of a silent drop.  (Never lossy: a lossy send also sets aside, unseen, every pipe
    // that is full at that instant, and later sends pass it by while counting as delivered.)
    socket_ = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::xpub);
    socket_->set(zmq::sockopt::linger, 2000);
    socket_->set(zmq::sockopt::sndhwm, options.send_hwm);
    socket_->set(zmq::sockopt::xpub_nodrop, true);
    if (manual_) socket_->set(zmq::sockopt::xpub_manual, true);
    secure(*socket_);
    socket_->bind(options.endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable("cannot bind the alerts socket " + options.endpoint + ": " +
                               e.what());
  }
  watcher_ = std::make_unique<ZmqWatcher>(
      io_, *socket_, 256, [this](size_t budget) { return DrainSubscriptions(budget); });
  return Status::Ok();
}

void Publisher::Start() { watcher_->Start(); }
void Publisher::Cancel() {
  watcher_->Cancel();
  flush_timer_.cancel();
  flush_armed_ = false;
}

void Publisher::Close() {
  // A last offer of what waits; the rest stays retrievable with alerts.since.
  if (socket_) Flush();
  if (backlog() > 0) {
    spdlog::warn(
        "stopping with {} alert message(s) not yet sent to slow subscribers (stored; "
        "retrievable by alerts.since)",
        backlog());
  }
  watcher_.reset();
  if (socket_) socket_->close();
}

int64_t Publisher::backlog() const {
  int64_t n = 0;
  for (const auto& [topic, b] : backlogs_) n += static_cast<int64_t>(b.bodies.size());
  return n;
}

bool Publisher::TrySend(const std::string& topic, const std::string& body) {
  try {
    if (!socket_->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return false;
    }
    // The first frame passed the high-water-mark check of every subscriber of the topic; the
    // second belongs to the same message.
    socket_->send(zmq::buffer(body), zmq::send_flags::dontwait);
    ++deliveries_;
  } catch (const zmq::error_t& e) {
    spdlog::error("publishing an alert to {} failed: {} (stored; retrievable by alerts.since)",
                  topic, e.what());
  }
  return true;
}

void Publisher::Enqueue(const std::string& topic, const std::string& body) {
  Backlog& b = backlogs_[topic];
  if (b.bodies.empty()) b.progress = std::chrono::steady_clock::now();
  b.bodies.push_back(body);
  while (static_cast<int64_t>(b.bodies.size()) > options_.backlog_max) {
    b.bodies.pop_front();
    ++dropped_;
    if (++dropped_by_topic_[topic] == 1 || dropped_by_topic_[topic] % 1000 == 0) {
      spdlog::warn(
          "alerts to {}: backlog over alerts.backlog_max ({}); {} alert message(s) not "
          "sent to it so far (stored; retrievable by alerts.since)",
          topic, options_.backlog_max, dropped_by_topic_[topic]);
    }
  }
  ArmFlush();
}

void Publisher::ArmFlush() {
  if (flush_armed_) return;
  flush_armed_ = true;
  flush_timer_.expires_after(kFlushInterval);
  flush_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: stopping (Close offers the backlog once more)
    flush_armed_ = false;
    Flush();
  });
}

void Publisher::Flush() {
  const auto now = std::chrono::steady_clock::now();
  bool stuck = false;
  for (auto it = backlogs_.begin(); it != backlogs_.end();) {
    Backlog& b = it->second;
    while (!b.bodies.empty() && TrySend(it->first, b.bodies.front())) {
      b.bodies.pop_front();
      b.progress = now;
    }
    if (b.bodies.empty()) {
      it = backlogs_.erase(it);
      continue;
    }
    stuck = stuck || now - b.progress >= options_.stuck_after / 2;
    ++it;
  }
  if (!stuck) {
    outq_snapshot_.clear();
  } else if (outq_snapshot_.empty() || now - snapshot_at_ >= options_.stuck_after / 2) {
    CutStuckSubscribers();
  }
  if (!backlogs_.empty()) ArmFlush();
}

int Publisher::DropConnections() {
  int n = 0;
  for (int fd : AcceptedConnections(socket_->get(zmq::sockopt::last_endpoint))) {
    if (::shutdown(fd, SHUT_RDWR) == 0) ++n;
  }
  spdlog::info("alerts: cut {} subscriber connection(s); they reconnect and subscribe again", n);
  return n;
}

void Publisher::CutStuckSubscribers() {
  // Two looks, stuck_after / 2 apart, while a topic waits: a connection with unsent bytes that
  // did not change between them has read nothing meanwhile.  The first look only records.
  const auto now = std::chrono::steady_clock::now();
  const bool first_look = outq_snapshot_.empty();
  std::map<int, int> outq;
  for (int fd : AcceptedConnections(socket_->get(zmq::sockopt::last_endpoint))) {
    int unsent = 0;
    if (ioctl(fd, SIOCOUTQ, &unsent) == 0) outq[fd] = unsent;
  }
  if (!first_look) {
    for (const auto& [fd, unsent] : outq) {
      auto before = outq_snapshot_.find(fd);
      if (unsent == 0 || before == outq_snapshot_.end() || before->second != unsent) continue;
      // libzmq sees the connection fail, drops its pipe and queue; the subscriber reconnects.
      ::shutdown(fd, SHUT_RDWR);
      ++cut_off_;
      spdlog::warn(
          "alerts: cut off a subscriber connection (fd {}) that read nothing for {} ms "
          "with {} bytes waiting for it: it held up its topic; it must fill its gap "
          "with alerts.since",
          fd, options_.stuck_after.count() / 2, unsent);
    }
    for (auto& [topic, b] : backlogs_) b.progress = now;  // a fresh period for the rest
    outq.clear();
  }
  outq_snapshot_ = std::move(outq);
  if (outq_snapshot_.empty() && first_look) outq_snapshot_[-1] = 0;  // looked, nothing to compare
  snapshot_at_ = now;
}

void Publisher::Publish(const std::vector<CommittedAlert>& alerts) {
  for (const auto& [a, body] : alerts) {
    ++alerts_by_kind_[AlertKindName(a.kind)];
    for (const auto& topic : a.recipients) {
      // Behind a waiting backlog, in order; otherwise straight to the transport if there is room.
      if (backlogs_.contains(topic) || !TrySend(topic, body)) Enqueue(topic, body);
    }
  }
}

size_t Publisher::DrainSubscriptions(size_t budget) {
  size_t n = 0;
  for (; n < budget; ++n) {
    zmq::message_t m;
    if (!socket_->recv(m, zmq::recv_flags::dontwait)) break;
    if (m.size() == 0) continue;
    const bool subscribe = m.data<char>()[0] == 1;
    const std::string topic(m.data<char>() + 1, m.size() - 1);
    if (manual_) {
      try {
        if (!subscribe) {
          socket_->set(zmq::sockopt::unsubscribe, topic);
        } else if (gate_ && gate_(m, topic)) {
          socket_->set(zmq::sockopt::subscribe, topic);
        }
      } catch (const zmq::error_t& e) {
        spdlog::error("alert subscription \"{}\" not applied: {}", topic, e.what());
      }
    }
    subscriptions_ += subscribe ? 1 : -1;
    spdlog::debug("alert subscription {} \"{}\"", subscribe ? "added" : "removed", topic);
  }
  return n;
}

}  // namespace bw
