#include "daemon/metrics_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace bw {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// One connection: read a request, write the response, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const MetricsServer::RenderFn& render)
      : stream_(std::move(socket)), render_(render) {}

  void Start() {
    stream_.expires_after(std::chrono::seconds(10));
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, request_,
                     [self](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return;
    response_.version(request_.version());
    response_.keep_alive(false);
    if (request_.method() != http::verb::get) {
      response_.result(http::status::method_not_allowed);
      response_.body() = "GET only\n";
    } else if (request_.target() != "/metrics" && request_.target() != "/") {
      response_.result(http::status::not_found);
      response_.body() = "try /metrics\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4");
      response_.body() = render_();
    }
    response_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(stream_, response_, [self](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  const MetricsServer::RenderFn& render_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, RenderFn render)
    : io_(io), acceptor_(io), render_(std::move(render)) {}

Status MetricsServer::Listen(const std::string& endpoint) {
  const std::string prefix = "tcp://";
  if (endpoint.rfind(prefix, 0) != 0) return Status::BadInput("metrics.endpoint", "must be tcp://");
  std::string hostport = endpoint.substr(prefix.size());
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return Status::BadInput("metrics.endpoint", "needs a port");
  std::string host = hostport.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return Status::BadInput("metrics.endpoint", "not an IP address: " + host);
  unsigned short port = static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)));
  tcp::endpoint ep(address, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) return Status::Unavailable("metrics: cannot listen on " + endpoint + ": " + ec.message());
  Accept();
  return Status::Ok();
}

void MetricsServer::Stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void MetricsServer::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), render_)->Start();
    Accept();
  });
}

}  // namespace bw
