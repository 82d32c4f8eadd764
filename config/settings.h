// Settings: the daemon's configuration, loaded from one TOML file (protocol section 8).
//
// Every setting is declared once, in the settings table in settings.cc: its section, key, type,
// default, documentation and validator.  That table drives parsing, validation (`--check`), the
// rendering of the fully commented example config (config/breachwatch.example.toml is exactly
// RenderExampleConfig()) and the rendering of an effective config (RenderConfig()).
//
// Errors are values (bw::Status, code kBadInput, kNotFound or kIoError); nothing here throws.
// A bad setting names its dotted key in Status::field() ("policy.exit_debounce_s",
// "feeds[1].endpoint") and says what is wrong, with the file position when known, in
// Status::message(); Status::ToString() gives "field: message" for the operator.
//
// Threading: every function is pure apart from reading files (zone-file existence, the config file
// itself) and may be called from any thread.  Config is a plain value: the daemon builds a new one
// on reload and swaps it whole.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/base/status.h"
#include "handlers/engine/policy.h"

namespace bw {

// One [[zones]] table: a GeoJSON FeatureCollection of named areas.
struct ZoneSetConfig {
  // Resolved path of an existing file: a relative `file` is looked up against the config file's
  // directory, then against the data directory (BREACHWATCH_DATA_DIR); the first that exists wins.
  std::string file;
  std::string code_property = "GSS_CODE";  // feature property holding the area code
  std::string name_property = "NAME";      // feature property holding the area name
  bool skip_invalid = false;  // true: drop features with bad geometry; false: refuse the file
};

// One [[feeds]] table: a feed's PUB endpoint the daemon connects a SUB to.
struct FeedConfig {
  std::string name;      // orders | tag | custody | check; also the topic subscribed to
  std::string endpoint;  // tcp://host:port or ipc://path
  std::string replay;    // the feed's replay ROUTER endpoint; empty = none
  int64_t silent_after_s = 60;
  // Protocol 9.5: a source's first message with seq N > 1 opens a gap 1..N-1 unless the daemon
  // joins the feed mid-stream.
  bool joins_mid_stream = false;
};

struct SecurityConfig {
  std::string mode = "none";  // none | curve (the table refuses anything else)
  // The one place the mode's spelling is compared.
  bool curve() const { return mode == "curve"; }
  // Resolved against the config file's directory when relative; empty = not set.
  std::string server_secret_key_file;
  std::string clients_file;
};

struct Config {
  std::string config_path;  // the file as given to LoadConfigFile; empty from ParseConfig
  // Raw [store] path.  Relative = relative to $STATE_DIRECTORY or, without it, the working
  // directory; the daemon resolves it.
  std::string store_backend = "sqlite";      // "sqlite" | "postgresql" (docs/ha.md)
  std::string store_path = "breachwatch.db";  // sqlite
  std::string store_postgresql_conninfo;      // postgresql: a libpq connection string or URI
  std::string store_node_name;                // postgresql: this daemon's name (default: host name)
  int64_t store_dead_letter_retention_days = 0;  // 0 = keep dead letters for ever
  int64_t store_audit_retention_days = 2190;     // six years; at least 365
  // Snapshots of the engine state (daemon/snapshot.h): how often (0 = never), and where (empty:
  // the store's path with ".snapshot" appended; relative paths resolve as store_path does).
  int64_t store_snapshot_every_s = 300;
  std::string store_snapshot_path;
  // Default when there is no [[zones]] key: one set, file "zones/london_lad22_bgc_wgs84.geojson"
  // (resolved as above), LAD22CD / LAD22NM.  `zones = []` means no zone sets.
  std::vector<ZoneSetConfig> zones;
  std::string alerts_endpoint = "tcp://127.0.0.1:7601";
  int64_t alerts_send_hwm = 100000;
  int64_t alerts_backlog_max = 10000;  // per topic, waiting in the daemon behind a full subscriber
  int64_t alerts_stuck_after_s = 10;   // a topic waiting this long: cut who does not read
  std::string control_endpoint = "tcp://127.0.0.1:7602";
  // Per identity (ZAP User-Id; officer_id in mode none): requests a second on average, and at once.
  int64_t control_rate_per_s = 200;
  int64_t control_rate_burst = 1000;
  std::vector<FeedConfig> feeds;  // default: none
  SecurityConfig security;
  Policy policy;
  int64_t intake_max_message_bytes = 65536;  // larger frames are dead-lettered as oversize
  // The transport's ceiling per frame (ZMQ_MAXMSGSIZE on the feed sockets): a larger frame makes
  // ZeroMQ drop the connection, which intake then re-establishes.  Never below max_message_bytes.
  int64_t intake_max_frame_bytes = 64 * 1024 * 1024;
  // Messages queued per feed socket (ZMQ_RCVHWM) while intake is not reading (paused on a failing
  // store, or busy): past it the feed's PUB drops for us, seen as a seq gap and filled from the
  // replay endpoint.  Bounds memory.
  int64_t intake_feed_queue_max = 10000;
  int64_t intake_drain_budget = 256;         // messages handled per loop turn before yielding
  int64_t limits_max_connections_per_socket = 1024;  // control and alerts, each (ConnectionGuard)
  std::string metrics_endpoint;              // tcp://host:port for GET /metrics; empty = none
  std::string log_level = "info";            // trace | debug | info | warn | error
};

// Parses and validates TOML text.  `config_dir` is the directory relative paths in the file are
// resolved against (empty = the working directory); `source_name` names the text in error
// messages ("breachwatch.toml:12:1").  Unknown sections and keys, wrong types, out-of-range values,
// missing zone files and unsafe endpoints are errors naming the key.
Result<Config> ParseConfig(std::string_view toml_text, const std::string& config_dir,
                           const std::string& source_name);

// Reads `path` and parses it with its own directory as config_dir.  A missing or unreadable file
// is an error naming the file (kNotFound / kIoError).
Result<Config> LoadConfigFile(const std::string& path);

// The example config: every section and key, each preceded by its documentation and default,
// with the demo values (London boroughs, four loopback feeds).  A valid config itself when loaded
// from the config/ directory of the source tree.
std::string RenderExampleConfig();

// The effective settings of `config` as TOML without comments (e.g. for `--check` or a start-up
// log).  Unset optional keys are left out.  Parsing the output yields the same settings.
std::string RenderConfig(const Config& config);

}  // namespace bw
