// What the in-process stage tests share (tests/daemon/): inbound messages as intake hands them
// (event.submit framing), the bail and person check most of them start from, two places either
// side of the Lewisham border, and a journal that forwards to another so that a test can count
// what the matcher asks of it.
//
// Thread-safety: none needed; each test drives its stages from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "daemon/journal.h"
#include "daemon/stage_values.h"

namespace bw::test {

// Lewisham 014 and Greenwich 035 MSOA population-weighted centroids (ONS), as JSON text.
inline constexpr const char* kInLewisham = "[-0.026769491892293,51.456018429508376]";
inline constexpr const char* kInGreenwich = "[-0.018494194999263,51.481203765754287]";

// `payload` as event.submit hands it to the matcher (no seq required).
inline InboundMessage Message(const std::string& payload) {
  InboundMessage m;
  m.channel = "control";
  m.topic = "event.submit";
  m.payload = payload;
  m.require_seq = false;
  return m;
}

// Bail BAIL/1 excluding its subject PNC-1 from Lewisham (E09000023).
inline InboundMessage Grant() {
  return Message(
      R"({"type":"instrument.granted","id":"g-1","source":"custody","time":"2016-05-10T14:00:00Z",
    "instrument":{"instrument_id":"BAIL/1","kind":"police_bail","subject":"PNC-1","protected_persons":[],
    "case_ref":"CASE-1","oic":"MP-PC1234","supervisor":"MP-DS0077","owning_control":"E09000023",
    "valid_from":"2016-05-10T14:00:00Z","valid_until":null,
    "conditions":[{"condition_id":"c1","kind":"exclusion_zone","zone":"E09000023"}]}})");
}

// A person check of PNC-1 by MP-PC5555 at `at` ([lon, lat] text).
inline InboundMessage Check(const std::string& id, const char* at) {
  return Message(R"({"type":"check.person","id":")" + id +
                 R"(","source":"checks","time":"2016-08-13T20:59:30Z","person_id":"PNC-1",
                 "officer_id":"MP-PC5555","at":)" +
                 at + "}");
}

// A journal that hands every call to `inner`; a test overrides what it counts.
class ForwardingJournal : public Journal {
 public:
  explicit ForwardingJournal(Journal& inner) : inner_(inner) {}
  Result<CommittedBatch> Commit(JournalEntry* entry) override { return inner_.Commit(entry); }
  Result<std::optional<std::string>> HandledPayload(const std::string& source,
                                                    const std::string& msg_id) override {
    return inner_.HandledPayload(source, msg_id);
  }
  Status ForEachHandled(int64_t after_row, const Store::HandledRowFn& fn) override {
    return inner_.ForEachHandled(after_row, fn);
  }
  Result<std::vector<std::tuple<std::string, std::string, int64_t>>> LastSeqs() override {
    return inner_.LastSeqs();
  }
  Status ForEachResolvedAlert(
      const std::function<void(const std::string&, const std::string&)>& fn) override {
    return inner_.ForEachResolvedAlert(fn);
  }
  Status LoadSeq() override { return inner_.LoadSeq(); }
  int64_t last_alert_seq() const override { return inner_.last_alert_seq(); }

 protected:
  Journal& inner_;
};

// The plan file the fault-injecting store reads (daemon/fault_injecting_store.h).  Write()
// replaces it and moves its mtime on by a second each time, since the decorator re-reads the plan
// when its mtime changes and two writes can fall within the file system's mtime resolution.
class FaultPlan {
 public:
  explicit FaultPlan(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  void Write(const std::string& plan) {
    std::ofstream(path_) << plan << "\n";
    std::filesystem::last_write_time(
        path_, std::filesystem::last_write_time(path_) + std::chrono::seconds(++writes_));
  }

 private:
  std::string path_;
  int writes_ = 0;
};

}  // namespace bw::test
