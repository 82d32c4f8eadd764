// Publisher: the last stage.  Publishes committed alerts — and only committed ones — on the XPUB
// alerts socket, one message per recipient topic (spec 6.1), each alert's payload serialised once
// by the journal.  It also reads the socket's subscription messages (counting subscribers and, in
// security mode curve, applying a subscription only when the gate admits it: XPUB_MANUAL).
//
// A subscriber at its high-water mark costs only itself: that delivery is counted as dropped and
// the alert goes to everyone else (it stays retrievable with alerts.since).
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <zmq.hpp>

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
  };

  Publisher(boost::asio::io_context& io, zmq::context_t& zmq);
  ~Publisher();

  // Creates and binds the socket; `secure` makes it a CURVE server first (daemon/security.h).
  [[nodiscard]] Status Bind(const Options& options, const std::function<void(zmq::socket_t&)>& secure,
                            SubscriptionGate gate);
  void Start();
  void Cancel();
  void Close();  // after the loop: linger lets queued alerts flush
  zmq::socket_t* socket() { return socket_.get(); }

  void Publish(const std::vector<CommittedAlert>& alerts);

  int64_t deliveries() const { return deliveries_; }
  int64_t dropped() const { return dropped_; }
  int64_t subscriptions() const { return subscriptions_; }
  const std::map<std::string, int64_t>& alerts_by_kind() const { return alerts_by_kind_; }

 private:
  size_t DrainSubscriptions(size_t budget);

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
};

}  // namespace bw
