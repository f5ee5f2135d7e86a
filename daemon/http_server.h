// HttpServer: serves /metrics, the landing page and the other routes over
// HTTP/1.1 (and HTTPS), on Boost.Asio + Boost.Beast.
//
// Design (docs/security.md has the limits and their measurements):
// - A small fixed pool of I/O threads (`io_threads`) runs one io_context;
//   every connection is a strand with its own deadline timer
//   (beast::tcp_stream), so a slow client never holds a thread: serving a
//   scrape never waits for another connection.
// - Deadlines per connection: TLS handshake, request head (from its first
//   byte), request body, each write, keep-alive idleness.
// - At most `max_connections` are open; when a new one arrives at the cap,
//   the oldest idle connection (waiting for a request) is closed, else the
//   oldest one still sending its head or handshake. A new scrape is never
//   refused because slow clients hold the slots.
// - Handlers registered with HandleSlow (long handlers) and filters that are
//   not cheap (a bcrypt check) run on a bounded thread pool, off the I/O
//   loop; when its queue is full the answer is 503. Handlers registered
//   with HandleAsync (/probe) return at once and answer later from their
//   own threads; the connection waits without holding any thread.
//
// Start() binds and returns an error (never aborts) when an address is in
// use. Handlers may run on several threads at once; they must be
// thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace mailhealth {

struct HttpOptions {
  // HOST:PORT, [V6]:PORT or :PORT (all addresses, IPv4 and IPv6). Each is
  // listened on; ignored when listen_fds is not empty.
  std::vector<std::string> listen_addresses = {":9732"};
  // Already listening sockets (systemd socket activation); the server
  // takes ownership.
  std::vector<int> listen_fds;
  std::string telemetry_path = "/metrics";
  // Threads running the event loop.
  int io_threads = 2;
  // Deadline to receive a whole request head, from its first byte (a
  // slowloris sending a byte a second is cut off), and to wait for the
  // first byte of a new connection.
  int request_timeout_ms = 5000;
  // Deadline to receive a request body (GET/HEAD normally have none).
  int body_timeout_ms = 5000;
  // Deadline for each write of a response.
  int write_timeout_ms = 5000;
  // Deadline for the TLS handshake.
  int tls_handshake_timeout_ms = 5000;
  // Largest request head (request line + headers), and most header
  // fields: beyond either, 431.
  int max_request_size = 8192;
  int max_header_count = 100;
  // Largest request body: beyond it, 413.
  int max_body_size = 65536;
  // Keep-alive lets Prometheus reuse its connection; an idle one is closed
  // after keep_alive_timeout_ms (or earlier, when shed at the cap).
  bool keep_alive = true;
  int keep_alive_timeout_ms = 2000;
  // Open connections at most; see above for who is closed at the cap.
  int max_connections = 8192;
  int listen_backlog = 1024;
  // Slow handlers: threads, and requests waiting for one (beyond: 503).
  int slow_pool_threads = 8;
  int slow_pool_queue = 128;
  // Responses at least this large are gzip-compressed when the client
  // accepts it and the handler did not set Content-Encoding itself.
  size_t gzip_min_size = 1024;
  // Set: serve HTTPS with this context (BuildTlsContext in web_tls.h).
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  // Added to every response (http_server_config.headers).
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;  // the raw text after '?' ("" when none)
  // X-Prometheus-Scrape-Timeout-Seconds ("" when not sent).
  std::string scrape_timeout;
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
  // Delivers the answer of an asynchronous handler; callable from any
  // thread, once (later calls, and calls after Stop(), do nothing).
  using Responder = std::function<void(HttpResponse)>;
  // Must return at once; answers later through `respond`.
  using AsyncHandler =
      std::function<void(const HttpRequest&, Responder respond)>;
  // Called before any route handler; returns a response to short-circuit
  // (e.g. 401 from basic auth), or nullopt to continue.
  using Filter = std::function<std::optional<HttpResponse>(const HttpRequest&)>;
  // True when the filter answers `request` quickly (no bcrypt): then it
  // runs on the I/O loop, else the request goes to the slow pool.
  using CheapTest = std::function<bool(const HttpRequest&)>;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes must be added before Start(). `path` is an exact path.
  void Handle(const std::string& path, Handler handler);
  // A route whose handler may take long: it runs on the slow pool, never
  // on the I/O loop.
  void HandleSlow(const std::string& path, Handler handler);
  // A route that answers later, from a thread of its own (the /probe
  // service): the handler runs on the I/O loop (or the slow pool when the
  // filter is not cheap) and must return at once; the connection waits for
  // `respond` without holding any thread.
  void HandleAsync(const std::string& path, AsyncHandler handler);
  void SetFilter(Filter filter, CheapTest is_cheap = nullptr);

  Status Start(const HttpOptions& options);
  // Closes every connection and returns within a moment (waits only for
  // slow handlers already running).
  void Stop();
  // Ports actually bound, one per listening socket (useful with port 0).
  std::vector<int> ListeningPorts() const;
  // Connections open now (for tests and the benchmark).
  size_t OpenConnections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// A listen address parsed: host ("" = all addresses, IPv4 and IPv6) and
// port. Accepts HOST:PORT, [V6]:PORT and :PORT.
struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
};
Result<ListenAddress> ParseListenAddress(const std::string& address);

// gzip-compresses `in` (for Accept-Encoding: gzip).
std::string Gzip(const std::string& in);

// True if an Accept-Encoding header value accepts gzip.
bool AcceptsGzip(const std::string& accept_encoding);

}  // namespace mailhealth
