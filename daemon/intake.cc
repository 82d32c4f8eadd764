#include "daemon/intake.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/json.hpp>

#include "daemon/access_policy.h"

namespace bw {
namespace {
// A message's frames may exceed max_message_bytes by this much (the topic frame) before intake
// itself dead-letters it; up to there the decoder judges the JSON frame's size.
constexpr size_t kTopicAllowance = 256;
}  // namespace

struct Intake::Feed {
  FeedConfig config;
  FeedStats stats;
  std::unique_ptr<zmq::socket_t> socket;
  std::unique_ptr<ZmqWatcher> watcher;
  std::unique_ptr<zmq::socket_t> replay;  // DEALER to the feed's replay ROUTER, when configured
  std::unique_ptr<ZmqWatcher> replay_watcher;
  // After a restart, live messages wait here until the replay endpoint has caught us up.
  bool catching_up = false;
  int outstanding_catch_up = 0;
  TimePoint catch_up_deadline{};
  std::vector<InboundMessage> held_live;
  // feed_rejected rate limiting.
  TimePoint last_rejected_alert{};
  int64_t rejected_since_alert = 0;
  int64_t last_dead_letter = 0;
  // Implausible seqs disregarded since the last feed_rejected (seq_plausibility.h), the latest.
  int64_t seqs_disregarded_since_alert = 0;
  std::string last_disregarded_source;
  int64_t last_disregarded_seq = 0;
  int64_t last_disregarded_row = 0;
};

Intake::Intake(boost::asio::io_context& io, zmq::context_t& zmq, const Clock& clock,
               const Engine& engine, BatchSink& sink, const Config& config)
    : io_(io), zmq_(zmq), clock_(clock), engine_(engine), sink_(sink), config_(config) {
  sink_.set_on_room([this] { RoomFreed(); });
}

Intake::~Intake() {
  sink_.set_on_room(nullptr);
  for (auto& f : feeds_) {  // watchers release libzmq's fds before the sockets close
    f->watcher.reset();
    f->replay_watcher.reset();
  }
}

void Intake::OpenFeedSocket(Feed& feed) {
  const FeedConfig& fc = feed.config;
  auto socket = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::sub);
  socket->set(zmq::sockopt::linger, 0);
  // The transport's ceiling (memory bound).  Frames up to it reach DrainFeed, which dead-letters
  // those over max_message_bytes as oversize; over it, libzmq treats the frame as a protocol
  // error and drops the connection for good (Reconnect brings it back).
  socket->set(zmq::sockopt::maxmsgsize,
              std::max(config_.intake_max_frame_bytes, config_.intake_max_message_bytes));
  // Bounded: while intake does not read (paused on a failing store), what the feed sends past
  // this is dropped by its PUB, seen as a seq gap and filled from the replay endpoint.
  socket->set(zmq::sockopt::rcvhwm, static_cast<int>(config_.intake_feed_queue_max));
  socket->set(zmq::sockopt::heartbeat_ivl, 5000);
  socket->set(zmq::sockopt::heartbeat_timeout, 15000);
  socket->set(zmq::sockopt::subscribe, fc.name);
  secure_(*socket, FeedDomain(fc.name));
  socket->connect(fc.endpoint);
  Feed* raw = &feed;
  feed.watcher.reset();  // releases libzmq's fd before the old socket closes
  feed.socket = std::move(socket);
  feed.watcher = std::make_unique<ZmqWatcher>(
      io_, *feed.socket, static_cast<size_t>(config_.intake_drain_budget),
      [this, raw](size_t budget) { return DrainFeed(*raw, budget); });
}

void Intake::Reconnect(Feed& feed) {
  // What the old connection still holds is read first; what the publisher sends before the new
  // subscription lands is a seq gap like any other (replay endpoint, else feed_gap).
  if (!paused_) DrainFeed(feed, SIZE_MAX);
  try {
    OpenFeedSocket(feed);
  } catch (const zmq::error_t& e) {
    spdlog::error("feed {}: cannot reconnect to {}: {}", feed.config.name, feed.config.endpoint,
                  e.what());
    return;
  }
  ++feed.stats.reconnects;
  if (!paused_) feed.watcher->Start();
  spdlog::warn("feed {}: connected afresh to {} (after silence: ZeroMQ does not re-establish a "
               "connection it dropped on a frame over intake.max_frame_bytes = {} bytes)",
               feed.config.name, feed.config.endpoint,
               std::max(config_.intake_max_frame_bytes, config_.intake_max_message_bytes));
}

void Intake::ReconnectAll() {
  for (auto& f : feeds_) Reconnect(*f);
}

Status Intake::Connect(
    const std::function<void(zmq::socket_t&, const std::string& domain)>& secure,
    const std::vector<std::tuple<std::string, std::string, int64_t>>& last_seqs) {
  const TimePoint now = clock_.Now();
  secure_ = secure;
  try {
    for (const auto& fc : config_.feeds) {
      auto feed = std::make_unique<Feed>();
      feed->config = fc;
      Feed* raw = feed.get();
      OpenFeedSocket(*feed);
      if (!fc.replay.empty()) {
        feed->replay = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::dealer);
        feed->replay->set(zmq::sockopt::linger, 0);
        feed->replay->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(256) << 20);
        secure(*feed->replay, ReplayDomain(fc.name));
        feed->replay->connect(fc.replay);
        feed->replay_watcher = std::make_unique<ZmqWatcher>(
            io_, *feed->replay, 4, [this, raw](size_t budget) { return DrainReplay(*raw, budget); });
      }
      health_.AddFeed(fc.name, fc.silent_after_s, now, fc.joins_mid_stream);
      feeds_.push_back(std::move(feed));
    }
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot set up the feed sockets: ") + e.what());
  }
  for (const auto& [channel, source, seq] : last_seqs) health_.SetLastSeq(channel, source, seq);
  return Status::Ok();
}

void Intake::Start() {
  for (auto& f : feeds_) {
    f->watcher->Start();
    if (!f->replay) continue;
    f->replay_watcher->Start();
    // Catch up on what was published while we were down: subscribed first (above), then ask from
    // the last stored seq; what is already stored is discarded as a duplicate.
    f->catching_up = true;
    f->catch_up_deadline = clock_.Now() + std::chrono::seconds(config_.policy.gap_fill_s);
    for (const auto& [key, seq] : health_.last_seqs()) {
      if (key.first != f->config.name) continue;
      RequestReplay(*f, key.second, seq + 1);
      ++f->outstanding_catch_up;
    }
    if (f->outstanding_catch_up == 0) {
      RequestReplay(*f, "", 1);
      f->outstanding_catch_up = 1;
    }
  }
}

void Intake::Cancel() {
  for (auto& f : feeds_) {
    f->watcher->Cancel();
    if (f->replay_watcher) f->replay_watcher->Cancel();
  }
}

void Intake::Close() {
  for (auto& f : feeds_) {
    f->watcher.reset();
    f->replay_watcher.reset();
    f->socket->close();
    if (f->replay) f->replay->close();
  }
}

void Intake::Disconnect(const std::function<void(zmq::socket_t*, const std::string&)>& disconnect) {
  for (auto& f : feeds_) {
    disconnect(f->socket.get(), f->config.endpoint);
    if (f->replay) disconnect(f->replay.get(), f->config.replay);
  }
}

size_t Intake::DrainFeed(Feed& feed, size_t budget) {
  if (paused_) return 0;
  if (!sink_.has_room()) {
    Throttle();
    return 0;
  }
  const auto max_bytes = static_cast<size_t>(config_.intake_max_message_bytes);
  std::vector<InboundMessage> batch;
  size_t n = 0;
  for (; n < budget; ++n) {
    std::vector<zmq::message_t> frames;
    auto got =
        zmq::recv_multipart(*feed.socket, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) break;
    InboundMessage in;
    in.channel = feed.config.name;
    in.expected_topic = feed.config.name;
    size_t bytes = 0;
    for (const auto& f : frames) bytes += f.size();
    if (bytes > max_bytes + kTopicAllowance) {
      // Bad input, not a transport failure: dead-lettered with its size, the feed stays connected.
      // Only the first max_message_bytes bytes are kept, so the store stays bounded too.
      ++feed.stats.oversize;
      in.frame_error = std::to_string(frames.size()) + " frame(s) of " + std::to_string(bytes) +
                       " bytes exceed intake.max_message_bytes (" + std::to_string(max_bytes) +
                       "); the first " + std::to_string(max_bytes) + " bytes are kept";
      in.frame_error_reason = "oversize";
      if (!frames.empty()) in.topic = frames[0].to_string().substr(0, 256);
      // The JSON frame's prefix (every frame's, when the count is wrong too).
      for (size_t i = frames.size() == 2 ? 1 : 0; i < frames.size(); ++i) {
        if (in.payload.size() >= max_bytes) break;
        in.payload.append(frames[i].data<char>(),
                          std::min(frames[i].size(), max_bytes - in.payload.size()));
      }
    } else if (frames.size() != 2) {
      in.frame_error = "expected 2 frames (topic, JSON), got " + std::to_string(frames.size());
      for (auto& f : frames) in.payload += f.to_string();
      if (!frames.empty()) in.topic = frames[0].to_string();
    } else {
      in.topic = frames[0].to_string();
      in.payload = frames[1].to_string();
    }
    batch.push_back(std::move(in));
  }
  if (batch.empty()) return 0;
  feed.stats.received += static_cast<int64_t>(batch.size());
  if (feed.catching_up) {
    for (auto& in : batch) feed.held_live.push_back(std::move(in));
    // Bounded as the socket's queue is: stop reading until caught up (FinishCatchUp restarts).
    if (static_cast<int64_t>(feed.held_live.size()) >= config_.intake_feed_queue_max) {
      feed.watcher->Cancel();
    }
    return n;
  }
  Submit(feed, std::move(batch));
  return paused_ || throttled_ ? 0 : n;
}

void Intake::Submit(Feed& feed, std::vector<InboundMessage> batch) {
  if (!held_.empty()) {
    // Behind a refused batch: offered after it, in order (RetryHeld).
    held_.emplace_back(&feed, std::move(batch));
    Pause();
    return;
  }
  Feed* f = &feed;
  sink_.Submit(std::move(batch), [this, f](std::vector<InboundMessage> batch,
                                           std::optional<std::vector<ItemOutcome>> results) {
    if (results) {
      AfterResults(*f, *results);
      return;
    }
    spdlog::error("holding {} message(s) from {} until the store accepts them; intake paused",
                  batch.size(), f->config.name);
    held_.emplace_back(f, std::move(batch));
    Pause();
  });
  if (!sink_.has_room()) Throttle();
}

void Intake::Throttle() {
  // Every time, not once: a watcher started since (Reconnect, Resume) must stop too, or its
  // readable socket would be posted again and again.
  throttled_ = true;
  for (auto& f : feeds_) f->watcher->Cancel();
}

void Intake::RoomFreed() {
  if (!throttled_) return;
  throttled_ = false;
  if (paused_) return;  // Resume() starts them
  // Start() checks ZMQ_EVENTS before waiting for an edge: what arrived meanwhile is read.
  for (auto& f : feeds_) f->watcher->Start();
}

void Intake::Pause() {
  if (paused_) return;
  paused_ = true;
  for (auto& f : feeds_) f->watcher->Cancel();
  sd_notify(0, "STATUS=degraded: store failing; intake paused, nothing acknowledged");
}

void Intake::Resume() {
  if (!paused_) return;
  paused_ = false;
  for (auto& f : feeds_) f->watcher->Start();
  sd_notify(0, "STATUS=serving");
  spdlog::info("store accepting writes again: intake resumed");
}

bool Intake::RetryHeld() {
  while (!held_.empty()) {
    auto& [feed, batch] = held_.front();
    auto results = sink_.Handle(batch);
    if (!results) return false;
    Feed* from = feed;
    held_.pop_front();
    AfterResults(*from, *results);
  }
  Resume();
  return true;
}

void Intake::AfterResults(Feed& feed, const std::vector<ItemOutcome>& results) {
  const TimePoint now = clock_.Now();
  feed.stats.last_seen = now;
  std::vector<Alert> alerts;
  if (auto restored = health_.Heard(feed.config.name, now)) {
    alerts.push_back(FeedAlert(AlertKind::kFeedRestored, Severity::kInfo, feed, "",
                               "feed " + feed.config.name + " is sending again after " +
                                   std::to_string(restored->quiet_for_s) + " s of silence"));
  }
  for (const auto& r : results) {
    switch (r.result) {
      case ItemResult::kHandled:
        ++feed.stats.handled;
        break;
      case ItemResult::kDuplicate:
        ++feed.stats.duplicates;
        break;
      case ItemResult::kRejected:
        ++feed.stats.rejected;
        ++feed.rejected_since_alert;
        feed.last_dead_letter = r.inbound_row;
        break;
      case ItemResult::kFailed:
        continue;
    }
    if (r.disregarded_seq > 0) {
      ++feed.seqs_disregarded_since_alert;
      feed.last_disregarded_source = r.source;
      feed.last_disregarded_seq = r.disregarded_seq;
      feed.last_disregarded_row = r.inbound_row;
      spdlog::warn("feed {} source {}: implausible seq {} disregarded (policy.max_seq_jump)",
                   feed.config.name, r.source, r.disregarded_seq);
    }
    if (r.source.empty() || r.seq <= 0) continue;
    if (auto gap =
            health_.Observe(feed.config.name, r.source, r.seq, now, config_.policy.gap_fill_s)) {
      ++feed.stats.gaps;
      spdlog::warn("feed {} source {}: seq gap {}..{}{}", feed.config.name, r.source, gap->from_seq,
                   gap->to_seq,
                   feed.replay ? ", asking the replay endpoint" : " and no replay endpoint");
      if (feed.replay) RequestReplay(feed, r.source, gap->from_seq);
    }
  }
  MaybeRejectedAlert(feed, now, &alerts);
  if (!alerts.empty()) sink_.Raise(std::move(alerts));
}

void Intake::Tick(TimePoint now) {
  for (auto& f : feeds_) {
    if (f->catching_up && now >= f->catch_up_deadline) {
      FinishCatchUp(*f, "the replay endpoint did not answer within gap_fill_s");
    }
  }
  std::vector<Alert> alerts;
  for (const auto& gap : health_.ExpiredGaps(now)) {
    for (auto& f : feeds_) {
      if (f->config.name != gap.feed) continue;
      Alert a = FeedAlert(AlertKind::kFeedGap, Severity::kHigh, *f, gap.source,
                          "feed " + gap.feed + " source " + gap.source + ": messages " +
                              std::to_string(gap.from_seq) + " to " + std::to_string(gap.to_seq) +
                              " never arrived" +
                              (f->replay ? " and the replay endpoint did not supply them"
                                         : " (no replay endpoint configured)") +
                              "; events may be missing");
      a.extra["from_seq"] = gap.from_seq;
      a.extra["to_seq"] = gap.to_seq;
      alerts.push_back(std::move(a));
    }
  }
  for (const auto& silence : health_.CheckSilence(now)) {
    for (auto& f : feeds_) {
      if (f->config.name != silence.feed) continue;
      Reconnect(*f);
      alerts.push_back(
          FeedAlert(AlertKind::kFeedSilent, Severity::kCritical, *f, "",
                    "feed " + silence.feed + " has sent nothing (not even a heartbeat) for " +
                        std::to_string(silence.quiet_for_s) + " s: breaches may be going unseen"));
    }
  }
  for (auto& f : feeds_) MaybeRejectedAlert(*f, now, &alerts);
  sink_.Raise(std::move(alerts));  // also raises again what the store refused earlier
}

void Intake::MaybeRejectedAlert(Feed& feed, TimePoint now, std::vector<Alert>* alerts) {
  // A rejected event may be a missed breach: tell the control rooms, at most once a minute per
  // feed, with how many and where they are kept.  Called after each batch and from the tick, so a
  // feed that goes quiet after bad input still gets its report.
  // An implausible seq is bad input too (its event was handled, its seq disregarded): a source
  // that sends one may be numbering wrongly, and gap detection depends on its numbering.
  if (feed.rejected_since_alert == 0 && feed.seqs_disregarded_since_alert == 0) return;
  if (feed.last_rejected_alert.time_since_epoch().count() != 0 &&
      now - feed.last_rejected_alert < std::chrono::minutes(1)) {
    return;
  }
  std::string summary;
  if (feed.rejected_since_alert > 0) {
    summary = std::to_string(feed.rejected_since_alert) + " message(s) on feed " +
              feed.config.name +
              " rejected as bad input; kept in the dead-letter store (latest inbound row " +
              std::to_string(feed.last_dead_letter) + ")";
  }
  if (feed.seqs_disregarded_since_alert > 0) {
    summary += (summary.empty() ? "" : "; ") + std::to_string(feed.seqs_disregarded_since_alert) +
               " implausible seq(s) on feed " + feed.config.name +
               " disregarded (latest: source " + feed.last_disregarded_source + " seq " +
               std::to_string(feed.last_disregarded_seq) + ", inbound row " +
               std::to_string(feed.last_disregarded_row) +
               "); their events were handled, gap detection goes on from the source's last "
               "plausible seq";
  }
  Alert a = FeedAlert(AlertKind::kFeedRejected, Severity::kMedium, feed,
                      feed.rejected_since_alert > 0 ? "" : feed.last_disregarded_source, summary);
  a.extra["rejected"] = feed.rejected_since_alert;
  if (feed.rejected_since_alert > 0) a.extra["dead_letter_id"] = feed.last_dead_letter;
  if (feed.seqs_disregarded_since_alert > 0) {
    a.extra["reason"] = "seq_jump";
    a.extra["seqs_disregarded"] = feed.seqs_disregarded_since_alert;
    a.extra["latest_disregarded_seq"] = feed.last_disregarded_seq;
  }
  alerts->push_back(std::move(a));
  feed.rejected_since_alert = 0;
  feed.seqs_disregarded_since_alert = 0;
  feed.last_rejected_alert = now;
}

Alert Intake::FeedAlert(AlertKind kind, Severity severity, const Feed& feed,
                        const std::string& source, const std::string& summary) const {
  Alert a;
  a.kind = kind;
  a.severity = severity;
  a.event_time = clock_.Now();
  a.summary = summary;
  a.extra["feed"] = feed.config.name;
  a.extra["source"] = source;
  for (const auto& room : engine_.control_rooms()) AddRecipient(&a, ControlTopic(room));
  return a;
}

void Intake::FinishCatchUp(Feed& feed, const char* why) {
  feed.catching_up = false;
  feed.outstanding_catch_up = 0;
  std::vector<InboundMessage> live;
  live.swap(feed.held_live);
  spdlog::info("feed {}: {}; handling {} live message(s) held meanwhile", feed.config.name, why,
               live.size());
  if (!live.empty()) Submit(feed, std::move(live));
  if (!paused_) feed.watcher->Start();  // reading may have stopped at feed_queue_max
}

void Intake::RequestReplay(Feed& feed, const std::string& source, int64_t from_seq) {
  boost::json::object req{{"op", "replay"}, {"from_seq", from_seq}};
  if (!source.empty()) req["source"] = source;
  const std::string body = boost::json::serialize(req);
  try {
    feed.replay->send(zmq::buffer(std::string()), zmq::send_flags::sndmore);
    feed.replay->send(zmq::buffer(std::string("replay")), zmq::send_flags::sndmore);
    feed.replay->send(zmq::buffer(body), zmq::send_flags::dontwait);
    ++feed.stats.replay_requests;
  } catch (const zmq::error_t& e) {
    spdlog::warn("replay request to {} not sent: {}", feed.config.replay, e.what());
  }
  if (feed.replay_watcher) feed.replay_watcher->Recheck();
}

size_t Intake::DrainReplay(Feed& feed, size_t budget) {
  size_t n = 0;
  for (; n < budget; ++n) {
    std::vector<zmq::message_t> frames;
    auto got =
        zmq::recv_multipart(*feed.replay, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) break;
    if (frames.empty()) continue;
    boost::json::error_code ec;
    auto v = boost::json::parse(frames.back().to_string(), ec);
    if (ec || !v.is_object() || !v.get_object().contains("events") ||
        !v.get_object().at("events").is_array()) {
      spdlog::warn("feed {}: replay reply is not {{\"events\": [...]}}; ignored", feed.config.name);
      continue;
    }
    const auto& events = v.get_object().at("events").get_array();
    std::vector<InboundMessage> batch;
    std::string source;
    int64_t last_seq = 0;
    for (const auto& ev : events) {
      InboundMessage in;
      in.channel = feed.config.name;
      in.topic = feed.config.name;
      in.expected_topic = feed.config.name;
      in.payload = boost::json::serialize(ev);
      batch.push_back(std::move(in));
      if (ev.is_object()) {
        const auto& eo = ev.get_object();
        if (auto it = eo.find("source"); it != eo.end() && it->value().is_string()) {
          source = std::string(it->value().get_string());
        }
        if (auto it = eo.find("seq"); it != eo.end() && it->value().is_int64()) {
          last_seq = std::max(last_seq, it->value().get_int64());
        }
      }
    }
    feed.stats.replayed += static_cast<int64_t>(batch.size());
    if (!batch.empty()) {
      spdlog::info("feed {}: {} event(s) from the replay endpoint", feed.config.name, batch.size());
      Submit(feed, std::move(batch));
    }
    // At most 1000 per reply: ask for the rest.
    if (events.size() >= 1000 && last_seq > 0) {
      RequestReplay(feed, source, last_seq + 1);
    } else if (feed.catching_up && --feed.outstanding_catch_up <= 0) {
      FinishCatchUp(feed, "caught up from the replay endpoint");
    }
  }
  return n;
}

std::vector<Intake::FeedView> Intake::feeds() const {
  std::vector<FeedView> out;
  for (const auto& f : feeds_) out.push_back({f->config, f->stats});
  return out;
}

bool Intake::InputWaiting() {
  bool waiting = holding();
  for (auto& f : feeds_) {
    if ((f->socket->get(zmq::sockopt::events) & ZMQ_POLLIN) == 0) continue;
    waiting = true;
    f->watcher->Recheck();  // reading ZMQ_EVENTS may take the edge the watcher waits for
  }
  return waiting;
}

int64_t Intake::held_messages() const {
  int64_t held = 0;
  for (const auto& [f, batch] : held_) held += static_cast<int64_t>(batch.size());
  for (const auto& f : feeds_) held += static_cast<int64_t>(f->held_live.size());
  return held;
}

}  // namespace bw
