#include "tools/client.h"

#include <sstream>

#include "daemon/curve_keys.h"
#include "handlers/base/time_util.h"
#include "handlers/instruments/risk.h"

namespace bw {

Result<CurveClientKeys> LoadCurveClientKeys(const std::string& server_public_key_file,
                                            const std::string& client_secret_key_file) {
  if (server_public_key_file.empty() && client_secret_key_file.empty()) return CurveClientKeys{};
  if (server_public_key_file.empty() || client_secret_key_file.empty()) {
    return Status::BadInput(server_public_key_file.empty() ? "--server-key" : "--client-key",
                            "CURVE needs both the daemon's public key (--server-key server.pub) "
                            "and this client's secret key (--client-key NAME.key)");
  }
  auto server = ReadPublicKeyFile(server_public_key_file);
  if (!server.ok()) return server.status();
  auto mine = ReadSecretKeyFile(client_secret_key_file, false);
  if (!mine.ok()) return mine.status();
  return CurveClientKeys{*server, mine->public_z85, mine->secret_z85};
}

void ApplyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
  if (!keys.enabled()) return;
  socket.set(zmq::sockopt::curve_serverkey, keys.server_public);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

Result<boost::json::object> ControlClient::Call(const std::string& op,
                                                const boost::json::object& body) {
  try {
    zmq::socket_t sock(ctx_, zmq::socket_type::req);
    sock.set(zmq::sockopt::linger, 0);
    sock.set(zmq::sockopt::rcvtimeo, timeout_ms_);
    sock.set(zmq::sockopt::sndtimeo, timeout_ms_);
    ApplyCurveClient(sock, keys_);
    sock.connect(endpoint_);
    std::string payload = boost::json::serialize(body);
    if (!sock.send(zmq::buffer(op), zmq::send_flags::sndmore) ||
        !sock.send(zmq::buffer(payload), zmq::send_flags::none)) {
      return Status::Unavailable("cannot send to " + endpoint_);
    }
    std::vector<zmq::message_t> frames;
    auto got = zmq::recv_multipart(sock, std::back_inserter(frames));
    if (!got || frames.empty()) {
      return Status::Unavailable("no reply from breachwatchd at " + endpoint_ + " within " +
                                 std::to_string(timeout_ms_) + " ms");
    }
    boost::json::error_code ec;
    auto v = boost::json::parse(frames.back().to_string(), ec);
    if (ec || !v.is_object()) return Status::Internal("reply is not a JSON object");
    return v.get_object();
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("control socket: ") + e.what());
  }
}

namespace {
std::string Str(const boost::json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end()) return "";
  if (it->value().is_string()) return std::string(it->value().get_string());
  if (it->value().is_null()) return "";
  return boost::json::serialize(it->value());
}
}  // namespace

std::string FormatAlert(const boost::json::object& a) {
  std::ostringstream out;
  std::string severity = Str(a, "severity");
  for (auto& c : severity) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out << "#" << Str(a, "seq") << " " << severity << " " << Str(a, "kind");
  if (!Str(a, "person_id").empty()) out << "  person " << Str(a, "person_id");
  if (Str(a, "late") == "true") out << "  LATE";
  if (Str(a, "in_custody") == "true") out << "  IN CUSTODY";
  out << "  event " << Str(a, "event_time");
  auto r = a.find("recipients");
  if (r != a.end() && r->value().is_array()) {
    out << "\n    to:";
    for (const auto& t : r->value().get_array()) {
      if (t.is_string()) out << " " << std::string_view(t.get_string());
    }
  }
  out << "\n    " << Str(a, "summary");
  return out.str();
}

std::string FormatRisk(const boost::json::value& risk) {
  if (!risk.is_object()) return "";
  auto decoded = DecodeRisk({{"risk", risk}}, "instrument");
  if (!decoded.ok() || !*decoded) {
    return "risk (not readable: " + decoded.status().ToString() + ")";
  }
  const Risk& r = **decoded;
  std::string s = IsHighRisk(r) ? "HIGH RISK:" : "risk:";
  s += " level " + (r.level.empty() ? std::string("not assessed") : r.level);
  if (!r.tool.empty() || r.assessed_at) {
    s += " (" + r.tool + (r.tool.empty() || !r.assessed_at ? "" : ", ") +
         (r.assessed_at ? "assessed " + FormatRfc3339(*r.assessed_at) : "") + ")";
  }
  if (r.marac) s += *r.marac ? ", MARAC" : ", not at MARAC";
  if (r.mappa_level) s += ", MAPPA level " + std::to_string(*r.mappa_level);
  if (!r.markers.empty()) {
    s += ", markers";
    for (const auto& m : r.markers) s += " " + m;
  }
  if (r.dvds_disclosed) s += *r.dvds_disclosed ? ", DVDS disclosed" : ", DVDS not disclosed";
  return s;
}

std::string FormatCondition(const boost::json::object& c) {
  std::ostringstream out;
  out.precision(7);
  std::string kind = Str(c, "kind");
  out << Str(c, "condition_id") << " " << kind << ": ";
  auto place = [&](const char* key) {
    auto it = c.find(key);
    if (it == c.end() || !it->value().is_object()) return std::string("?");
    const auto& p = it->value().get_object();
    std::ostringstream po;
    po.precision(7);
    po << (Str(p, "label").empty() ? std::string("a place") : Str(p, "label"));
    if (auto r = p.find("radius_m"); r != p.end() && r->value().is_number()) {
      po << " (within " << r->value().to_number<double>() << " m of ";
    }
    if (auto at = p.find("at");
        at != p.end() && at->value().is_array() && at->value().get_array().size() == 2) {
      po << at->value().get_array()[0].to_number<double>() << ", "
         << at->value().get_array()[1].to_number<double>() << ")";
    }
    return po.str();
  };
  if (kind == "exclusion_zone") {
    auto z = c.find("zone");
    if (z != c.end() && z->value().is_string()) {
      out << "must not enter area " << std::string_view(z->value().get_string());
    } else {
      out << "must not enter an area drawn on the order (inline polygon)";
    }
  } else if (kind == "not_to_attend") {
    out << "must not attend " << place("place");
  } else if (kind == "no_contact") {
    out << "no contact with " << Str(c, "person");
  } else if (kind == "curfew") {
    out << "curfew at " << place("place") << ", windows " << Str(c, "windows") << " "
        << (Str(c, "tz").empty() ? std::string("Europe/London") : Str(c, "tz"));
  } else if (kind == "residence") {
    out << "must live at " << place("place");
  } else {
    out << Str(c, "text");
  }
  return out.str();
}

Result<std::vector<boost::json::value>> ParseJsonDocuments(const std::string& text) {
  std::vector<boost::json::value> out;
  boost::json::error_code ec;
  auto whole = boost::json::parse(text, ec);
  if (!ec) {
    if (whole.is_array()) {
      for (auto& v : whole.get_array()) out.push_back(v);
    } else {
      out.push_back(std::move(whole));
    }
    return out;
  }
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line[line.find_first_not_of(" \t")] == '#') continue;
    boost::json::error_code lec;
    auto v = boost::json::parse(line, lec);
    if (lec) {
      return Status::BadInput("line " + std::to_string(n), "not valid JSON: " + lec.message());
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace bw
