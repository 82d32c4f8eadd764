// custody.arrested / custody.released (protocol sections 4.2, 5.2, 5.3, 6.3):
// keeps the person's custody intervals and tells the officers in the case.
//
// Custody intervals (state.custody[person], ordered by `from`), judged at event
// time so late events land in the right place:
//   - arrested: opens an interval at the event time unless the person is
//     already in custody then.  A late arrest dated before a later recorded
//     arrest is bounded by that arrest (custody is assumed to last until then,
//     unless a release dated in between arrives).
//   - released, any outcome but remanded: closes the interval containing the
//     event time at that time (no interval: noted, nothing to close).
//   - released, remanded: the person stays in custody; if no interval contains
//     the event time, one is opened there.
//
// Alerts, only when the person has an instrument in force at the event time
// (otherwise the event is stored and noted):
//   - arrested -> breach_arrest (reason breach, high) or subject_arrested
//     (reason offence, medium), ONE ALERT PER INSTRUMENT in force (instrument_id,
//     case_ref, oic set), to that instrument's oic and supervisor, whoever
//     arrested and whether or not the event's instrument_id names one.  Per
//     instrument so that each case's officer acknowledges and resolves their own
//     alert and escalation goes to that case's supervisor; an officer in charge
//     of two instruments of the same person gets one alert per case.  Carries
//     arresting_officer, custody_suite, reason, history (the person's history,
//     protocol 9.1, this arrest included) and breach_count (breaches in the
//     repeat-breach window ending at the arrest): AttachHistory.  A breach
//     arrest is counted once (CountBreach), against the named instrument when
//     it is in force, else the first instrument in force; an arrest for an
//     offence is a line of the history too, counted as no breach.
//   - released -> custody_release (medium), one per instrument in force at the
//     release time, to its oic and safety_contacts, with `outcome` and
//     `instruments` (every instrument in force then, raw section-3 JSON).
//     Remand also alerts (safety contacts learn the subject stays in custody).
//     Every release is a line of the person's history with its outcome, and
//     gives its outcome to the arrest before it (PersonHistoryJson).
//
// Stateless; Decide only reads ctx.state, custody changes are Outcome mutations.
// Thread-safety as for every EventHandler.
#include <algorithm>

#include "handlers/base/time_util.h"
#include "handlers/engine/breach_counting.h"
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"
#include "handlers/rules/rule_support.h"

namespace bw {
namespace {

void OpenCustody(std::vector<CustodyInterval>* v, TimePoint t) {
  for (const auto& c : *v) {
    if (c.Contains(t)) return;
  }
  auto pos = std::upper_bound(v->begin(), v->end(), t,
                              [](TimePoint x, const CustodyInterval& c) { return x < c.from; });
  CustodyInterval c{t, std::nullopt};
  if (pos != v->end()) c.until = pos->from;
  v->insert(pos, c);
}

void CloseCustody(std::vector<CustodyInterval>* v, TimePoint t) {
  for (auto& c : *v) {
    if (c.Contains(t)) {
      c.until = t;
      return;
    }
  }
}

std::string InstrumentList(const std::vector<std::shared_ptr<const Instrument>>& in_force) {
  std::string s;
  for (size_t i = 0; i < in_force.size(); ++i) {
    s += (i ? ", " : "") + in_force[i]->instrument_id;
  }
  return s;
}

class CustodyHandler final : public EventHandler {
 public:
  const char* name() const override { return "custody"; }

  Status Decide(const Event& e, const HandlerContext& ctx, Outcome* o) const override {
    if (e.type == EventType::kCustodyArrested) return Arrested(e, ctx, o);
    if (e.type == EventType::kCustodyReleased) return Released(e, ctx, o);
    return Status::Internal(std::string("custody handler given ") + EventTypeName(e.type));
  }

 private:
  static Status Arrested(const Event& e, const HandlerContext& ctx, Outcome* o) {
    const bool already = ctx.state.InCustodyAt(e.person_id, e.time);
    o->mutations.push_back(
        [person = e.person_id, t = e.time](EngineState& s) { OpenCustody(&s.custody[person], t); });
    auto in_force = ctx.state.instruments.SubjectInForce(e.person_id, e.time);
    const bool breach = e.arrest_reason == "breach";
    const Instrument* named = nullptr;
    for (const auto& ins : in_force) {
      if (!e.instrument_id.empty() && ins->instrument_id == e.instrument_id) named = ins.get();
    }
    // A breach arrest is a line of the history as a counted breach (CountBreach, below); an
    // arrest for an offence is one too, counted as nothing.
    if (!breach || in_force.empty()) {
      HistoryEntry line{
          e.time, AlertKindName(breach ? AlertKind::kBreachArrest : AlertKind::kSubjectArrested),
          named != nullptr ? named->instrument_id : e.instrument_id};
      line.cause_source = e.source;
      line.cause_id = e.id;
      RecordHistory(ctx, e.person_id, std::move(line), o);
    }
    const std::string custody_note =
        already ? " (already in custody at that time)" : "; custody interval opened";
    if (in_force.empty()) {
      o->note = "arrest of " + e.person_id + " (" + e.arrest_reason +
                "): no instrument in force; stored, no alert" + custody_note;
      return Status::Ok();
    }

    const size_t first_alert = o->alerts.size();
    if (breach) {
      CountBreach(ctx, e, named != nullptr ? *named : *in_force.front(), e.person_id, e.time,
                  AlertKind::kBreachArrest, o);
    }

    boost::json::array instrument_ids;
    for (const auto& ins : in_force) instrument_ids.emplace_back(ins->instrument_id);

    std::vector<std::string> areas, control_areas;
    ResolveAreas(ctx.zones, e.location, &areas, &control_areas);
    std::vector<Alert> alerts;
    for (const auto& ins : in_force) {
      Alert a =
          NewEventAlert(ctx, e, breach ? AlertKind::kBreachArrest : AlertKind::kSubjectArrested,
                        breach ? Severity::kHigh : Severity::kMedium, e.person_id, ins.get());
      a.in_custody = true;
      a.location_areas = areas;
      AddRecipient(&a, OfficerTopic(ins->oic));
      AddRecipient(&a, OfficerTopic(ins->supervisor));
      a.summary =
          e.person_id + " arrested " +
          (breach ? std::string("for breach of conditions") : std::string("for an offence")) +
          " by " + e.arresting_officer +
          (e.custody_suite.empty() ? std::string() : ", custody suite " + e.custody_suite) +
          "; subject of " + ins->instrument_id +
          (ins->case_ref.empty() ? std::string() : " (case " + ins->case_ref + ")");
      if (!e.instrument_id.empty() && named == nullptr) {
        a.summary += "; the arrest names " + e.instrument_id + ", which is not in force";
      }
      a.extra["arresting_officer"] = e.arresting_officer;
      a.extra["custody_suite"] = e.custody_suite;
      a.extra["reason"] = e.arrest_reason;
      if (!e.instrument_id.empty()) a.extra["arrest_instrument_id"] = e.instrument_id;
      AttachHistory(ctx, *o, &a);
      a.extra["instruments_in_force"] = instrument_ids;
      a.extra["owning_control"] = ins->owning_control;
      alerts.push_back(std::move(a));
    }
    // Arrest alerts first, then any repeat_breach this arrest triggered.
    o->alerts.insert(o->alerts.begin() + static_cast<ptrdiff_t>(first_alert),
                     std::make_move_iterator(alerts.begin()),
                     std::make_move_iterator(alerts.end()));
    o->note = "arrest of " + e.person_id + " (" + e.arrest_reason + ") with " +
              std::to_string(in_force.size()) +
              " instrument(s) in force: " + InstrumentList(in_force) + custody_note;
    return Status::Ok();
  }

  static Status Released(const Event& e, const HandlerContext& ctx, Outcome* o) {
    const bool remanded = e.outcome == "remanded";
    const std::optional<TimePoint> since = ctx.state.CustodySince(e.person_id, e.time);
    o->mutations.push_back([person = e.person_id, t = e.time, remanded](EngineState& s) {
      if (remanded) {
        OpenCustody(&s.custody[person], t);
      } else {
        CloseCustody(&s.custody[person], t);
      }
    });
    HistoryEntry line{e.time, AlertKindName(AlertKind::kCustodyRelease), e.instrument_id};
    line.outcome = e.outcome;
    line.cause_source = e.source;
    line.cause_id = e.id;
    RecordHistory(ctx, e.person_id, std::move(line), o);
    std::string custody_note;
    if (remanded) {
      custody_note =
          since ? "; stays in custody" : "; no recorded arrest, custody opened at remand";
    } else {
      custody_note = since ? "; custody interval closed"
                           : "; no custody interval recorded at that time, nothing to close";
    }
    auto in_force = ctx.state.instruments.SubjectInForce(e.person_id, e.time);
    if (in_force.empty()) {
      o->note = "release of " + e.person_id + " (" + e.outcome +
                "): no instrument in force; stored, no alert" + custody_note;
      return Status::Ok();
    }

    std::vector<InstrumentVersionRef> instruments;
    for (const auto& ins : in_force) instruments.push_back({ins->instrument_id, ins->version});
    for (const auto& ins : in_force) {
      Alert a = NewEventAlert(ctx, e, AlertKind::kCustodyRelease, Severity::kMedium, e.person_id,
                              ins.get());
      a.in_custody = remanded;
      AddRecipient(&a, OfficerTopic(ins->oic));
      for (const auto& contact : ins->safety_contacts) AddRecipient(&a, OfficerTopic(contact));
      a.summary = remanded ? e.person_id + " remanded in custody"
                           : e.person_id + " released from custody (" + e.outcome + ")";
      a.summary += "; " + std::to_string(in_force.size()) +
                   " instrument(s) in force: " + InstrumentList(in_force);
      a.extra["outcome"] = e.outcome;
      a.extra["instruments"] = boost::json::array();  // the daemon puts their JSON in
      a.embed_instruments = instruments;
      if (since) a.extra["custody_since"] = FormatRfc3339(*since);
      if (!e.instrument_id.empty()) a.extra["release_instrument_id"] = e.instrument_id;
      a.extra["owning_control"] = ins->owning_control;
      o->alerts.push_back(std::move(a));
    }
    o->note = "release of " + e.person_id + " (" + e.outcome + ") with " +
              std::to_string(in_force.size()) + " instrument(s) in force" + custody_note;
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeCustodyHandler() {
  return std::make_shared<CustodyHandler>();
}

}  // namespace bw
