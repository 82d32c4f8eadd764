#include "daemon/observe.h"

#include <fmt/format.h>

#include "daemon/startup.h"

#ifndef BREACHWATCH_VERSION
#define BREACHWATCH_VERSION "0.0.0"
#endif

namespace bw {

Observer::Observer(const Config& config, const Clock& clock, TimePoint started_at,
                   const Intake& intake, const Pipeline& pipeline, const Journal& journal,
                   const Publisher& publisher, Store& store, const Engine& engine,
                   const Security& security, const int64_t& control_requests)
    : config_(config),
      clock_(clock),
      started_at_(started_at),
      intake_(intake),
      pipeline_(pipeline),
      journal_(journal),
      publisher_(publisher),
      store_(store),
      engine_(engine),
      security_(security),
      control_requests_(control_requests) {}

boost::json::object Observer::StatusJson() const {
  boost::json::object o;
  const TimePoint now = clock_.Now();
  o["version"] = BREACHWATCH_VERSION;
  o["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(now - started_at_).count();
  boost::json::array feeds;
  for (const auto& [fc, stats] : intake_.feeds()) {
    boost::json::object fo;
    fo["name"] = fc.name;
    fo["endpoint"] = fc.endpoint;
    fo["received"] = stats.received;
    fo["handled"] = stats.handled;
    fo["rejected"] = stats.rejected;
    fo["duplicates"] = stats.duplicates;
    boost::json::object seqs;
    for (const auto& [key, seq] : intake_.health().last_seqs()) {
      if (key.first == fc.name) seqs[key.second] = seq;
    }
    fo["last_seq"] = std::move(seqs);
    fo["gaps"] = stats.gaps;
    fo["replay"] = fc.replay;
    fo["replay_requests"] = stats.replay_requests;
    fo["replayed"] = stats.replayed;
    fo["oversize"] = stats.oversize;
    fo["reconnects"] = stats.reconnects;
    fo["silent"] = intake_.health().IsSilent(fc.name);
    if (stats.last_seen.time_since_epoch().count() != 0) {
      fo["last_seen_age_s"] =
          std::chrono::duration_cast<std::chrono::seconds>(now - stats.last_seen).count();
    } else {
      fo["last_seen_age_s"] = nullptr;
    }
    feeds.push_back(std::move(fo));
  }
  o["feeds"] = std::move(feeds);
  boost::json::object counts;
  auto c = store_.Counts();
  if (c.ok()) {
    counts["inbound_handled"] = c->inbound_handled;
    counts["inbound_rejected"] = c->inbound_rejected;
    counts["instruments"] = c->instruments;
    counts["alerts"] = c->alerts;
    counts["audit_records"] = c->audit;
  }
  counts["alerts_published"] = publisher_.deliveries();
  counts["alert_deliveries_dropped"] = publisher_.dropped();
  counts["alert_backlog"] = publisher_.backlog();
  counts["alert_subscribers_cut_off"] = publisher_.subscribers_cut_off();
  counts["held_messages"] = intake_.held_messages();
  counts["control_requests"] = control_requests_;
  counts["last_alert_seq"] = journal_.last_alert_seq();
  o["counts"] = std::move(counts);
  const bool postgresql = config_.store_backend == "postgresql";
  o["store"] = {{"backend", config_.store_backend},
                {"path", postgresql ? std::string("postgresql")
                                    : ResolveStorePath(config_.store_path)},
                {"healthy", pipeline_.stats().store_healthy && c.ok()},
                {"failures", pipeline_.stats().store_failures}};
  // The committer (its own thread, daemon/committer.h): what waits for it and how it groups.
  const Committer::Stats committer = pipeline_.committer_stats();
  o["committer"] = {{"batches_in_flight", pipeline_.in_flight()},
                    {"queue_depth", committer.queued},
                    {"deepest_queue", committer.deepest_queue},
                    {"groups", committer.groups},
                    {"entries", committer.entries},
                    {"largest_group", committer.largest_group},
                    {"refused_groups", committer.refused_groups}};
  if (ha_ != nullptr) {
    o["ha"] = ha_->StatusJson();
  } else {
    o["ha"] = {{"role", "single"}, {"node", ""}, {"term", 0}};
  }
  o["zones"] = engine_.zones().size();
  o["missing_seqs"] = intake_.health().MissingCount();
  o["security"] = security_.StatusJson();
  return o;
}

std::string Observer::Metrics() const {
  std::string out;
  const TimePoint now = clock_.Now();
  auto line = [&](const std::string& name, const std::string& labels, double value) {
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += " " + fmt::format("{}", value) + "\n";
  };
  auto help = [&](const char* name, const char* type, const char* text) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
  };
  const auto feeds = intake_.feeds();
  // One counter per feed: name, help, and which of the feed's figures it shows.
  auto per_feed = [&](const char* name, const char* text, int64_t Intake::FeedStats::*field) {
    help(name, "counter", text);
    for (const auto& [fc, stats] : feeds) line(name, "feed=\"" + fc.name + "\"", stats.*field);
  };
  per_feed("breachwatch_feed_messages_total", "Messages received per feed.",
           &Intake::FeedStats::received);
  per_feed("breachwatch_feed_handled_total", "Messages handled per feed.",
           &Intake::FeedStats::handled);
  per_feed("breachwatch_feed_rejected_total", "Messages dead-lettered per feed.",
           &Intake::FeedStats::rejected);
  per_feed("breachwatch_feed_duplicates_total", "Duplicate messages per feed.",
           &Intake::FeedStats::duplicates);
  per_feed("breachwatch_feed_gaps_total", "Sequence gaps detected per feed.",
           &Intake::FeedStats::gaps);
  per_feed("breachwatch_feed_replayed_total", "Events received from replay endpoints.",
           &Intake::FeedStats::replayed);
  per_feed("breachwatch_feed_oversize_total",
           "Frames over intake.max_message_bytes, dead-lettered as oversize.",
           &Intake::FeedStats::oversize);
  per_feed("breachwatch_feed_reconnects_total",
           "Fresh connections to a feed after it fell silent.", &Intake::FeedStats::reconnects);
  help("breachwatch_feed_last_seen_age_seconds", "gauge",
       "Seconds since the feed last sent anything.");
  for (const auto& [fc, stats] : feeds) {
    auto heard = intake_.health().LastHeard(fc.name);
    line("breachwatch_feed_last_seen_age_seconds", "feed=\"" + fc.name + "\"",
         heard ? std::chrono::duration<double>(now - *heard).count() : -1);
  }
  help("breachwatch_feed_silent", "gauge", "1 while the feed is silent.");
  for (const auto& [fc, stats] : feeds) {
    line("breachwatch_feed_silent", "feed=\"" + fc.name + "\"", intake_.health().IsSilent(fc.name));
  }
  help("breachwatch_held_messages", "gauge",
       "Messages read but waiting (store failing, or catch-up from a replay endpoint).");
  line("breachwatch_held_messages", "", static_cast<double>(intake_.held_messages()));
  help("breachwatch_missing_seqs", "gauge", "Sequence numbers still missing in open gaps.");
  line("breachwatch_missing_seqs", "", static_cast<double>(intake_.health().MissingCount()));
  help("breachwatch_alerts_total", "counter", "Alerts raised since start, by kind.");
  for (const auto& [kind, n] : publisher_.alerts_by_kind()) {
    line("breachwatch_alerts_total", "kind=\"" + kind + "\"", n);
  }
  help("breachwatch_alert_deliveries_total", "counter",
       "Alert messages handed to the transport (one per recipient topic) with room at every "
       "subscriber of the topic.");
  line("breachwatch_alert_deliveries_total", "", publisher_.deliveries());
  help("breachwatch_alert_deliveries_dropped_total", "counter",
       "Alert messages never sent to their topic: its backlog was over alerts.backlog_max (the "
       "alert stays retrievable with alerts.since).");
  line("breachwatch_alert_deliveries_dropped_total", "", publisher_.dropped());
  help("breachwatch_alert_topic_dropped_total", "counter",
       "The same, per recipient topic that had any.");
  for (const auto& [topic, n] : publisher_.dropped_by_topic()) {
    line("breachwatch_alert_topic_dropped_total", "topic=\"" + topic + "\"", n);
  }
  help("breachwatch_alert_backlog", "gauge",
       "Alert messages waiting in the daemon for a topic whose subscriber is at its high-water "
       "mark.");
  line("breachwatch_alert_backlog", "", publisher_.backlog());
  help("breachwatch_alert_subscribers_cut_off_total", "counter",
       "Alert subscriber connections shut down because they read nothing while their topic "
       "waited for alerts.stuck_after_s.");
  line("breachwatch_alert_subscribers_cut_off_total", "", publisher_.subscribers_cut_off());
  help("breachwatch_alert_subscriptions", "gauge", "Current alert topic subscriptions.");
  line("breachwatch_alert_subscriptions", "", publisher_.subscriptions());
  const Pipeline::Stats& p = pipeline_.stats();
  if (ha_ != nullptr) {
    out += ha_->Metrics();
  } else {
    help("breachwatch_ha_active", "gauge",
         "1 while this daemon is the active node of a PostgreSQL cluster, or single on SQLite.");
    line("breachwatch_ha_active", "", 1);
    help("breachwatch_ha_term", "gauge",
         "The fencing term this daemon is active under (0: a standby, or SQLite).");
    line("breachwatch_ha_term", "", 0);
  }
  help("breachwatch_store_healthy", "gauge", "1 when the last store write succeeded.");
  line("breachwatch_store_healthy", "", p.store_healthy);
  help("breachwatch_store_failures_total", "counter", "Failed store transactions.");
  line("breachwatch_store_failures_total", "", p.store_failures);
  help("breachwatch_commit_seconds", "histogram", "Time to handle and commit one batch.");
  for (size_t i = 0; i < std::size(Pipeline::Stats::kCommitBuckets); ++i) {
    line("breachwatch_commit_seconds_bucket",
         fmt::format("le=\"{}\"", Pipeline::Stats::kCommitBuckets[i]), p.commit_bucket_counts[i]);
  }
  line("breachwatch_commit_seconds_bucket", "le=\"+Inf\"", p.commits);
  line("breachwatch_commit_seconds_sum", "", p.commit_seconds_sum);
  line("breachwatch_commit_seconds_count", "", p.commits);
  const Committer::Stats committer = pipeline_.committer_stats();
  help("breachwatch_commit_queue_depth", "gauge",
       "Decided entries waiting for the committer's thread or being committed.");
  line("breachwatch_commit_queue_depth", "", committer.queued);
  help("breachwatch_batches_in_flight", "gauge",
       "Batches decided by the matcher and not yet durable (bounded: intake waits beyond it).");
  line("breachwatch_batches_in_flight", "", static_cast<double>(pipeline_.in_flight()));
  help("breachwatch_commit_groups_total", "counter",
       "Store transactions the committer made (each a group of entries queued together).");
  line("breachwatch_commit_groups_total", "", committer.groups);
  help("breachwatch_commit_group_entries_total", "counter",
       "Entries committed in those transactions (divided by the groups: the mean group size).");
  line("breachwatch_commit_group_entries_total", "", committer.entries);
  help("breachwatch_commit_group_largest", "gauge", "The most entries one transaction held.");
  line("breachwatch_commit_group_largest", "", committer.largest_group);
  help("breachwatch_dedup_journal_reads_total", "counter",
       "Messages whose duplicate check read the journal: the memory of handled ids could not "
       "say new (its Bloom filter's false positives, resends beyond the recent window, conflicts).");
  line("breachwatch_dedup_journal_reads_total", "",
       static_cast<double>(pipeline_.matcher().dedup_journal_reads()));
  help("breachwatch_instruments", "gauge", "Instruments known (all versions' ids).");
  line("breachwatch_instruments", "", static_cast<double>(engine_.instrument_count()));
  out += security_.Metrics();
  return out;
}

}  // namespace bw
