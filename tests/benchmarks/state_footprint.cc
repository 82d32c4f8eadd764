// state_footprint: the engine's memory per monitored person, and what replaying
// a person's grant costs, without the daemon, the store or the network.
//
// Builds N persons (default 100,000; first argument), each the subject of one
// police_bail with one exclusion_zone condition whose zone is an inline
// ~64-vertex polygon (the figure docs/benchmarks.md sets a target for), and
// gives each one tag.position fix (so that the per-person fix table holds them
// as in production).  Every grant and fix is decoded from its JSON text and
// handled as the daemon handles it, and as the daemon's start-up replays it
// (DecodeEvent, Engine::Decide, Engine::Apply).
//
// Prints the heap in use (glibc mallinfo2, exact) and the resident set (RSS,
// /proc/self/statm) added per person, and the CPU time per grant and per fix
// replayed, and the size, encoding and decoding time of a snapshot of that state.  Fixed
// seed: the same N gives the same population.  Run a Release build; not registered with CTest.
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "handlers/base/time_util.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/engine_snapshot.h"

namespace bw {
namespace {

constexpr double kPi = 3.14159265358979323846;

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

GeoPoint Offset(const GeoPoint& p, double east_m, double north_m) {
  return GeoPoint(p.x() + east_m / (111320.0 * std::cos(p.y() * kPi / 180.0)),
                  p.y() + north_m / 110574.0);
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7f", v);
  return buf;
}
std::string PointJson(const GeoPoint& p) { return "[" + Num(p.x()) + "," + Num(p.y()) + "]"; }

// An irregular ~64-vertex polygon around `c` (radius ~r metres), closed, as GeoJSON.
std::string PolygonJson(std::mt19937_64& rng, const GeoPoint& c, double r) {
  const double p1 = Uniform(rng, 0, 2 * kPi);
  std::string first, s = R"({"type":"Polygon","coordinates":[[)";
  for (int k = 0; k < 64; ++k) {
    const double t = 2 * kPi * k / 64;
    const double rk = r * (1 + 0.12 * std::sin(3 * t + p1) + Uniform(rng, -0.03, 0.03));
    const std::string v = PointJson(Offset(c, rk * std::cos(t), rk * std::sin(t)));
    if (k == 0) first = v;
    s += v + ",";
  }
  return s + first + "]]}";
}

size_t HeapInUse() { return mallinfo2().uordblks; }

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

Event MustDecode(const std::string& text, TimePoint now) {
  DecodeOptions o;
  o.now = now;
  o.require_seq = false;
  auto e = DecodeEvent(text, o);
  if (!e.ok()) {
    std::cerr << "event does not decode: " << e.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(*e);
}

void Handle(Engine& engine, const Event& e) {
  auto out = engine.Decide(e);
  if (!out.ok()) {
    std::cerr << "Decide failed: " << out.status().ToString() << "\n";
    std::exit(1);
  }
  engine.Apply(*out);
}

int Run(int persons) {
  const TimePoint grant_time = At("2024-02-01T09:00:00Z");
  const TimePoint fix_time = At("2024-02-02T09:00:00Z");
  ManualClock clock(fix_time);
  auto zones = ZoneIndex::Build({});
  if (!zones.ok()) return 1;
  Engine engine(clock, *zones, Policy{});
  std::mt19937_64 rng(20261130);

  // The texts are built first (not timed) and freed as they are handled: the heap and RSS are
  // measured before they exist and after they are gone.
  malloc_trim(0);
  const size_t heap0 = HeapInUse(), rss0 = RssBytes();
  std::vector<std::string> grants, fixes;
  grants.reserve(persons);
  fixes.reserve(persons);
  for (int i = 0; i < persons; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "PNC-%02d/%06dX", i % 100, i);
    const GeoPoint home(Uniform(rng, -0.4, 0.2), Uniform(rng, 51.35, 51.65));
    const double r = Uniform(rng, 300, 2000);
    const GeoPoint centre = Offset(home, 1.25 * r + 1000, 0);
    const std::string t = FormatRfc3339(grant_time);
    const std::string instrument_id = "BAIL/MP/2024/" + std::to_string(i);
    grants.push_back(
        R"({"type":"instrument.granted","id":"grant-)" + std::to_string(i) +
        R"(","source":"orders","time":")" + t + R"(","instrument":{"instrument_id":")" +
        instrument_id + R"(","kind":"police_bail","subject":")" + id +
        R"(","protected_persons":[],"case_ref":"01MP/)" + std::to_string(100000 + i) +
        R"(/24","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",)"
        R"("valid_from":")" +
        t +
        R"(","valid_until":null,"conditions":[{"condition_id":"c1",)"
        R"("kind":"exclusion_zone","zone":)" +
        PolygonJson(rng, centre, r) + "}]}}");
    fixes.push_back(R"({"type":"tag.position","id":"pos-)" + std::to_string(i) +
                    R"(","source":"em-provider","time":")" + FormatRfc3339(fix_time) +
                    R"(","person_id":")" + id + R"(","device_id":"TAG-)" + std::to_string(i) +
                    R"(","at":)" + PointJson(home) + R"(,"accuracy_m":10})");
  }
  size_t text_bytes = 0;
  for (const auto& g : grants) text_bytes += g.size();

  double decode_s = 0, handle_grants_s = 0, handle_fixes_s = 0;
  for (std::string& text : grants) {
    double c0 = CpuSeconds();
    Event e = MustDecode(text, fix_time);
    double c1 = CpuSeconds();
    Handle(engine, e);
    double c2 = CpuSeconds();
    decode_s += c1 - c0;
    handle_grants_s += c2 - c1;
    std::string().swap(text);
  }
  for (std::string& text : fixes) {
    Event e = MustDecode(text, fix_time);
    double c0 = CpuSeconds();
    Handle(engine, e);
    handle_fixes_s += CpuSeconds() - c0;
    std::string().swap(text);
  }
  std::vector<std::string>().swap(grants);
  std::vector<std::string>().swap(fixes);
  malloc_trim(0);
  const size_t heap1 = HeapInUse(), rss1 = RssBytes();
  std::printf(
      "persons %d (one police_bail, one inline 64-vertex exclusion zone, one fix each; grant "
      "text %.0f B each)\n"
      "heap in use per person %.0f B; RSS per person %.0f B\n"
      "replay per grant: decode %.2f us, decide+apply %.2f us; per fix decide+apply %.2f us\n",
      persons, static_cast<double>(text_bytes) / persons,
      (static_cast<double>(heap1) - heap0) / persons, (static_cast<double>(rss1) - rss0) / persons,
      decode_s * 1e6 / persons, handle_grants_s * 1e6 / persons, handle_fixes_s * 1e6 / persons);
  // What start-up from a snapshot costs instead of the replay (daemon/snapshot.h): encoding
  // the state, and decoding it into an engine.
  const double e0 = CpuSeconds();
  const std::string snapshot = EncodeEngineState(engine.state());
  const double e1 = CpuSeconds();
  auto decoded = DecodeEngineState(snapshot);
  const double e2 = CpuSeconds();
  if (!decoded.ok()) {
    std::cerr << decoded.status().ToString() << "\n";
    return 1;
  }
  std::printf("snapshot %.0f B per person; encode %.2f us, decode %.2f us per person\n",
              static_cast<double>(snapshot.size()) / persons, (e1 - e0) * 1e6 / persons,
              (e2 - e1) * 1e6 / persons);
  if (engine.state().last_fix.size() != static_cast<size_t>(persons)) {
    std::cerr << "expected one fix per person\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace bw

int main(int argc, char** argv) {
  const int persons = argc > 1 ? std::atoi(argv[1]) : 100000;
  if (persons <= 0) {
    std::cerr << "usage: state_footprint [persons]\n";
    return 2;
  }
  return bw::Run(persons);
}
