#include "daemon/zap_authenticator.h"

#include <zmq_addon.hpp>

#include <array>

#include "daemon/access_policy.h"
#include "daemon/thread_name.h"

namespace bw {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr std::string_view kProbeDomain = "bw-probe";
constexpr std::string_view kProbePrefix = "bw-probe-";

std::string Z85(const zmq::message_t& key) {
  if (key.size() != 32) return "";
  char out[41];
  if (zmq_z85_encode(out, key.data<uint8_t>(), 32) == nullptr) return "";
  return out;
}

}  // namespace

ZapAuthenticator::ZapAuthenticator(zmq::context_t& ctx,
                                   std::shared_ptr<const ClientAllowList> clients,
                                   RefusalFn on_refusal, DeathFn on_death)
    : ctx_(ctx),
      socket_(ctx, zmq::socket_type::router),
      clients_(std::move(clients)),
      on_refusal_(std::move(on_refusal)),
      on_death_(std::move(on_death)) {
  socket_.set(zmq::sockopt::linger, 0);
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (probe_) probe_->close();
  socket_.close();
}

Status ZapAuthenticator::Start() {
  try {
    socket_.bind(kZapEndpoint);
    probe_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    probe_->set(zmq::sockopt::linger, 0);
    probe_->connect(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::Unavailable(std::string("cannot bind the ZAP handler at ") + kZapEndpoint +
                               ": " + e.what());
  }
  try {
    thread_ = std::thread([this] { Serve(); });
  } catch (const std::system_error& e) {
    return Status::Unavailable(std::string("cannot start the ZAP handler thread: ") + e.what());
  }
  return Status::Ok();
}

void ZapAuthenticator::SetAllowList(std::shared_ptr<const ClientAllowList> clients) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_ = std::move(clients);
}

std::shared_ptr<const ClientAllowList> ZapAuthenticator::allowlist() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_;
}

void ZapAuthenticator::Serve() {
  NameThisThread("bw-zap");
  try {
    while (!stop_) {
      const Fault fault = fault_;
      if (fault == Fault::kExit) {
        ended_ = true;
        on_death_("the ZAP handler thread ended (fault injected: zap_handler_exit)");
        return;
      }
      if (fault == Fault::kHang) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        continue;
      }
      if (fault_ != Fault::kNone) continue;  // injected while polling: this one goes unanswered
      Answer(frames);
    }
  } catch (const std::exception& e) {
    ended_ = true;
    on_death_(std::string("the ZAP handler thread failed: ") + e.what());
  }
}

void ZapAuthenticator::Answer(std::vector<zmq::message_t>& frames) {
  // [routing id][empty][version][request id][domain][address][identity][mechanism][credentials]
  if (frames.size() < 8 || frames[1].size() != 0) return;  // not a ZAP request: drop
  const std::string version = frames[2].to_string();
  const std::string request_id = frames[3].to_string();
  const std::string domain = frames[4].to_string();
  const std::string address = frames[5].to_string();
  const std::string mechanism = frames[7].to_string();

  std::string status = "400";
  std::string text;
  std::string user_id;
  std::string public_key;
  if (version != "1.0") {
    text = "unsupported ZAP version";
  } else if (mechanism != "CURVE") {
    text = "mechanism " + mechanism + " is not allowed (CURVE only)";
  } else if (frames.size() < 9 || (public_key = Z85(frames[8])).empty()) {
    text = "malformed CURVE credentials";
  } else {
    auto clients = allowlist();
    const ClientEntry* client = clients ? clients->FindByPublicKey(public_key) : nullptr;
    std::string why;
    if (client == nullptr) {
      text = "unknown client key";
    } else if (!MayConnect(*client, domain, &why)) {
      text = why + " (identity " + client->identity + ")";
    } else {
      status = "200";
      text = "OK";
      user_id = client->identity;
    }
  }
  const bool probe = domain == kProbeDomain && request_id.starts_with(kProbePrefix);
  const std::array<zmq::const_buffer, 6> reply = {
      zmq::buffer(std::string_view("1.0")),
      zmq::buffer(request_id),
      zmq::buffer(status),
      zmq::buffer(text),
      zmq::buffer(user_id),
      zmq::buffer(std::string_view()),
  };
  socket_.send(frames[0], zmq::send_flags::sndmore);
  socket_.send(zmq::message_t(), zmq::send_flags::sndmore);
  for (size_t i = 0; i < reply.size(); ++i) {
    socket_.send(reply[i], i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  if (probe) return;
  if (status == "200") {
    ++admitted_;
    return;
  }
  ++refused_;
  on_refusal_(AuthRefusal{.at = SystemClock().Now(),
                          .domain = domain,
                          .address = address,
                          .mechanism = mechanism,
                          .public_key = public_key,
                          .reason = text});
}

bool ZapAuthenticator::SendProbe() {
  outstanding_probe_ = std::string(kProbePrefix) + std::to_string(++probe_counter_);
  const std::string zero_key(32, '\0');
  const std::array<zmq::const_buffer, 8> request = {
      zmq::buffer(std::string_view()),   zmq::buffer(std::string_view("1.0")),
      zmq::buffer(outstanding_probe_),   zmq::buffer(kProbeDomain),
      zmq::buffer(std::string_view()),   zmq::buffer(std::string_view()),
      zmq::buffer(std::string_view("CURVE")), zmq::buffer(zero_key),
  };
  try {
    for (size_t i = 0; i < request.size(); ++i) {
      const auto more = i + 1 < request.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!probe_->send(request[i], more | zmq::send_flags::dontwait)) return false;
    }
  } catch (const zmq::error_t&) {
    return false;
  }
  probe_sent_at_ = std::chrono::steady_clock::now();
  return true;
}

bool ZapAuthenticator::ReadProbeAnswer(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    zmq::pollitem_t item{probe_->handle(), 0, ZMQ_POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    zmq::poll(&item, 1, std::max(left, std::chrono::milliseconds(0)));
    if (!(item.revents & ZMQ_POLLIN)) return false;
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(*probe_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      continue;
    }
    // [empty][version][request id][status code][status text][user id][metadata]
    if (frames.size() >= 4 && frames[2].to_string() == outstanding_probe_) {
      outstanding_probe_.clear();
      return true;
    }
    // An answer to an older probe: keep waiting for the current one.
  }
}

Status ZapAuthenticator::Probe(std::chrono::milliseconds timeout) {
  if (!probe_) return Status::Unavailable("the ZAP handler is not started");
  if (!SendProbe()) return Status::Unavailable("cannot send a request to the ZAP handler");
  if (!ReadProbeAnswer(timeout)) {
    return Status::Unavailable("the ZAP handler did not answer a request within " +
                               std::to_string(timeout.count()) + " ms");
  }
  return Status::Ok();
}

bool ZapAuthenticator::StillAnswering(std::chrono::milliseconds timeout) {
  if (!probe_ || ended_) return false;
  if (!outstanding_probe_.empty()) {
    if (ReadProbeAnswer(std::chrono::milliseconds(0))) return true;
    return std::chrono::steady_clock::now() - probe_sent_at_ < timeout;
  }
  return SendProbe();
}

}  // namespace bw
