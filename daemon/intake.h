// Intake: the first stage.  Owns every feed's SUB socket and, when configured, its replay client
// (a DEALER to the feed's ROUTER), turns what arrives into InboundMessage values and hands them in
// batches to the BatchSink (the pipeline).  It also watches the feeds (handlers/feeds/feed_health.h):
// counters, seq gaps (asking the replay endpoint to fill them), silence, and the rate-limited
// feed_rejected, feed_gap, feed_silent and feed_restored alerts it hands to the sink to raise.
//
// After a restart a feed with a replay endpoint catches up first: live messages wait until the
// replay endpoint has answered (or gap_fill_s passed), so events are handled in their order.
// Batches are handed to the sink asynchronously (BatchSink::Submit) and their outcomes come back
// later, in order.  While the sink has no room (batches in flight at its bound) intake stops
// reading its feeds (their watchers are cancelled) and starts them again when the sink says there
// is room: ZMQ_FD is edge-triggered, and a started watcher checks ZMQ_EVENTS first, so no message
// waiting in a socket is stranded.  A batch the sink refuses stays here, in order (with every batch
// refused behind it, and every batch read after it), and intake pauses: nothing read is lost and
// nothing is acknowledged until it is stored.  RetryHeld() offers held batches again.
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "daemon/pipeline.h"
#include "daemon/stage_values.h"
#include "daemon/zmq_watcher.h"
#include "handlers/engine/engine.h"
#include "handlers/feeds/feed_health.h"

namespace bw {

class Intake {
 public:
  struct FeedStats {
    int64_t received = 0;
    int64_t handled = 0;
    int64_t rejected = 0;
    int64_t duplicates = 0;
    int64_t gaps = 0;
    int64_t replay_requests = 0;
    int64_t replayed = 0;
    int64_t oversize = 0;    // frames over max_message_bytes (dead-lettered, part of rejected)
    int64_t reconnects = 0;  // fresh connections after silence (see Reconnect)
    TimePoint last_seen{};
  };
  struct FeedView {
    const FeedConfig& config;
    const FeedStats& stats;
  };

  // `engine` is read for the control rooms that feed alerts go to.  All references must outlive
  // the intake.
  Intake(boost::asio::io_context& io, zmq::context_t& zmq, const Clock& clock, const Engine& engine,
         BatchSink& sink, const Config& config);
  ~Intake();

  // Creates and connects the sockets; `secure(socket, domain)` makes each a CURVE server first.
  // `last_seqs` are the highest stored seqs (channel, source, seq), for gap detection.
  [[nodiscard]] Status Connect(
      const std::function<void(zmq::socket_t&, const std::string& domain)>& secure,
      const std::vector<std::tuple<std::string, std::string, int64_t>>& last_seqs);
  // Starts reading and asks each replay endpoint for what was missed while down.
  void Start();
  void Cancel();
  void Close();
  // Closes every endpoint without closing the sockets (security: the ZAP handler failed).
  void Disconnect(const std::function<void(zmq::socket_t*, const std::string&)>& disconnect);

  // Connects every feed afresh (a key was revoked: each feed authenticates again).
  void ReconnectAll();

  // Once per tick: offers held batches again (false while the sink still refuses: do nothing
  // else that writes), ends overdue catch-ups, and raises feed-health alerts.
  bool RetryHeld();
  void Tick(TimePoint now);

  std::vector<FeedView> feeds() const;
  const FeedHealth& health() const { return health_; }
  int64_t held_messages() const;
  bool paused() const { return paused_; }
  // True while a refused batch waits: nothing else may be committed before it.
  bool holding() const { return !held_.empty(); }
  // True when input waits for the matching path: a feed has a message ready to read, or a refused
  // batch is held.  Each readable feed's watcher is asked to drain (a missed edge cannot strand
  // input).  Asked by the watchdog (daemon/matching_watchdog.h).
  bool InputWaiting();

 private:
  struct Feed;
  // Creates, configures and connects the feed's SUB socket and its watcher (again after the
  // transport dropped the connection).
  void OpenFeedSocket(Feed& feed);
  // A silent feed gets a fresh connection: ZeroMQ drops a connection on a frame over
  // intake.max_frame_bytes (a protocol error) and never re-establishes it by itself.
  void Reconnect(Feed& feed);
  size_t DrainFeed(Feed& feed, size_t budget);
  size_t DrainReplay(Feed& feed, size_t budget);
  // Hands `batch` to the sink; counts its results when they come, or holds it when refused.
  void Submit(Feed& feed, std::vector<InboundMessage> batch);
  // The sink has no room: stop reading the feeds until it has (RoomFreed).
  void Throttle();
  void RoomFreed();
  void AfterResults(Feed& feed, const std::vector<ItemOutcome>& results);
  void MaybeRejectedAlert(Feed& feed, TimePoint now, std::vector<Alert>* alerts);
  void FinishCatchUp(Feed& feed, const char* why);
  void RequestReplay(Feed& feed, const std::string& source, int64_t from_seq);
  Alert FeedAlert(AlertKind kind, Severity severity, const Feed& feed,
                  const std::string& source, const std::string& summary) const;
  void Pause();
  void Resume();

  boost::asio::io_context& io_;
  zmq::context_t& zmq_;
  const Clock& clock_;
  const Engine& engine_;
  BatchSink& sink_;
  const Config& config_;
  FeedHealth health_;
  std::function<void(zmq::socket_t&, const std::string& domain)> secure_;
  std::vector<std::unique_ptr<Feed>> feeds_;
  // A deque: a batch refused while RetryHeld() offers the front is added behind it.
  std::deque<std::pair<Feed*, std::vector<InboundMessage>>> held_;
  bool paused_ = false;
  bool throttled_ = false;  // the sink has no room: the feeds are not read
};

}  // namespace bw
