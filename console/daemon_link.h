// DaemonLink: the console's connection to breachwatchd.
//
// Control requests go over a fresh REQ socket per call (tools/client.h ControlClient), each
// carrying officer_id = the logged-in user's identity and that user's reason, so the daemon's
// audit log records who asked and why (in security.mode "curve" the actor is the console's key
// identity and the row says "on behalf of" the user).
//
// The alert SUB runs on its own thread and is only a doorbell: every alert it receives, and
// every (re)connection to the alert endpoint (a restarted daemon), bumps a generation counter
// that wakes the live queues, which then read what is new with alerts.since.  The store, not the
// SUB, is the source of truth, so an alert published while the console was cut off is still
// read.
//
// Threading: Call() and WaitForNews() may be used from any number of threads at once.
#pragma once

#include <boost/json.hpp>
#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "handlers/base/status.h"
#include "tools/client.h"

namespace bw::console {

class DaemonLink {
 public:
  DaemonLink(std::string control_endpoint, std::string alerts_endpoint, int timeout_ms,
             CurveClientKeys keys);
  ~DaemonLink();
  DaemonLink(const DaemonLink&) = delete;
  DaemonLink& operator=(const DaemonLink&) = delete;

  // Starts the alert SUB thread.
  void Start();

  // Sends `op` with officer_id and reason set.  The reply object when the daemon answered ok;
  // the daemon's error (code and message) or a transport failure as a Status otherwise.
  Result<boost::json::object> Call(const std::string& op, boost::json::object body,
                                   const std::string& officer_id, const std::string& reason);

  // The current generation (bumped by every alert received and every reconnection).
  uint64_t generation() const { return generation_.load(); }
  // Blocks until the generation differs from `seen` or `timeout` passes; the new generation.
  uint64_t WaitForNews(uint64_t seen, std::chrono::milliseconds timeout);

 private:
  void RunSubscriber();
  void Bump();

  std::string control_endpoint_;
  std::string alerts_endpoint_;
  int timeout_ms_;
  CurveClientKeys keys_;
  zmq::context_t ctx_{1};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace bw::console
