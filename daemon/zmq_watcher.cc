#include "daemon/zmq_watcher.h"

#include <boost/asio/post.hpp>

namespace bw {

ZmqWatcher::ZmqWatcher(boost::asio::io_context& io, zmq::socket_t& socket, size_t budget,
                       DrainFn drain)
    : io_(io), socket_(socket), fd_(io), budget_(budget ? budget : 1), drain_(std::move(drain)) {
  fd_.assign(socket_.get(zmq::sockopt::fd));
}

ZmqWatcher::~ZmqWatcher() {
  *alive_ = false;
  boost::system::error_code ec;
  fd_.cancel(ec);
  fd_.release();  // the fd belongs to libzmq
}

void ZmqWatcher::Start() {
  stopped_ = false;
  Arm();
}

void ZmqWatcher::Cancel() {
  stopped_ = true;
  boost::system::error_code ec;
  fd_.cancel(ec);
}

bool ZmqWatcher::Readable() { return (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0; }

void ZmqWatcher::Recheck() {
  if (stopped_ || drain_posted_) return;
  if (Readable()) {
    drain_posted_ = true;
    boost::asio::post(io_, [this, alive = alive_] {
      if (*alive) Drain();
    });
  }
}

void ZmqWatcher::Arm() {
  if (stopped_) return;
  if (Readable()) {
    if (!drain_posted_) {
      drain_posted_ = true;
      boost::asio::post(io_, [this, alive = alive_] {
        if (*alive) Drain();
      });
    }
    return;
  }
  if (wait_pending_) return;
  wait_pending_ = true;
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this, alive = alive_](const boost::system::error_code& ec) {
                   if (!*alive) return;
                   wait_pending_ = false;
                   if (stopped_) return;
                   // Aborted by a Cancel() that a Start() has since undone: carry on.
                   if (ec && ec != boost::asio::error::operation_aborted) return;
                   if (!drain_posted_) Drain();
                 });
}

void ZmqWatcher::Drain() {
  drain_posted_ = false;
  if (stopped_) return;
  size_t n = drain_(budget_);
  if (stopped_) return;
  if (n >= budget_) {
    // Budget used up: yield to other handlers, then continue.
    drain_posted_ = true;
    boost::asio::post(io_, [this, alive = alive_] {
      if (*alive) Drain();
    });
    return;
  }
  Arm();
}

}  // namespace bw
