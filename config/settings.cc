// The settings table and everything it drives: TOML parsing, validation, example rendering.
//
// To add a setting: add the member to the struct in settings.h, add one Field to the table in
// Schema() below, regenerate config/breachwatch.example.toml (see tests/unit/config/config_test.cc).
#include "config/settings.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include <toml++/toml.h>

#ifndef BREACHWATCH_DATA_DIR
#error "BREACHWATCH_DATA_DIR must be defined as a string (config/CMakeLists.txt does)"
#endif

namespace bw {
namespace {

// A kConfigPath value starting with this is resolved against the environment variable systemd's
// LoadCredential= sets, e.g. "${CREDENTIALS_DIRECTORY}/server.key".
constexpr std::string_view kCredentialsDirectory = "${CREDENTIALS_DIRECTORY}";

constexpr int64_t kMaxDurationS = int64_t{10} * 365 * 24 * 3600;  // ten years
constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

// ---------------------------------------------------------------------------------------------
// The table's types.

enum class Kind { kString, kInt, kBool, kIntTable };

enum class StringFormat {
  kText,        // any non-empty string
  kEnum,        // one of Field::allowed
  kEndpoint,    // tcp://host:port or ipc://path
  kDataFile,    // relative: config_dir, then BREACHWATCH_DATA_DIR; must exist
  kConfigPath,  // relative: config_dir; existence is checked by the feature that reads it
};

enum class EndpointRole { kNone, kBind, kConnect };

template <typename T>
struct SubKey {
  std::string_view key;
  std::function<int64_t&(T&)> ref;
};

// One setting of a table mapping onto a T.  Made by Str/Int/Bool/IntTable below and refined by
// the chainable modifiers.  Exactly one of str / integer / boolean / sub is set, per `kind`.
template <typename T>
struct Field {
  std::string_view key;
  Kind kind = Kind::kString;
  std::string_view doc;
  std::function<std::string&(T&)> str;
  std::function<int64_t&(T&)> integer;
  std::function<bool&(T&)> boolean;
  std::vector<SubKey<T>> sub;  // kIntTable: the allowed keys, in rendering order
  StringFormat format = StringFormat::kText;
  std::vector<std::string_view> allowed;    // kEnum
  EndpointRole role = EndpointRole::kNone;  // kEndpoint
  int64_t min = 0;                          // kInt, kIntTable
  int64_t max = kMaxInt;
  bool required = false;  // no default: the key must be present
  bool unique = false;    // array-of-tables items: no two items may share the value
  // Example config: TOML text shown instead of the default (global sections; array-of-tables
  // items take theirs from ItemSection::examples), and whether the line is commented out.
  std::string_view example;
  bool commented = false;

  Field OneOf(std::vector<std::string_view> values) && {
    format = StringFormat::kEnum;
    allowed = std::move(values);
    return std::move(*this);
  }
  Field Endpoint(EndpointRole r) && {
    format = StringFormat::kEndpoint;
    role = r;
    return std::move(*this);
  }
  Field DataFile() && {
    format = StringFormat::kDataFile;
    return std::move(*this);
  }
  Field ConfigPath() && {
    format = StringFormat::kConfigPath;
    return std::move(*this);
  }
  Field Range(int64_t lo, int64_t hi) && {
    min = lo;
    max = hi;
    return std::move(*this);
  }
  Field Required() && {
    required = true;
    return std::move(*this);
  }
  Field Unique() && {
    unique = true;
    return std::move(*this);
  }
  Field Example(std::string_view toml_text) && {
    example = toml_text;
    return std::move(*this);
  }
  Field CommentedInExample() && {
    commented = true;
    return std::move(*this);
  }
};

template <typename T>
Field<T> Str(std::string_view key, std::function<std::string&(T&)> ref, std::string_view doc) {
  Field<T> f;
  f.key = key;
  f.kind = Kind::kString;
  f.doc = doc;
  f.str = std::move(ref);
  return f;
}

template <typename T>
Field<T> Int(std::string_view key, std::function<int64_t&(T&)> ref, std::string_view doc) {
  Field<T> f;
  f.key = key;
  f.kind = Kind::kInt;
  f.doc = doc;
  f.integer = std::move(ref);
  return f;
}

template <typename T>
Field<T> Bool(std::string_view key, std::function<bool&(T&)> ref, std::string_view doc) {
  Field<T> f;
  f.key = key;
  f.kind = Kind::kBool;
  f.doc = doc;
  f.boolean = std::move(ref);
  return f;
}

template <typename T>
Field<T> IntTable(std::string_view key, std::vector<SubKey<T>> sub, std::string_view doc) {
  Field<T> f;
  f.key = key;
  f.kind = Kind::kIntTable;
  f.doc = doc;
  f.sub = std::move(sub);
  return f;
}

// A [section] mapping onto members of Config.
struct Section {
  std::string_view name;
  std::string_view doc;
  std::vector<Field<Config>> fields;
};

// A [[section]]: an array of tables, each mapping onto one T.
template <typename T>
struct ItemSection {
  std::string_view name;
  std::string_view doc;
  std::function<std::vector<T>&(Config&)> items;
  std::vector<Field<T>> fields;
  std::vector<T> defaults;  // raw items used when the key is absent (validated like written ones)
  std::vector<T> examples;  // raw items shown in the example config
};

using AnySection = std::variant<Section, ItemSection<ZoneSetConfig>, ItemSection<FeedConfig>>;

// ---------------------------------------------------------------------------------------------
// The table.  Its order is the order of the example config and of error checking.

#define BW_REF(member) \
  [](auto& c) -> auto& { return c.member; }

const std::vector<AnySection>& Schema() {
  using C = Config;
  using Z = ZoneSetConfig;
  using F = FeedConfig;
  static const std::vector<AnySection>* const kSchema = new std::vector<AnySection>{
      Section{
          "store",
          "The store: the database holding instruments, events, alerts, the audit log and "
          "the dead-letter store. Everything the daemon knows survives a restart through it.",
          {
              Str<C>("backend", BW_REF(store_backend),
                     "\"sqlite\": an embedded SQLite file on this machine (the default; one "
                     "daemon). \"postgresql\": a PostgreSQL cluster shared by daemons with the "
                     "same config (see docs/ha.md); needs postgresql_conninfo.")
                  .OneOf({"sqlite", "postgresql"}),
              Str<C>("path", BW_REF(store_path),
                     "Path of the SQLite database; created if missing. A relative path is "
                     "relative to $STATE_DIRECTORY when systemd sets it "
                     "(StateDirectory=breachwatch gives /var/lib/breachwatch), otherwise to the "
                     "daemon's working directory. Not used by the postgresql backend."),
              Str<C>("postgresql_conninfo", BW_REF(store_postgresql_conninfo),
                     "backend \"postgresql\": the libpq connection string or URI of the "
                     "cluster, e.g. \"host=/run/postgresql dbname=breachwatch\" or "
                     "\"postgresql://breachwatch@db1,db2/breachwatch?target_session_attrs="
                     "read-write\". A password belongs in a ~/.pgpass or PGPASSFILE, not here.")
                  .Example("\"host=/run/postgresql dbname=breachwatch\"")
                  .CommentedInExample(),
              Str<C>("node_name", BW_REF(store_node_name),
                     "backend \"postgresql\": this daemon's name in the cluster's leadership "
                     "record, shown to clients and in status as the active node. Default: the "
                     "host name.")
                  .Example("\"bw-node-1\"")
                  .CommentedInExample(),
              Int<C>("dead_letter_retention_days", BW_REF(store_dead_letter_retention_days),
                     "Rejected inbound messages (dead letters) older than this many days are "
                     "erased by the daily retention purge, which writes an erasure audit record. "
                     "0 keeps them for ever.")
                  .Range(0, 36500),
              Int<C>("audit_retention_days", BW_REF(store_audit_retention_days),
                     "Audit records older than this many days are erased by the daily retention "
                     "purge (the hash chain is anchored so that it still verifies). Never less "
                     "than 365: the store's triggers refuse to delete younger audit records.")
                  .Range(365, 36500),
              Int<C>("snapshot_every_s", BW_REF(store_snapshot_every_s),
                     "Every this many seconds (when the daemon is idle between batches) the "
                     "engine's state is written (by a forked process, in the background) to a "
                     "snapshot file with the journal position it includes, so that start-up loads it and replays only the events after it. "
                     "One is also written after every start-up that replayed more than it. A "
                     "snapshot that is torn, corrupt, of another format or does not match the "
                     "store is ignored: the whole journal is replayed. 0: no snapshots.")
                  .Range(0, 86400),
              Str<C>("snapshot_path", BW_REF(store_snapshot_path),
                     "Path of the snapshot file; not set: the store's path with \".snapshot\" "
                     "appended. A relative path resolves as path does.")
                  .Example("\"/var/lib/breachwatch/breachwatch.db.snapshot\"")
                  .CommentedInExample(),
          },
      },
      ItemSection<Z>{
          .name = "zones",
          .doc = "Zone sets: GeoJSON FeatureCollections (RFC 7946, WGS84) of named areas, one "
                 "[[zones]] table per file. Orders name exclusion zones by the code in "
                 "code_property (an ONS GSS code such as E09000023, the London Borough of "
                 "Lewisham).\n"
                 "The FIRST zone set is the control-room map: a breach at a point inside one of "
                 "its areas also goes to control/<that area's code>/ (control rooms are named by "
                 "the GSS code of the borough they serve).\n"
                 "Without any [[zones]], one set is loaded: file "
                 "\"zones/london_lad22_bgc_wgs84.geojson\" (the 33 London boroughs shipped with "
                 "breachwatch) with code_property \"LAD22CD\" and name_property \"LAD22NM\". "
                 "`zones = []` (before any [section]) loads none.",
          .items = BW_REF(zones),
          .fields =
              {
                  Str<Z>("file", BW_REF(file),
                         "Path of the GeoJSON file. A relative path is looked up next to this "
                         "config file first, then in breachwatch's data directory "
                         "(<install-prefix>/share/breachwatch); the first that exists is used. "
                         "An absolute path must exist.")
                      .DataFile()
                      .Required()
                      .Unique(),
                  Str<Z>("code_property", BW_REF(code_property),
                         "Feature property holding the area code."),
                  Str<Z>("name_property", BW_REF(name_property),
                         "Feature property holding the area's name, used in alert summaries."),
                  Bool<Z>("skip_invalid", BW_REF(skip_invalid),
                          "A feature with invalid geometry (self-intersections, coordinates out "
                          "of range): false makes the whole file a configuration error naming "
                          "the feature; true skips that feature and logs it. Orders naming a "
                          "skipped code are rejected. A feature without its code property is "
                          "always an error."),
              },
          .defaults = {{.file = "zones/london_lad22_bgc_wgs84.geojson",
                        .code_property = "LAD22CD",
                        .name_property = "LAD22NM"}},
          .examples = {{.file = "zones/london_lad22_bgc_wgs84.geojson",
                        .code_property = "LAD22CD",
                        .name_property = "LAD22NM"}},
      },
      Section{
          "alerts",
          "Alert delivery: a ZeroMQ PUB socket the daemon binds. Each alert is stored, then "
          "published once per recipient with topic officer/<officer_id>/ or control/<control_id>/. "
          "A subscriber that missed alerts catches up with the control op alerts.since.",
          {
              Str<C>("endpoint", BW_REF(alerts_endpoint),
                     "Endpoint to bind: tcp://host:port or ipc://path.")
                  .Endpoint(EndpointRole::kBind),
              Int<C>("send_hwm", BW_REF(alerts_send_hwm),
                     "Send high-water mark: messages ZeroMQ queues for one subscriber. When a "
                     "subscriber of a topic is at it, alerts to that topic wait in the daemon's "
                     "backlog for that topic, in order (nothing is dropped silently).")
                  .Range(1, 100'000'000),
              Int<C>("backlog_max", BW_REF(alerts_backlog_max),
                     "Alert messages that may wait for one topic; past it the oldest is not sent "
                     "to that topic, counted as dropped (it stays in the store: alerts.since).")
                  .Range(1, 10'000'000),
              Int<C>("stuck_after_s", BW_REF(alerts_stuck_after_s),
                     "A topic whose backlog makes no progress for this long has a subscriber "
                     "that does not read: its connections that read nothing meanwhile are shut "
                     "down so the others get the backlog (the subscriber reconnects and fills "
                     "its gap with alerts.since).")
                  .Range(1, 3600),
          },
      },
      Section{
          "control",
          "Control socket: a ZeroMQ ROUTER the daemon binds for queries and commands (protocol "
          "section 7).",
          {
              Str<C>("endpoint", BW_REF(control_endpoint),
                     "Endpoint to bind: tcp://host:port or ipc://path.")
                  .Endpoint(EndpointRole::kBind),
              Int<C>("rate_per_s", BW_REF(control_rate_per_s),
                     "Requests a second one identity (its CURVE key's identity; the claimed "
                     "officer_id in security mode none) may send on average. A request over the "
                     "limit is refused with error code unavailable; refusals are audited in "
                     "aggregate, one row per identity a minute with how many and which ops.")
                  .Range(1, 1'000'000),
              Int<C>("rate_burst", BW_REF(control_rate_burst),
                     "Requests one identity may send at once before rate_per_s applies.")
                  .Range(1, 10'000'000),
          },
      },
      ItemSection<F>{
          .name = "feeds",
          .doc = "Feeds: one [[feeds]] table per feed. The daemon connects a SUB socket to the "
                 "feed's PUB endpoint and subscribes to the topic equal to the feed's name. No "
                 "feeds are configured by default.",
          .items = BW_REF(feeds),
          .fields =
              {
                  Str<F>("name", BW_REF(name),
                         "Feed name, also the topic subscribed to: orders, tag, custody or check; "
                         "each at most once.")
                      .OneOf({"orders", "tag", "custody", "check"})
                      .Required()
                      .Unique(),
                  Str<F>("endpoint", BW_REF(endpoint),
                         "The feed's PUB endpoint to connect to: tcp://host:port or ipc://path.")
                      .Endpoint(EndpointRole::kConnect)
                      .Required(),
                  Str<F>("replay", BW_REF(replay),
                         "The feed's replay ROUTER endpoint, used to fill gaps in seq and to "
                         "catch up after a restart. Without it a gap raises feed_gap after "
                         "policy.gap_fill_s.")
                      .Endpoint(EndpointRole::kConnect)
                      .CommentedInExample(),
                  Int<F>("silent_after_s", BW_REF(silent_after_s),
                         "Seconds without any message (event or heartbeat) from a source of this "
                         "feed before a critical feed_silent alert goes to every control room.")
                      .Range(1, kMaxDurationS),
                  Bool<F>("joins_mid_stream", BW_REF(joins_mid_stream),
                          "When the store holds nothing yet from a source, its first message "
                          "with seq N > 1 means 1..N-1 were never seen: a gap, filled from the "
                          "replay endpoint or raised as feed_gap. true: the daemon joins this "
                          "feed mid-stream and takes the first seq as it comes.")
                      .CommentedInExample(),
              },
          .defaults = {},
          .examples =
              {
                  {.name = "orders",
                   .endpoint = "tcp://127.0.0.1:7610",
                   .replay = "tcp://127.0.0.1:7611"},
                  {.name = "tag",
                   .endpoint = "tcp://127.0.0.1:7612",
                   .replay = "tcp://127.0.0.1:7613"},
                  {.name = "custody",
                   .endpoint = "tcp://127.0.0.1:7614",
                   .replay = "tcp://127.0.0.1:7615"},
                  {.name = "check",
                   .endpoint = "tcp://127.0.0.1:7616",
                   .replay = "tcp://127.0.0.1:7617"},
              },
      },
      Section{
          "security",
          "Transport security. Production uses CURVE with an allow-list of client keys. mode "
          "\"none\" is accepted only when every endpoint is ipc:// or loopback tcp (127.0.0.0/8, "
          "localhost, [::1]).",
          {
              Str<C>("mode", BW_REF(security.mode),
                     "none: no encryption or authentication, local endpoints only; requests are "
                     "attributed to the officer_id they claim. curve: every socket (alerts, "
                     "control, each feed and replay endpoint) is a CURVE server; a ZAP handler "
                     "admits only the keys in clients_file, and the identity a key maps to is the "
                     "actor in audit records and authorisation (docs/security.md).")
                  .OneOf({"none", "curve"}),
              Str<C>("server_secret_key_file", BW_REF(security.server_secret_key_file),
                     "The server's CURVE secret key file (mode curve), readable only by the "
                     "service (`breachctl keys generate server`); its public key is derived from "
                     "it. A relative path is relative to this config file's directory; a path "
                     "starting with ${CREDENTIALS_DIRECTORY} is under systemd's credentials "
                     "directory (LoadCredential=server.key:/etc/breachwatch/server.key in the "
                     "unit).")
                  .ConfigPath()
                  .Example("\"${CREDENTIALS_DIRECTORY}/server.key\"")
                  .CommentedInExample(),
              Str<C>("clients_file", BW_REF(security.clients_file),
                     "The allow-list (mode curve): [[client]] tables mapping each client public "
                     "key to an identity and a role (officer, control_room, feed, "
                     "administrator). Re-read on SIGHUP: a removed key's next connection is "
                     "refused. A relative path is relative to this config file's directory.")
                  .ConfigPath()
                  .Example("\"/etc/breachwatch/clients.toml\"")
                  .CommentedInExample(),
          },
      },
      Section{
          "policy",
          "Detection and escalation rules (protocol sections 2, 5 and 6.4). The unit is in the "
          "name: _s seconds, _h hours, _days days.",
          {
              IntTable<C>("ack_sla_s",
                          {{"critical", BW_REF(policy.ack_sla_s.critical_s)},
                           {"high", BW_REF(policy.ack_sla_s.high_s)},
                           {"medium", BW_REF(policy.ack_sla_s.medium_s)}},
                          "Seconds an alert may stay unacknowledged, by severity, before an "
                          "unacknowledged alert goes to the supervisor (and after a second period "
                          "to the control rooms). Keys critical, high, medium, each optional; "
                          "info alerts need no acknowledgement.")
                  .Range(1, kMaxDurationS),
              IntTable<C>("ack_sla_high_risk_s",
                          {{"critical", BW_REF(policy.ack_sla_high_risk_s.critical_s)},
                           {"high", BW_REF(policy.ack_sla_high_risk_s.high_s)}},
                          "Seconds an alert about a high-risk case (risk level high, MARAC or "
                          "MAPPA level 2 or 3: protocol 9.2) may stay unacknowledged, instead of "
                          "ack_sla_s. Keys critical and high, each optional.")
                  .Range(1, kMaxDurationS),
              Int<C>("exit_debounce_s", BW_REF(policy.exit_debounce_s),
                     "A breach episode closes after this many seconds without a breaching fix; a "
                     "later breach opens a new episode with a new alert.")
                  .Range(0, kMaxDurationS),
              Int<C>("crossing_max_gap_s", BW_REF(policy.crossing_max_gap_s),
                     "Two consecutive fixes outside an exclusion zone, at most this many seconds "
                     "apart, whose straight segment crosses it raise zone_crossed.")
                  .Range(0, kMaxDurationS),
              Int<C>("late_after_s", BW_REF(policy.late_after_s),
                     "An event older than this on arrival is still matched and alerted, marked "
                     "late.")
                  .Range(0, kMaxDurationS),
              Int<C>("future_skew_s", BW_REF(policy.future_skew_s),
                     "An event dated more than this ahead of the daemon's clock is rejected as "
                     "bad input.")
                  .Range(0, kMaxDurationS),
              Int<C>("repeat_breach_threshold", BW_REF(policy.repeat_breach_threshold),
                     "Breaches by one person, across the instruments in force, within "
                     "repeat_breach_window_days that raise a repeat_breach alert (again at every "
                     "multiple).")
                  .Range(1, 1'000'000),
              Int<C>("repeat_breach_window_days", BW_REF(policy.repeat_breach_window_days),
                     "The window, in days, over which repeat breaches are counted.")
                  .Range(1, 3650),
              Int<C>("expiry_warning_h", BW_REF(policy.expiry_warning_h),
                     "Hours before an instrument's valid_until at which the officer in the case "
                     "gets an instrument_expiring alert.")
                  .Range(0, 87'600),
              Int<C>("gap_fill_s", BW_REF(policy.gap_fill_s),
                     "Seconds allowed to fill a gap in a source's seq from the feed's replay "
                     "endpoint before a feed_gap alert goes to every control room.")
                  .Range(0, kMaxDurationS),
              Int<C>("max_seq_jump", BW_REF(policy.max_seq_jump),
                     "A seq more than this past its source's last one is implausible: the event "
                     "is handled but its seq disregarded (not taken as the source's position), "
                     "and feed_rejected goes to every control room. 0 trusts every seq.")
                  .Range(0, int64_t{1} << 62),
              Int<C>("seq_resync_after", BW_REF(policy.seq_resync_after),
                     "Consecutive implausible seqs (n, n+1, ...) after which the source is taken "
                     "to have really moved on: the last becomes its position and what lies "
                     "between is an ordinary gap.")
                  .Range(1, 1000),
              Int<C>("earliest_event_year", BW_REF(policy.earliest_event_year),
                     "Events dated before 1 January of this year (UTC) are rejected as bad input "
                     "(reason too_old): a time in year 1 or 1970 is a sender's unset clock, not a "
                     "late event. Orders made long ago are sent with their own, plausible, dates.")
                  .Range(1900, 2100),
              Int<C>("history_max", BW_REF(policy.history_max),
                     "Entries of a person's history (breaches, arrests, releases with their "
                     "outcome, variations of their instruments), newest first, carried by every "
                     "breach, arrest and check_result alert (protocol 9.1).")
                  .Range(1, 1000),
              Int<C>("proximity_max_age_s", BW_REF(policy.proximity_max_age_s),
                     "A fix of the subject or of the protected person's device is compared, "
                     "for a proximity condition, with the other's fix nearest in event time "
                     "when the two are at most this many seconds apart (older or newer).")
                  .Range(1, kMaxDurationS),
          },
      },
      Section{
          "intake",
          "Feed intake limits.",
          {
              Int<C>("max_message_bytes", BW_REF(intake_max_message_bytes),
                     "Largest accepted JSON frame in bytes; a larger one is dead-lettered as "
                     "oversize and raised as feed_rejected.")
                  .Range(1024, 64 * 1024 * 1024),
              Int<C>("max_frame_bytes", BW_REF(intake_max_frame_bytes),
                     "The transport's ceiling for one frame on a feed socket (memory bound). A "
                     "frame up to this size but over max_message_bytes is dead-lettered as "
                     "oversize with its size (its first max_message_bytes bytes kept); a larger "
                     "one makes ZeroMQ drop the connection unseen, which intake re-establishes "
                     "when the feed falls silent (feed_silent, then replay fills the gap). Taken "
                     "as at least max_message_bytes.")
                  .Range(1024, 1024 * 1024 * 1024),
              Int<C>("feed_queue_max", BW_REF(intake_feed_queue_max),
                     "Messages queued per feed socket while intake is not reading them (paused "
                     "on a failing store, or busy). Past it the feed's publisher drops them for "
                     "the daemon: a seq gap, filled from the feed's replay endpoint (or raised as "
                     "feed_gap) once intake reads again. Bounds memory at about this many times "
                     "the feed's message size.")
                  .Range(100, 10'000'000),
              Int<C>("drain_budget", BW_REF(intake_drain_budget),
                     "Messages handled per event-loop turn before timers and control requests "
                     "get a turn.")
                  .Range(1, 1'000'000),
          },
      },
      Section{
          "limits",
          "Resource limits that keep the daemon serving under a flood of connections.",
          {
              Int<C>("max_connections_per_socket", BW_REF(limits_max_connections_per_socket),
                     "Connections the control and the alerts socket each keep; past it the "
                     "surplus is shut down every tick, those that never sent a byte first (the "
                     "longest silent first), then the newest. Lowered by itself so both sockets "
                     "at the cap leave 128 descriptors of RLIMIT_NOFILE (the unit's LimitNOFILE) "
                     "for the store and the feeds.")
                  .Range(8, 1'000'000),
          },
      },
      Section{
          "metrics",
          "Prometheus metrics: plain HTTP (GET /metrics, text exposition format) with per-feed "
          "messages, rejections, gaps, last-seen age, alerts by kind, queue depths and the "
          "commit latency histogram. Bind it to loopback and let a local Prometheus or node "
          "exporter scrape it.",
          {
              Str<C>("endpoint", BW_REF(metrics_endpoint),
                     "Endpoint to listen on, tcp://host:port. Leave out to serve no metrics.")
                  .Endpoint(EndpointRole::kBind)
                  .Example("\"tcp://127.0.0.1:7609\""),
          },
      },
      Section{
          "log",
          "Logging, to standard error (the journal under systemd).",
          {
              Str<C>("level", BW_REF(log_level), "Least severe level logged.")
                  .OneOf({"trace", "debug", "info", "warn", "error"}),
          },
      },
  };
  return *kSchema;
}

#undef BW_REF

std::string_view SectionName(const AnySection& s) {
  return std::visit([](const auto& sec) { return sec.name; }, s);
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

struct Ctx {
  std::string config_dir;
  std::string source_name;
  // Where each parsed key was written, by dotted path, for errors found after parsing.
  std::map<std::string, toml::source_region> where;
};

std::string Where(const toml::source_region& r, const Ctx& ctx) {
  if (r.begin.line == 0) return "";
  std::string name = r.path ? *r.path : ctx.source_name;
  if (name.empty()) {
    return " (line " + std::to_string(r.begin.line) + ", column " + std::to_string(r.begin.column) +
           ")";
  }
  return " (" + name + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column) +
         ")";
}

std::string WhereKey(const std::string& path, const Ctx& ctx) {
  auto it = ctx.where.find(path);
  return it == ctx.where.end() ? "" : Where(it->second, ctx);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// `, did you mean "x"?` for the closest known name, or "" when none is close.
std::string Suggest(std::string_view unknown, const std::vector<std::string_view>& known) {
  std::string_view best;
  size_t best_distance = 3;  // suggest only within two edits
  for (std::string_view k : known) {
    size_t d = EditDistance(unknown, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best.empty() ? "" : ", did you mean \"" + std::string(best) + "\"?";
}

std::string Join(const std::vector<std::string_view>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += Quote(values[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Endpoints.

struct ParsedEndpoint {
  bool ipc = false;
  std::string host;  // tcp only; IPv6 keeps its brackets
};

bool IsIpv4Loopback(std::string_view host) {
  int octets = 0;
  size_t pos = 0;
  while (pos <= host.size()) {
    size_t dot = host.find('.', pos);
    std::string_view part = host.substr(pos, dot == std::string_view::npos ? dot : dot - pos);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    int value = std::stoi(std::string(part));
    if (value > 255 || (octets == 0 && value != 127)) return false;
    ++octets;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return octets == 4;
}

bool IsLoopback(const ParsedEndpoint& e) {
  return e.ipc || e.host == "localhost" || e.host == "[::1]" || IsIpv4Loopback(e.host);
}

// Parses `text` as tcp://host:port or ipc://path; on failure returns the reason.
std::variant<ParsedEndpoint, std::string> ParseEndpoint(std::string_view text, EndpointRole role) {
  const std::string got = " (got " + Quote(text) + ")";
  if (text.starts_with("ipc://")) {
    if (text.size() == 6) return "ipc:// needs a path" + got;
    return ParsedEndpoint{.ipc = true, .host = ""};
  }
  if (!text.starts_with("tcp://")) return "must be tcp://host:port or ipc://path" + got;
  std::string_view rest = text.substr(6);
  std::string_view host;
  std::string_view port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return "unclosed [ in IPv6 host" + got;
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.starts_with(":")) return "needs a port: tcp://host:port" + got;
    port = rest.substr(1);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return "needs a port: tcp://host:port" + got;
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 host must be in brackets, e.g. tcp://[::1]:7601" + got;
    }
    auto ok_char = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
             c == '*';
    };
    if (!std::all_of(host.begin(), host.end(), ok_char)) return "invalid host" + got;
  }
  if (host.empty() || host == "[]") return "needs a host: tcp://host:port" + got;
  if (host == "*" && role == EndpointRole::kConnect) {
    return "a connected endpoint needs a host, not *" + got;
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "needs a numeric port: tcp://host:port" + got;
  }
  int port_number = std::stoi(std::string(port));
  if (port_number < 1 || port_number > 65535) return "port must be 1 to 65535" + got;
  return ParsedEndpoint{.ipc = false, .host = std::string(host)};
}

// ---------------------------------------------------------------------------------------------
// Parsing one value.

bool IsRegularFile(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  return (std::filesystem::path(dir) / file).lexically_normal().string();
}

// Checks a string against its format and rewrites paths to their resolved form.
template <typename T>
Status NormalizeString(const Field<T>& f, std::string& value, const std::string& path,
                       const std::string& where, const Ctx& ctx) {
  if (value.empty()) {
    return Status::BadInput(path, std::string("must not be empty") +
                                      (f.required ? "" : " (leave the key out instead)") + where);
  }
  switch (f.format) {
    case StringFormat::kText:
      return Status::Ok();
    case StringFormat::kEnum:
      if (std::find(f.allowed.begin(), f.allowed.end(), value) == f.allowed.end()) {
        return Status::BadInput(
            path, "must be one of " + Join(f.allowed) + " (got " + Quote(value) + ")" + where);
      }
      return Status::Ok();
    case StringFormat::kEndpoint: {
      auto parsed = ParseEndpoint(value, f.role);
      if (const auto* why = std::get_if<std::string>(&parsed)) {
        return Status::BadInput(path, *why + where);
      }
      return Status::Ok();
    }
    case StringFormat::kDataFile: {
      if (std::filesystem::path(value).is_absolute()) {
        if (!IsRegularFile(value)) {
          return Status::BadInput(path, "no such file: " + Quote(value) + where);
        }
        return Status::Ok();
      }
      const std::string near_config =
          JoinPath(ctx.config_dir.empty() ? "." : ctx.config_dir, value);
      const std::string in_data = JoinPath(BREACHWATCH_DATA_DIR, value);
      for (const std::string& candidate : {near_config, in_data}) {
        if (IsRegularFile(candidate)) {
          value = candidate;
          return Status::Ok();
        }
      }
      return Status::BadInput(path, "no such file: " + Quote(value) + " (tried " +
                                        Quote(near_config) + " and " + Quote(in_data) + ")" +
                                        where);
    }
    case StringFormat::kConfigPath:
      if (value.starts_with(kCredentialsDirectory)) {
        const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
        if (dir == nullptr || *dir == '\0') {
          return Status::BadInput(
              path, "names ${CREDENTIALS_DIRECTORY} but CREDENTIALS_DIRECTORY is not set (systemd "
                    "sets it for a unit with LoadCredential=; to check this file by hand, run "
                    "with CREDENTIALS_DIRECTORY=/etc/breachwatch)" +
                        where);
        }
        std::string rest = value.substr(kCredentialsDirectory.size());
        while (rest.starts_with("/")) rest.erase(0, 1);
        value = JoinPath(dir, rest);
        return Status::Ok();
      }
      if (!std::filesystem::path(value).is_absolute()) value = JoinPath(ctx.config_dir, value);
      return Status::Ok();
  }
  return Status::Internal("unhandled string format");
}

Status RangeCheck(int64_t value, int64_t min, int64_t max, const std::string& path,
                  const std::string& where) {
  if (value < min) {
    return Status::BadInput(path, "must be at least " + std::to_string(min) + " (got " +
                                      std::to_string(value) + ")" + where);
  }
  if (value > max) {
    return Status::BadInput(path, "must be at most " + std::to_string(max) + " (got " +
                                      std::to_string(value) + ")" + where);
  }
  return Status::Ok();
}

Status TypeError(const std::string& path, std::string_view expected, const toml::node& node,
                 const Ctx& ctx) {
  return Status::BadInput(path, "expected " + std::string(expected) + ", got " + TypeName(node) +
                                    Where(node.source(), ctx));
}

template <typename T>
std::string SubKeyExample(const Field<T>& f);

// Parses one key of a table into `target`.  `node` is null when the key is absent.
template <typename T>
Status ParseField(const Field<T>& f, const toml::node* node, T& target, const std::string& path,
                  const std::string& table_where, Ctx& ctx) {
  if (node == nullptr) {
    if (f.required) return Status::BadInput(path, "missing required key" + table_where);
    return Status::Ok();
  }
  ctx.where[path] = node->source();
  const std::string where = Where(node->source(), ctx);
  switch (f.kind) {
    case Kind::kString: {
      const auto* v = node->as_string();
      if (v == nullptr) return TypeError(path, "a string", *node, ctx);
      std::string value = v->get();
      Status st = NormalizeString(f, value, path, where, ctx);
      if (!st.ok()) return st;
      f.str(target) = std::move(value);
      return Status::Ok();
    }
    case Kind::kInt: {
      const auto* v = node->as_integer();
      if (v == nullptr) return TypeError(path, "an integer", *node, ctx);
      Status st = RangeCheck(v->get(), f.min, f.max, path, where);
      if (!st.ok()) return st;
      f.integer(target) = v->get();
      return Status::Ok();
    }
    case Kind::kBool: {
      const auto* v = node->as_boolean();
      if (v == nullptr) return TypeError(path, "a boolean (true or false)", *node, ctx);
      f.boolean(target) = v->get();
      return Status::Ok();
    }
    case Kind::kIntTable: {
      const auto* table = node->as_table();
      if (table == nullptr) {
        return TypeError(path, "a table like " + SubKeyExample(f), *node, ctx);
      }
      std::vector<std::string_view> known;
      for (const auto& sub : f.sub) known.push_back(sub.key);
      for (const auto& [k, v] : *table) {
        const std::string sub_path = path + "." + std::string(k.str());
        auto it = std::find_if(f.sub.begin(), f.sub.end(),
                               // Not [&]: clang < 16 cannot capture a structured binding.
                               [key = k.str()](const SubKey<T>& s) { return s.key == key; });
        if (it == f.sub.end()) {
          return Status::BadInput(sub_path,
                                  "unknown key" + Suggest(k.str(), known) + Where(k.source(), ctx));
        }
        const auto* iv = v.as_integer();
        if (iv == nullptr) return TypeError(sub_path, "an integer", v, ctx);
        Status st = RangeCheck(iv->get(), f.min, f.max, sub_path, Where(v.source(), ctx));
        if (!st.ok()) return st;
        it->ref(target) = iv->get();
      }
      return Status::Ok();
    }
  }
  return Status::Internal("unhandled setting kind");
}

// Rejects keys of `table` that `fields` does not declare.
template <typename T>
Status CheckUnknownKeys(const toml::table& table, const std::vector<Field<T>>& fields,
                        const std::string& prefix, const Ctx& ctx) {
  std::vector<std::string_view> known;
  for (const auto& f : fields) known.push_back(f.key);
  for (const auto& [k, v] : table) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
      return Status::BadInput(prefix + "." + std::string(k.str()),
                              "unknown key" + Suggest(k.str(), known) + Where(k.source(), ctx));
    }
  }
  return Status::Ok();
}

template <typename T>
Status ParseTable(const toml::table& table, const std::vector<Field<T>>& fields, T& target,
                  const std::string& prefix, Ctx& ctx) {
  Status st = CheckUnknownKeys(table, fields, prefix, ctx);
  if (!st.ok()) return st;
  const std::string table_where = Where(table.source(), ctx);
  for (const auto& f : fields) {
    st = ParseField(f, table.get(f.key), target, prefix + "." + std::string(f.key), table_where,
                    ctx);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// Checks `unique` fields across the items of an array of tables.
template <typename T>
Status CheckUnique(const ItemSection<T>& sec, std::vector<T>& items, const Ctx& ctx) {
  for (const auto& f : sec.fields) {
    if (!f.unique || f.kind != Kind::kString) continue;
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& value = f.str(items[i]);
      auto [it, inserted] = seen.emplace(value, i);
      if (!inserted) {
        const std::string name = std::string(sec.name);
        const std::string path = name + "[" + std::to_string(i) + "]." + std::string(f.key);
        return Status::BadInput(path, "duplicate value " + Quote(value) + ", already used by " +
                                          name + "[" + std::to_string(it->second) + "]." +
                                          std::string(f.key) + WhereKey(path, ctx));
      }
    }
  }
  return Status::Ok();
}

Status ParseSection(const Section& sec, const toml::node* node, Config& config, Ctx& ctx) {
  if (node == nullptr) return Status::Ok();
  const auto* table = node->as_table();
  const std::string name(sec.name);
  if (table == nullptr) return TypeError(name, "a table ([" + name + "])", *node, ctx);
  return ParseTable(*table, sec.fields, config, name, ctx);
}

template <typename T>
Status ParseSection(const ItemSection<T>& sec, const toml::node* node, Config& config, Ctx& ctx) {
  const std::string name(sec.name);
  std::vector<T>& items = sec.items(config);
  items.clear();
  if (node == nullptr) {
    // Defaults go through the same checks (and path resolution) as written items.
    for (size_t i = 0; i < sec.defaults.size(); ++i) {
      T item = sec.defaults[i];
      const std::string prefix = name + "[" + std::to_string(i) + "]";
      for (const auto& f : sec.fields) {
        if (f.kind != Kind::kString || f.str(item).empty()) continue;
        Status st = NormalizeString(f, f.str(item), prefix + "." + std::string(f.key),
                                    " (the default when there is no [[" + name + "]])", ctx);
        if (!st.ok()) return st;
      }
      items.push_back(std::move(item));
    }
    return Status::Ok();
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    return TypeError(name, "an array of tables ([[" + name + "]])", *node, ctx);
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& item_node = *array->get(i);
    const std::string prefix = name + "[" + std::to_string(i) + "]";
    const auto* table = item_node.as_table();
    if (table == nullptr) return TypeError(prefix, "a table", item_node, ctx);
    T item;
    Status st = ParseTable(*table, sec.fields, item, prefix, ctx);
    if (!st.ok()) return st;
    items.push_back(std::move(item));
  }
  return CheckUnique(sec, items, ctx);
}

// ---------------------------------------------------------------------------------------------
// Checks across sections.

// Every endpoint setting with its dotted path and value.
std::vector<std::pair<std::string, std::string>> Endpoints(Config& config,
                                                           EndpointRole role_filter) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const auto& fields, auto& target, const std::string& prefix) {
    for (const auto& f : fields) {
      if (f.format != StringFormat::kEndpoint || f.str(target).empty()) continue;
      if (role_filter != EndpointRole::kNone && f.role != role_filter) continue;
      out.emplace_back(prefix + "." + std::string(f.key), f.str(target));
    }
  };
  for (const AnySection& any : Schema()) {
    std::visit(
        [&](const auto& sec) {
          if constexpr (std::is_same_v<std::decay_t<decltype(sec)>, Section>) {
            add(sec.fields, config, std::string(sec.name));
          } else {
            auto& items = sec.items(config);
            for (size_t i = 0; i < items.size(); ++i) {
              add(sec.fields, items[i], std::string(sec.name) + "[" + std::to_string(i) + "]");
            }
          }
        },
        any);
  }
  return out;
}

Status ValidateSecurity(Config& config, const Ctx& ctx) {
  if (config.security.curve()) {
    // The files' contents (the key, the [[client]] tables) are checked by the daemon at
    // start-up and by --check (daemon/curve_keys.h, daemon/client_allowlist.h).
    for (const auto& [key, value] :
         {std::pair<std::string, const std::string*>{"security.server_secret_key_file",
                                                     &config.security.server_secret_key_file},
          {"security.clients_file", &config.security.clients_file}}) {
      if (value->empty()) return Status::BadInput(key, "required when security.mode is \"curve\"");
      if (!IsRegularFile(*value)) {
        return Status::BadInput(key, "no such file: " + Quote(*value) + WhereKey(key, ctx));
      }
    }
    return Status::Ok();
  }
  // mode "none": local endpoints only.
  for (const auto& [path, value] : Endpoints(config, EndpointRole::kNone)) {
    auto parsed = ParseEndpoint(value, EndpointRole::kNone);
    const auto* endpoint = std::get_if<ParsedEndpoint>(&parsed);
    if (endpoint != nullptr && !IsLoopback(*endpoint)) {
      return Status::BadInput(path,
                              "security.mode \"none\" is only allowed on ipc:// or loopback "
                              "endpoints (got " +
                                  Quote(value) + ")" + WhereKey(path, ctx));
    }
  }
  return Status::Ok();
}

Status ValidateBoundEndpoints(Config& config, const Ctx& ctx) {
  std::map<std::string, std::string> seen;  // endpoint -> path
  for (const auto& [path, value] : Endpoints(config, EndpointRole::kBind)) {
    auto [it, inserted] = seen.emplace(value, path);
    if (!inserted) {
      return Status::BadInput(path, "same endpoint as " + it->second + " (" + Quote(value) +
                                        "); each bound socket needs its own" + WhereKey(path, ctx));
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Rendering.

template <typename T>
std::string RenderValue(const Field<T>& f, T& target) {
  switch (f.kind) {
    case Kind::kString:
      return Quote(f.str(target));
    case Kind::kInt:
      return std::to_string(f.integer(target));
    case Kind::kBool:
      return f.boolean(target) ? "true" : "false";
    case Kind::kIntTable: {
      std::string out = "{ ";
      for (size_t i = 0; i < f.sub.size(); ++i) {
        if (i > 0) out += ", ";
        out += std::string(f.sub[i].key) + " = " + std::to_string(f.sub[i].ref(target));
      }
      return out + " }";
    }
  }
  return "";
}

template <typename T>
std::string SubKeyExample(const Field<T>& f) {
  T defaults{};
  return RenderValue(f, defaults);
}

template <typename T>
bool IsUnset(const Field<T>& f, T& target) {
  return f.kind == Kind::kString && !f.required && f.str(target).empty();
}

// Appends `text` as "# " comment lines wrapped at 100 columns; "\n" starts a new paragraph.
void AppendComment(std::string& out, std::string_view text) {
  constexpr size_t kWidth = 98;
  std::istringstream paragraphs{std::string(text)};
  std::string paragraph;
  while (std::getline(paragraphs, paragraph)) {
    std::istringstream words(paragraph);
    std::string word;
    std::string line;
    while (words >> word) {
      if (!line.empty() && line.size() + 1 + word.size() > kWidth) {
        out += "# " + line + "\n";
        line.clear();
      }
      line += (line.empty() ? "" : " ") + word;
    }
    out += line.empty() ? "#\n" : "# " + line + "\n";
  }
}

template <typename T>
void AppendDocumentedField(std::string& out, const Field<T>& f, T& value,
                           std::string_view example) {
  AppendComment(out, f.doc);
  T defaults{};
  if (f.required) {
    out += "# required\n";
  } else if (IsUnset(f, defaults)) {
    out += "# default: not set\n";
  } else {
    out += "# default: " + RenderValue(f, defaults) + "\n";
  }
  out += std::string(f.commented ? "# " : "") + std::string(f.key) + " = " +
         (example.empty() ? RenderValue(f, value) : std::string(example)) + "\n\n";
}

void AppendSectionBanner(std::string& out, std::string_view header, std::string_view doc) {
  out += "# " + std::string(96, '-') + "\n";
  out += "# " + std::string(header) + "\n";
  AppendComment(out, doc);
}

constexpr std::string_view kExampleHeader =
    "breachwatch configuration, read by `breachwatchd --config FILE`; `breachwatchd --config "
    "FILE --check` validates a file and exits (status 78 when it is bad, naming the key).\n"
    "\n"
    "Every section and key is shown with its documentation and default. Unknown sections and "
    "keys are errors. Settings left out take their defaults.\n"
    "\n"
    "This file is generated from the settings table in config/settings.cc "
    "(RenderExampleConfig); change the table, not this file. As shipped it runs the local demo: "
    "the London boroughs, alerts and control on loopback, four loopback feeds, no transport "
    "security.";

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<Config> ParseConfig(std::string_view toml_text, const std::string& config_dir,
                           const std::string& source_name) {
  Ctx ctx{.config_dir = config_dir, .source_name = source_name, .where = {}};
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::BadInput(
        "", "TOML syntax error: " + std::string(e.description()) + Where(e.source(), ctx));
  } catch (const std::exception& e) {  // e.g. std::bad_alloc
    return Status::Internal("parsing " + source_name + ": " + e.what());
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    return Status::BadInput("", "TOML syntax error: " + std::string(parsed.error().description()) +
                                    Where(parsed.error().source(), ctx));
  }
  root = std::move(parsed).table();
#endif

  try {
    std::vector<std::string_view> known;
    for (const AnySection& s : Schema()) known.push_back(SectionName(s));
    for (const auto& [k, v] : root) {
      if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
      std::string what = "unknown key";
      if (v.is_table()) what = "unknown section [" + std::string(k.str()) + "]";
      if (v.is_array_of_tables()) what = "unknown section [[" + std::string(k.str()) + "]]";
      return Status::BadInput(std::string(k.str()),
                              what + Suggest(k.str(), known) + Where(k.source(), ctx));
    }

    Config config;
    for (const AnySection& any : Schema()) {
      Status st = std::visit(
          [&](const auto& sec) { return ParseSection(sec, root.get(sec.name), config, ctx); }, any);
      if (!st.ok()) return st;
    }
    Status st = ValidateSecurity(config, ctx);
    if (!st.ok()) return st;
    st = ValidateBoundEndpoints(config, ctx);
    if (!st.ok()) return st;
    if (config.store_backend == "postgresql" && config.store_postgresql_conninfo.empty()) {
      return Status::BadInput("store.postgresql_conninfo",
                              "required when store.backend is \"postgresql\"");
    }
    return config;
  } catch (const std::exception& e) {  // e.g. std::bad_alloc; never let it out
    return Status::Internal(std::string("reading the configuration: ") + e.what());
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return Status::NotFound("cannot read config file " + Quote(path) + ": no such file");
  }
  if (std::filesystem::is_directory(status)) {
    return Status::IoError("cannot read config file " + Quote(path) + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IoError("cannot read config file " + Quote(path) + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::IoError("cannot read config file " + Quote(path) + ": read error");
  }
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = path;
  Result<Config> config = ParseConfig(text.str(), absolute.parent_path().string(), path);
  if (config.ok()) config->config_path = path;
  return config;
}

std::string RenderExampleConfig() {
  std::string out;
  AppendComment(out, kExampleHeader);
  out += "\n";
  Config defaults;
  for (const AnySection& any : Schema()) {
    std::visit(
        [&](const auto& sec) {
          if constexpr (std::is_same_v<std::decay_t<decltype(sec)>, Section>) {
            AppendSectionBanner(out, "[" + std::string(sec.name) + "]", sec.doc);
            out += "[" + std::string(sec.name) + "]\n\n";
            for (const auto& f : sec.fields) AppendDocumentedField(out, f, defaults, f.example);
          } else {
            AppendSectionBanner(out, "[[" + std::string(sec.name) + "]]", sec.doc);
            for (size_t i = 0; i < sec.examples.size(); ++i) {
              auto item = sec.examples[i];
              out += "[[" + std::string(sec.name) + "]]\n";
              if (i == 0) {
                out += "\n";
                for (const auto& f : sec.fields) AppendDocumentedField(out, f, item, "");
              } else {
                for (const auto& f : sec.fields) {
                  out += std::string(f.commented ? "# " : "") + std::string(f.key) + " = " +
                         RenderValue(f, item) + "\n";
                }
                out += "\n";
              }
            }
          }
        },
        any);
  }
  while (out.ends_with("\n\n")) out.pop_back();
  return out;
}

std::string RenderConfig(const Config& config) {
  Config copy = config;
  std::string head;  // top-level keys must precede every [section]
  std::string body;
  for (const AnySection& any : Schema()) {
    std::visit(
        [&](const auto& sec) {
          const std::string name(sec.name);
          if constexpr (std::is_same_v<std::decay_t<decltype(sec)>, Section>) {
            body += "[" + name + "]\n";
            for (const auto& f : sec.fields) {
              if (IsUnset(f, copy)) continue;
              body += std::string(f.key) + " = " + RenderValue(f, copy) + "\n";
            }
            body += "\n";
          } else {
            auto& items = sec.items(copy);
            if (items.empty() && !sec.defaults.empty()) head += name + " = []\n\n";
            for (auto& item : items) {
              body += "[[" + name + "]]\n";
              for (const auto& f : sec.fields) {
                if (IsUnset(f, item)) continue;
                body += std::string(f.key) + " = " + RenderValue(f, item) + "\n";
              }
              body += "\n";
            }
          }
        },
        any);
  }
  std::string out = head + body;
  while (out.ends_with("\n\n")) out.pop_back();
  return out;
}

}  // namespace bw
