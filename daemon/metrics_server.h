// MetricsServer: a minimal HTTP/1.1 endpoint (Boost.Beast) on the daemon's
// io_context that answers GET /metrics with Prometheus text produced by a
// callback, one request per connection.
//
// Thread-safety: runs on the io_context thread; the callback is invoked there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "handlers/base/status.h"

namespace bw {

class MetricsServer {
 public:
  using RenderFn = std::function<std::string()>;

  MetricsServer(boost::asio::io_context& io, RenderFn render);
  // `endpoint` is tcp://host:port.  Binds and starts accepting.
  Status Listen(const std::string& endpoint);
  void Stop();

 private:
  void Accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  RenderFn render_;
};

}  // namespace bw
