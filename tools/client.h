// Client side of the control socket and alert stream, shared by breachctl,
// the feed simulator and the integration tests.
//
// ControlClient sends one request (op frame + JSON body) and waits for the
// reply with a timeout; a fresh REQ socket per call keeps a lost reply from
// wedging the next call.  Thread-safety: one thread per client.
#pragma once

#include <boost/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <optional>
#include <string>

#include "handlers/base/status.h"

namespace bw {

// CURVE client keys (security.mode "curve"): the daemon's public key and this client's key pair.
// All empty = no security (mode "none").
struct CurveClientKeys {
  std::string server_public;  // Z85
  std::string public_key;     // Z85
  std::string secret_key;     // Z85
  bool enabled() const { return !server_public.empty(); }
};

// Reads the daemon's public key file (server.pub) and this client's secret key file (NAME.key;
// its public key is derived).  Both empty: no security.  One without the other is an error.
Result<CurveClientKeys> LoadCurveClientKeys(const std::string& server_public_key_file,
                                            const std::string& client_secret_key_file);

// Makes `socket` a CURVE client of the daemon (before connect or bind).  No-op when disabled.
void ApplyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);

class ControlClient {
 public:
  ControlClient(zmq::context_t& ctx, std::string endpoint, int timeout_ms = 5000,
                CurveClientKeys keys = {})
      : ctx_(ctx), endpoint_(std::move(endpoint)), timeout_ms_(timeout_ms), keys_(std::move(keys)) {}

  // Sends `body` (officer_id and reason are the caller's job) as `op`.  The
  // reply object is returned as received, ok or not; transport failure and
  // time-out give an Unavailable status.
  Result<boost::json::object> Call(const std::string& op, const boost::json::object& body);

 private:
  zmq::context_t& ctx_;
  std::string endpoint_;
  int timeout_ms_;
  CurveClientKeys keys_;
};

// One readable line (plus an indented summary line) for an alert payload.
std::string FormatAlert(const boost::json::object& alert);

// One readable line for a condition object (spec section 3 shape).
std::string FormatCondition(const boost::json::object& condition);

// One readable line for an instrument's `risk` object (protocol 9.2), e.g.
// "HIGH RISK: level high (DARA, assessed 2016-08-10T12:00:00Z), MARAC, MAPPA
// level 0, markers VI WE, DVDS not disclosed"; "" for a value that is no object.
std::string FormatRisk(const boost::json::value& risk);

// Reads every JSON value from `text`: a single object, an array of objects, or
// one object per line (JSON Lines).  Errors name the line.
Result<std::vector<boost::json::value>> ParseJsonDocuments(const std::string& text);

}  // namespace bw
