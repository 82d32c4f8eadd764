#include "daemon/publisher.h"

#include <spdlog/spdlog.h>

namespace bw {

Publisher::Publisher(boost::asio::io_context& io, zmq::context_t& zmq) : io_(io), zmq_(zmq) {}

Publisher::~Publisher() { watcher_.reset(); }  // releases libzmq's fd before the socket closes

Status Publisher::Bind(const Options& options, const std::function<void(zmq::socket_t&)>& secure,
                       SubscriptionGate gate) {
  gate_ = std::move(gate);
  manual_ = options.manual_subscriptions;
  try {
    // XPUB with NODROP: a subscriber past its high-water mark makes send fail with EAGAIN instead
    // of a silent drop, so drops are counted; Publish then delivers to the others.
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
void Publisher::Cancel() { watcher_->Cancel(); }

void Publisher::Close() {
  watcher_.reset();
  if (socket_) socket_->close();
}

void Publisher::Publish(const std::vector<CommittedAlert>& alerts) {
  for (const auto& [a, body] : alerts) {
    ++alerts_by_kind_[AlertKindName(a.kind)];
    for (const auto& topic : a.recipients) {
      try {
        if (!socket_->send(zmq::buffer(topic),
                           zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
          // A subscriber of this topic is at its high-water mark.  Count it, and deliver to the
          // others (lossy for the stuck one only) rather than let one stuck client hold up every
          // control room.
          ++dropped_;
          socket_->set(zmq::sockopt::xpub_nodrop, false);
          socket_->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
          socket_->send(zmq::buffer(body), zmq::send_flags::dontwait);
          socket_->set(zmq::sockopt::xpub_nodrop, true);
          continue;
        }
        socket_->send(zmq::buffer(body), zmq::send_flags::dontwait);
        ++deliveries_;
      } catch (const zmq::error_t& e) {
        spdlog::error("publishing alert {} to {} failed: {} (stored; retrievable by alerts.since)",
                      a.seq, topic, e.what());
      }
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
