// The control-request decoder: every op decodes its fields; a missing or
// mistyped field of any op is a bad_request naming that field with its reason.
#include "handlers/wire/control_request.h"

#include <gtest/gtest.h>

#include <string>

#include "handlers/base/time_util.h"

namespace bw {
namespace {

constexpr const char* kWho = R"("officer_id":"MP-PC1234","reason":"breach check")";

// A body with the identity fields and `fields` (a JSON object member list, may be empty).
std::string Body(const std::string& fields) {
  return std::string("{") + kWho + (fields.empty() ? "" : "," + fields) + "}";
}

Result<ControlRequest> Decode(const std::string& op, const std::string& body) {
  return DecodeControlRequest(op, body, ControlDecodeOptions{});
}

TEST(ControlRequest, DecodesStatusWithIdentity) {
  auto r = Decode("status", Body(""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->op, ControlOp::kStatus);
  EXPECT_EQ(r->who.officer_id, "MP-PC1234");
  EXPECT_EQ(r->who.reason, "breach check");
}

TEST(ControlRequest, DecodesConditionsPersonWithAtTime) {
  auto r = Decode("conditions.person",
                  Body(R"("person_id":"PNC-79/123456X","at_time":"2016-08-13T20:14:05Z")"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->op, ControlOp::kConditionsPerson);
  EXPECT_EQ(r->person_id, "PNC-79/123456X");
  ASSERT_TRUE(r->at_time);
  EXPECT_EQ(*r->at_time, *ParseRfc3339("2016-08-13T20:14:05Z"));
}

TEST(ControlRequest, AtTimeIsOptional) {
  auto r = Decode("conditions.protected", Body(R"("person_id":"PNC-72/654321Y","at_time":null)"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->at_time);
}

TEST(ControlRequest, DecodesConditionsLocationByPointOrArea) {
  auto p = Decode("conditions.location", Body(R"("at":[-0.019,51.46])"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->location.at);
  EXPECT_DOUBLE_EQ(p->location.at->x(), -0.019);
  EXPECT_DOUBLE_EQ(p->location.at->y(), 51.46);
  EXPECT_TRUE(p->location.area.empty());

  auto a = Decode("conditions.location", Body(R"("area":"E09000023")"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->location.at);
  EXPECT_EQ(a->location.area, "E09000023");
}

TEST(ControlRequest, DecodesAlertOps) {
  auto since = Decode("alerts.since", Body(R"("seq":42)"));
  ASSERT_TRUE(since.ok()) << since.status().ToString();
  EXPECT_EQ(since->seq, 42);

  auto open =
      Decode("alerts.open", Body(R"("recipient":"control/E09000023/","older_than_s":3600)"));
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(open->recipient, "control/E09000023/");
  EXPECT_EQ(open->older_than_s, 3600);

  auto all_open = Decode("alerts.open", Body(""));
  ASSERT_TRUE(all_open.ok()) << all_open.status().ToString();
  EXPECT_EQ(all_open->recipient, "");
  EXPECT_EQ(all_open->older_than_s, 0);
  EXPECT_EQ(all_open->limit, kMaxPageLimit) << "a whole page unless asked for less";
  EXPECT_EQ(all_open->cursor, "");
  auto next_open = Decode("alerts.open", Body(R"("limit":2,"cursor":"17")"));
  ASSERT_TRUE(next_open.ok()) << next_open.status().ToString();
  EXPECT_EQ(next_open->limit, 2);
  EXPECT_EQ(next_open->cursor, "17");

  auto ack = Decode("alert.ack", Body(R"("alert_id":"01ARZ3NDEKTSV4RRFFQ69G5FAV")"));
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->alert_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV");

  auto resolve =
      Decode("alert.resolve", Body(R"("alert_id":"A1","outcome":"no_action","note":"had left")"));
  ASSERT_TRUE(resolve.ok()) << resolve.status().ToString();
  EXPECT_EQ(resolve->outcome, "no_action");
  EXPECT_EQ(resolve->note, "had left");
}

TEST(ControlRequest, DecodesEventSubmitKeepingTheEventObject) {
  auto r = Decode("event.submit", Body(R"("event":{"id":"e1","type":"heartbeat"})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->op, ControlOp::kEventSubmit);
  EXPECT_EQ(r->event.at("id").as_string(), "e1");
}

TEST(ControlRequest, OpNamesRoundTrip) {
  for (ControlOp op : {ControlOp::kStatus, ControlOp::kConditionsPerson,
                       ControlOp::kConditionsProtected, ControlOp::kConditionsLocation,
                       ControlOp::kHistoryPerson, ControlOp::kAlertsSince, ControlOp::kAlertsOpen,
                       ControlOp::kAlertAck, ControlOp::kAlertResolve, ControlOp::kEventSubmit}) {
    auto r = Decode(ControlOpName(op), Body(R"("person_id":"p","at":[0,51],"seq":1,
        "alert_id":"a","outcome":"warned","event":{})"));
    ASSERT_TRUE(r.ok()) << ControlOpName(op) << ": " << r.status().ToString();
    EXPECT_EQ(r->op, op);
  }
}

TEST(ControlRequest, RefusedAfterIdentityStillReportsWho) {
  ControlIdentity who;
  auto r = DecodeControlRequest("history.person", Body(""), ControlDecodeOptions{}, &who);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(who.officer_id, "MP-PC1234");
  EXPECT_EQ(who.reason, "breach check");

  ControlIdentity nobody;
  auto anon = DecodeControlRequest("status", R"({"reason":"x"})", ControlDecodeOptions{}, &nobody);
  ASSERT_FALSE(anon.ok());
  EXPECT_TRUE(nobody.officer_id.empty());
}

TEST(ControlRequest, OversizeBodyIsRefused) {
  ControlDecodeOptions options;
  options.max_body_bytes = 16;
  auto r = DecodeControlRequest("status", Body(""), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "oversize");
}

TEST(ControlRequest, UnknownOpIsEchoedOnlyAsPrintableAscii) {
  auto r = Decode(std::string("alerts.\xff\x01\n", 10), Body(""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "op");
  EXPECT_EQ(r.status().reason(), "unknown_type");
  EXPECT_EQ(r.status().message(), "unknown op \"alerts.???\"");
}

struct BadCase {
  const char* name;
  const char* op;
  std::string body;
  const char* field;
  const char* reason;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ControlRequestRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ControlRequestRejects, AsBadRequestNamingTheField) {
  const BadCase& c = GetParam();
  auto r = Decode(c.op, c.body);
  ASSERT_FALSE(r.ok()) << c.name;
  EXPECT_EQ(r.status().code(), ErrorCode::kBadInput) << r.status().ToString();
  EXPECT_STREQ(ErrorCodeName(r.status().code()), "bad_request");
  EXPECT_EQ(r.status().field(), c.field) << r.status().ToString();
  EXPECT_EQ(r.status().reason(), c.reason) << r.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(
    EveryOp, ControlRequestRejects,
    ::testing::Values(
        // The body itself.
        BadCase{"not_json", "status", "{officer_id:", "", "not_json"},
        BadCase{"not_object", "status", "[1,2]", "", "not_object"},
        BadCase{"invalid_utf8", "status", Body(std::string("\"x\":\"") + "\xff\""), "", "not_json"},
        // Identity, for every op.
        BadCase{"officer_missing", "status", R"({"reason":"r"})", "officer_id", "missing_field"},
        BadCase{"officer_null", "status", R"({"officer_id":null,"reason":"r"})", "officer_id",
                "missing_field"},
        BadCase{"officer_number", "alert.ack", R"({"officer_id":7,"reason":"r"})", "officer_id",
                "wrong_type"},
        BadCase{"officer_empty", "status", R"({"officer_id":"","reason":"r"})", "officer_id",
                "out_of_range"},
        BadCase{"reason_missing", "conditions.person", R"({"officer_id":"o"})", "reason",
                "missing_field"},
        BadCase{"reason_array", "status", R"({"officer_id":"o","reason":["r"]})", "reason",
                "wrong_type"},
        BadCase{"reason_empty", "status", R"({"officer_id":"o","reason":""})", "reason",
                "out_of_range"},
        // The op.
        BadCase{"op_unknown", "conditions.everyone", Body(""), "op", "unknown_type"},
        BadCase{"op_empty", "", Body(""), "op", "unknown_type"},
        // conditions.person / conditions.protected / history.person.
        BadCase{"person_missing", "conditions.person", Body(""), "person_id", "missing_field"},
        BadCase{"person_number", "conditions.person", Body(R"("person_id":12)"), "person_id",
                "wrong_type"},
        BadCase{"person_empty", "conditions.protected", Body(R"("person_id":"")"), "person_id",
                "out_of_range"},
        BadCase{"at_time_number", "conditions.person", Body(R"("person_id":"p","at_time":5)"),
                "at_time", "wrong_type"},
        BadCase{"at_time_no_offset", "conditions.protected",
                Body(R"("person_id":"p","at_time":"2016-08-13T20:14:05")"), "at_time", "bad_time"},
        BadCase{"history_person_missing", "history.person", Body(""), "person_id", "missing_field"},
        BadCase{"history_person_object", "history.person", Body(R"("person_id":{})"), "person_id",
                "wrong_type"},
        // conditions.location.
        BadCase{"location_nothing", "conditions.location", Body(""), "at", "missing_field"},
        BadCase{"location_at_string", "conditions.location", Body(R"("at":"51.4,-0.01")"), "at",
                "wrong_type"},
        BadCase{"location_at_three", "conditions.location", Body(R"("at":[0,51,2])"), "at",
                "wrong_type"},
        BadCase{"location_lat_range", "conditions.location", Body(R"("at":[0,91])"), "at",
                "out_of_range"},
        BadCase{"location_area_number", "conditions.location", Body(R"("area":9000023)"), "area",
                "wrong_type"},
        BadCase{"location_at_time", "conditions.location",
                Body(R"("area":"E09000023","at_time":"yesterday")"), "at_time", "bad_time"},
        // alerts.since.
        BadCase{"since_seq_missing", "alerts.since", Body(""), "seq", "missing_field"},
        BadCase{"since_seq_string", "alerts.since", Body(R"("seq":"10")"), "seq", "wrong_type"},
        BadCase{"since_seq_fraction", "alerts.since", Body(R"("seq":1.5)"), "seq", "wrong_type"},
        // alerts.open.
        BadCase{"open_recipient_array", "alerts.open", Body(R"("recipient":["a"])"), "recipient",
                "wrong_type"},
        BadCase{"open_older_string", "alerts.open", Body(R"("older_than_s":"1h")"), "older_than_s",
                "wrong_type"},
        BadCase{"open_older_null", "alerts.open", Body(R"("older_than_s":null)"), "older_than_s",
                "missing_field"},
        BadCase{"open_older_negative", "alerts.open", Body(R"("older_than_s":-1)"), "older_than_s",
                "out_of_range"},
        BadCase{"open_older_overflow", "alerts.open", Body(R"("older_than_s":9223372036854775807)"),
                "older_than_s", "out_of_range"},
        // alert.ack.
        BadCase{"ack_id_missing", "alert.ack", Body(""), "alert_id", "missing_field"},
        BadCase{"ack_id_bool", "alert.ack", Body(R"("alert_id":true)"), "alert_id", "wrong_type"},
        // alert.resolve.
        BadCase{"resolve_id_missing", "alert.resolve", Body(R"("outcome":"warned")"), "alert_id",
                "missing_field"},
        BadCase{"resolve_outcome_missing", "alert.resolve", Body(R"("alert_id":"a")"), "outcome",
                "missing_field"},
        BadCase{"resolve_outcome_number", "alert.resolve", Body(R"("alert_id":"a","outcome":3)"),
                "outcome", "wrong_type"},
        BadCase{"resolve_note_number", "alert.resolve",
                Body(R"("alert_id":"a","outcome":"warned","note":1)"), "note", "wrong_type"},
        // event.submit.
        BadCase{"submit_event_missing", "event.submit", Body(""), "event", "missing_field"},
        BadCase{"submit_event_string", "event.submit", Body(R"("event":"{}")"), "event",
                "wrong_type"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(ControlRequest, ResolveOutcomeIsValidated) {
  auto unknown = Decode("alert.resolve", Body(R"("alert_id":"a","outcome":"closed")"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kBadInput);
  EXPECT_EQ(unknown.status().field(), "outcome");

  auto no_note = Decode("alert.resolve", Body(R"("alert_id":"a","outcome":"no_action")"));
  ASSERT_FALSE(no_note.ok());
  EXPECT_EQ(no_note.status().field(), "note");
}

}  // namespace
}  // namespace bw
