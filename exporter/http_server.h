// HttpServer: serves /metrics (and a landing page) with civetweb.
//
// We use civetweb directly rather than prometheus-cpp's Exposer because the
// Exposer of Debian's prometheus-cpp 1.0.1 cannot serve the Content-Type
// Prometheus 3 requires (`text/plain; version=0.0.4`), offers no other
// routes (landing page), and hides civetweb's limits and TLS options.
// The text itself still comes from prometheus-cpp's TextSerializer.
//
// Start() binds and returns an error (never aborts) when the address is in
// use. Handlers run on civetweb's worker threads; the callbacks given must
// be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/status.h"

namespace mailhealth {

// Limits (docs/security.md explains the choice of defaults). civetweb
// serves one connection per worker thread; accepted connections wait in a
// queue of `connection_queue`, then in the kernel's listen backlog.
struct HttpOptions {
  std::string listen_address = ":9732";  // HOST:PORT, [V6]:PORT or :PORT
  std::string telemetry_path = "/metrics";
  // Concurrent connections served; a slow client holds one worker for at
  // most request_timeout_ms, so fewer than num_threads slow clients cannot
  // delay a scrape.
  int num_threads = 64;
  // Deadline to receive a whole request head (civetweb measures it from
  // the first byte, so a slowloris sending a byte a second is cut off) and
  // for each write of the response.
  int request_timeout_ms = 5000;
  // Largest request head (request line + headers); larger: 413/400.
  // civetweb also caps the header count at 64 (compiled in).
  int max_request_size = 8192;
  // Keep-alive lets Prometheus reuse its connection; an idle one frees its
  // worker after keep_alive_timeout_ms.
  bool keep_alive = true;
  int keep_alive_timeout_ms = 2000;
  int connection_queue = 256;
  int listen_backlog = 256;
  // Set: serve HTTPS; called with civetweb's SSL_CTX* at start to load
  // certificates and policy (see ConfigureTlsContext in web_config.h).
  std::function<bool(void* ssl_ctx)> tls_setup;
  // Added to every response (http_server_config.headers).
  std::vector<std::pair<std::string, std::string>> headers;
  // Extra civetweb options (name, value), applied last.
  std::vector<std::pair<std::string, std::string>> extra_options;
};

struct HttpRequest {
  std::string method;
  std::string path;
  std::string accept_encoding;
  std::string authorization;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Called before any route handler; returns a response to short-circuit
  // (e.g. 401 from basic auth), or nullopt to continue.
  using Filter =
      std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes must be added before Start(). `path` is an exact path.
  void Handle(const std::string& path, Handler handler);
  void SetFilter(Filter filter);

  Status Start(const HttpOptions& options);
  void Stop();
  // Ports actually bound (useful with port 0).
  std::vector<int> ListeningPorts() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Translates a Prometheus-style listen address into civetweb's
// listening_ports syntax (":9732" -> "9732", "[::1]:80" -> "[::1]:80").
// Returns an error for a malformed address.
Result<std::string> CivetListenPorts(const std::string& address);

// gzip-compresses `in` (for Accept-Encoding: gzip).
std::string Gzip(const std::string& in);

// True if an Accept-Encoding header value accepts gzip.
bool AcceptsGzip(const std::string& accept_encoding);

}  // namespace mailhealth
