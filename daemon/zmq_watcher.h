// ZmqWatcher: drives reads from one ZeroMQ socket inside an Asio io_context.
//
// libzmq exposes ZMQ_FD, an edge-triggered notification descriptor: it becomes
// readable when the socket's state *may* have changed, and only the ZMQ_EVENTS
// option tells whether a message is really waiting.  The watcher therefore
//  - checks ZMQ_EVENTS before waiting, and waits on the fd only when no POLLIN;
//  - calls `drain(budget)` which reads at most `budget` messages, and if that
//    was not enough, `post`s itself to continue so other work gets a turn;
//  - must be told via Recheck() after the owner *sends* on the socket, because a
//    send can consume the edge of an incoming message;
//  - never closes libzmq's fd: the stream_descriptor is release()d on destruction.
//
// Thread-safety: use from the io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <zmq.hpp>

#include <functional>
#include <memory>

namespace bw {

class ZmqWatcher {
 public:
  // `drain` reads up to `budget` messages without blocking and returns how many
  // it read.  It is only ever called from the io_context thread.
  using DrainFn = std::function<size_t(size_t budget)>;

  ZmqWatcher(boost::asio::io_context& io, zmq::socket_t& socket, size_t budget, DrainFn drain);
  ~ZmqWatcher();
  ZmqWatcher(const ZmqWatcher&) = delete;
  ZmqWatcher& operator=(const ZmqWatcher&) = delete;

  void Start();
  // Stops watching; pending waits complete with operation_aborted and are ignored.
  void Cancel();
  // Call after sending on the socket.
  void Recheck();

 private:
  bool Readable();
  void Arm();
  void Drain();

  boost::asio::io_context& io_;
  zmq::socket_t& socket_;
  boost::asio::posix::stream_descriptor fd_;
  size_t budget_;
  DrainFn drain_;
  bool stopped_ = true;
  bool wait_pending_ = false;
  bool drain_posted_ = false;
  // Lets posted handlers detect that the watcher was destroyed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bw
