// The warm standby and its takeover.  See standby.h.
#include "daemon/standby.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace bw {

WarmStandby::WarmStandby(Leadership& leadership, Matcher& matcher, Store& store,
                         const Journal& journal, const Clock& clock, std::string node_name)
    : leadership_(leadership),
      matcher_(matcher),
      store_(store),
      journal_(journal),
      clock_(clock),
      node_name_(std::move(node_name)) {}

void WarmStandby::LogError(const std::string& what, const Status& s) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_error_log_ < std::chrono::seconds(10)) return;
  last_error_log_ = now;
  spdlog::error("standby {}: {}: {}", node_name_, what, s.ToString());
}

bool WarmStandby::Poll() {
  if (!is_standby()) return false;
  auto got = leadership_.TryAcquire();
  if (got.ok() && *got) return true;
  if (!got.ok()) {
    LogError("cannot reach the store to take over", got.status());
    return false;
  }
  auto view = leadership_.Current();
  if (view.ok()) {
    active_ = *view;
  } else {
    LogError("cannot read who is active", view.status());
  }
  auto applied = matcher_.Follow();
  if (!applied.ok()) {
    LogError("cannot follow the journal", applied.status());
  } else {
    rows_followed_ += *applied;
  }
  if (!announced_) {
    spdlog::info(
        "standby {}: node {} is active (term {}); following the journal from row {}; "
        "waiting to take over",
        node_name_, active_.holder.empty() ? "?" : active_.holder, active_.term,
        matcher_.replayed_through().row);
    announced_ = true;
  }
  return false;
}

Status WarmStandby::TakeOver() {
  const auto started = std::chrono::steady_clock::now();
  const int64_t from_row = matcher_.replayed_through().row;
  auto tail = matcher_.Follow();
  if (!tail.ok()) return tail.status();
  if (Status s = matcher_.FinishFollowing(); !s.ok()) return s;
  took_over_ = true;
  takeover_tail_rows_ = *tail;
  takeover_catch_up_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  active_ = {leadership_.term(), node_name_, ""};
  spdlog::warn(
      "active {}: took over as term {}; caught up {} journal row(s) after row {} in {:.0f} ms "
      "(the tail only, no full replay)",
      node_name_, leadership_.term(), *tail, from_row, takeover_catch_up_ms_);
  return Status::Ok();
}

std::string WarmStandby::RefusalNamingActive() const {
  if (!is_standby()) return "";
  return "node " + node_name_ + " is a standby and changes nothing; " +
         (active_.holder.empty() ? std::string("no node is known to be active")
                                 : "the active node is " + active_.holder + " (term " +
                                       std::to_string(active_.term) + ")") +
         ": send requests there";
}

int64_t WarmStandby::LastAppliedRow() const {
  int64_t row = matcher_.replayed_through().row;
  if (auto committed = journal_.LastHandledCommitted(); committed && committed->row > row) {
    row = committed->row;
  }
  return row;
}

std::optional<WarmStandby::Lag> WarmStandby::ReadLag() {
  auto tail = store_.HandledAfter(matcher_.replayed_through().row);
  if (!tail.ok()) return std::nullopt;
  Lag lag;
  lag.rows = tail->rows;
  if (tail->oldest_received_at) {
    lag.seconds = std::max(
        0.0, std::chrono::duration<double>(clock_.Now() - *tail->oldest_received_at).count());
  }
  return lag;
}

boost::json::object WarmStandby::StatusJson() {
  boost::json::object ha;
  const bool standby = is_standby();
  const bool active = leadership_.active();
  ha["role"] = active ? "active" : standby ? "standby" : "fenced";
  ha["node"] = node_name_;
  ha["term"] = active ? leadership_.term() : active_.term;
  ha["active_node"] = active ? node_name_ : active_.holder;
  ha["last_applied_row"] = LastAppliedRow();
  if (standby) {
    if (auto lag = ReadLag()) {
      ha["lag_rows"] = lag->rows;
      ha["lag_seconds"] = lag->seconds;
    } else {
      ha["lag_rows"] = nullptr;
      ha["lag_seconds"] = nullptr;
    }
  }
  ha["followed_rows"] = rows_followed_;
  if (took_over_) {
    ha["takeover_tail_rows"] = takeover_tail_rows_;
    ha["takeover_catch_up_ms"] = takeover_catch_up_ms_;
  }
  return ha;
}

std::string WarmStandby::Metrics() {
  std::string out;
  auto gauge = [&](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  const bool standby = is_standby();
  const std::optional<Lag> lag = standby ? ReadLag() : Lag{};
  gauge("breachwatch_ha_active", "gauge",
        "1 while this daemon is the active node of a PostgreSQL cluster, or single on SQLite.",
        leadership_.active() ? 1.0 : 0.0);
  gauge("breachwatch_ha_standby", "gauge",
        "1 while this daemon is a warm standby (following the journal, waiting to take over).",
        standby ? 1.0 : 0.0);
  gauge("breachwatch_ha_term", "gauge",
        "The fencing term this daemon is active under (0: a standby, or SQLite).",
        static_cast<double>(leadership_.term()));
  gauge("breachwatch_ha_last_applied_row", "gauge",
        "The last handled journal row the engine includes.", static_cast<double>(LastAppliedRow()));
  gauge("breachwatch_ha_lag_rows", "gauge",
        "Handled journal rows committed by the active node and not yet applied by this standby "
        "(-1: unknown; 0 on the active node).",
        lag ? static_cast<double>(lag->rows) : -1);
  gauge("breachwatch_ha_lag_seconds", "gauge",
        "Age of the oldest journal row not yet applied by this standby (-1: unknown; 0 on the "
        "active node).",
        lag ? lag->seconds : -1);
  gauge("breachwatch_ha_followed_rows_total", "counter", "Journal rows applied while a standby.",
        static_cast<double>(rows_followed_));
  gauge("breachwatch_ha_takeover_tail_rows", "gauge",
        "Journal rows caught up when this node took over (the tail after its last applied row).",
        static_cast<double>(takeover_tail_rows_));
  return out;
}

}  // namespace bw
