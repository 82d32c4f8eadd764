// Publisher: the last stage.  Publishes committed alerts — and only committed ones — on the XPUB
// alerts socket, one message per recipient topic (spec 6.1), each alert's payload serialised once
// by the journal.  It also reads the socket's subscription messages (counting subscribers and, in
// security mode curve, applying a subscription only when the gate admits it: XPUB_MANUAL).
//
// Delivery is never lossy behind the daemon's back (XPUB_NODROP, always): when a subscriber of a
// topic is at its high-water mark, the send fails and the alert waits, in order, in that topic's
// backlog here; a timer offers backlogs again every few milliseconds.  Other topics are not held
// up.  A topic that makes no progress for `stuck_after` has a subscriber that does not read: its
// connections that have not read anything meanwhile (unsent bytes in the kernel, unchanged) are
// shut down, so the subscribers that do read get the backlog; the one cut off reconnects and
// fills its gap with alerts.since (docs/reliability.md).  A backlog over `backlog_max` drops its
// oldest message, counted per topic as not sent.
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <zmq.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/stage_values.h"
#include "daemon/zmq_watcher.h"
#include "handlers/base/status.h"

namespace bw {

class Publisher {
 public:
  // Decides whether the sender of a subscription `message` may receive `topic` (mode curve).
  using SubscriptionGate = std::function<bool(zmq::message_t& message, const std::string& topic)>;
  struct Options {
    std::string endpoint;
    int send_hwm = 1000;
    bool manual_subscriptions = false;  // XPUB_MANUAL: every subscription passes `gate`
    int64_t backlog_max = 10000;        // messages waiting per topic before the oldest is dropped
    std::chrono::milliseconds stuck_after{10000};  // no progress on a topic: cut who does not read
  };

  Publisher(boost::asio::io_context& io, zmq::context_t& zmq);
  ~Publisher();

  // Creates and binds the socket; `secure` makes it a CURVE server first (daemon/security.h).
  [[nodiscard]] Status Bind(const Options& options,
                            const std::function<void(zmq::socket_t&)>& secure,
                            SubscriptionGate gate);
  void Start();
  void Cancel();
  void Close();  // after the loop: linger lets queued alerts flush
  zmq::socket_t* socket() { return socket_.get(); }

  void Publish(const std::vector<CommittedAlert>& alerts);
  // Shuts down every subscriber connection (a key was revoked): each reconnects, authenticates
  // again and its subscriptions pass the gate again.  Returns how many.
  int DropConnections();

  // Messages handed to the transport with room at every subscriber of their topic.
  int64_t deliveries() const { return deliveries_; }
  // Messages never sent to their topic (its backlog was over backlog_max), total and per topic.
  int64_t dropped() const { return dropped_; }
  const std::map<std::string, int64_t>& dropped_by_topic() const { return dropped_by_topic_; }
  // Messages waiting in backlogs now.
  int64_t backlog() const;
  // Subscriber connections shut down because they stopped reading while their topic waited.
  int64_t subscribers_cut_off() const { return cut_off_; }
  int64_t subscriptions() const { return subscriptions_; }
  const std::map<std::string, int64_t>& alerts_by_kind() const { return alerts_by_kind_; }

 private:
  struct Backlog {
    std::deque<std::string> bodies;
    std::chrono::steady_clock::time_point progress;  // last send, or when it started waiting
  };
  size_t DrainSubscriptions(size_t budget);
  // One message to one topic; false when a subscriber of it is at its high-water mark.
  bool TrySend(const std::string& topic, const std::string& body);
  void Enqueue(const std::string& topic, const std::string& body);
  void Flush();
  void ArmFlush();
  // Shuts down the alert connections whose unsent bytes did not move since the last snapshot.
  void CutStuckSubscribers();

  boost::asio::io_context& io_;
  zmq::context_t& zmq_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<ZmqWatcher> watcher_;
  SubscriptionGate gate_;
  bool manual_ = false;
  int64_t deliveries_ = 0;
  int64_t dropped_ = 0;
  int64_t subscriptions_ = 0;
  std::map<std::string, int64_t> alerts_by_kind_;
  Options options_;
  boost::asio::steady_timer flush_timer_;
  bool flush_armed_ = false;
  std::map<std::string, Backlog> backlogs_;
  // Unsent bytes per alert connection (fd) when a topic was first seen stuck.
  std::map<int, int> outq_snapshot_;
  std::chrono::steady_clock::time_point snapshot_at_{};
  int64_t cut_off_ = 0;
  std::map<std::string, int64_t> dropped_by_topic_;
};

}  // namespace bw
