// Observe: the daemon's health as the `status` reply and Prometheus metrics (daemon/
// metrics_server.h serves them), read from the stages' counters.  It changes nothing.
//
// Thread-safety: not synchronised; the io_context's thread only.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>

#include "config/settings.h"
#include "daemon/intake.h"
#include "daemon/journal.h"
#include "daemon/pipeline.h"
#include "daemon/publisher.h"
#include "daemon/security.h"
#include "daemon/standby.h"
#include "daemon/store.h"
#include "handlers/engine/engine.h"

namespace bw {

class Observer {
 public:
  // Every reference must outlive the observer.
  Observer(const Config& config, const Clock& clock, TimePoint started_at, const Intake& intake,
           const Pipeline& pipeline, const Journal& journal, const Publisher& publisher,
           Store& store, const Engine& engine, const Security& security,
           const int64_t& control_requests);

  boost::json::object StatusJson() const;
  std::string Metrics() const;
  // Active/standby (docs/ha.md): a PostgreSQL-backed daemon's role, term, active node and
  // replication lag, shown in status and metrics; nullptr (the default) for a single daemon on
  // SQLite.
  void set_ha(WarmStandby* ha) { ha_ = ha; }

 private:
  const Config& config_;
  const Clock& clock_;
  const TimePoint started_at_;
  const Intake& intake_;
  const Pipeline& pipeline_;
  const Journal& journal_;
  const Publisher& publisher_;
  Store& store_;  // counts rows (read only)
  const Engine& engine_;
  const Security& security_;
  const int64_t& control_requests_;
  WarmStandby* ha_ = nullptr;
};

}  // namespace bw
