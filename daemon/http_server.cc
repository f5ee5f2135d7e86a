#include "daemon/http_server.h"

#include <sys/socket.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include "daemon/tls_stream.h"
#include "exporter/logging.h"

namespace mailhealth {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

HttpResponse TextResponse(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", {}, std::move(body)};
}

// A fixed set of threads with a bounded queue, for handlers that may take
// long. Submit() refuses (returns false) when the queue is full.
class SlowPool {
 public:
  void Start(int threads, size_t queue_cap) {
    cap_ = queue_cap;
    stopping_ = false;
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  bool Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || threads_.empty() || queue_.size() >= cap_) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }
  // Drops what waits, joins the threads (waits for running tasks).
  void Stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t cap_ = 0;
  bool stopping_ = false;
};

// What a connection is doing, for shedding at the connection cap.
enum ConnState : int { kHandshake, kIdle, kReading, kBusy, kClosing };

class ConnBase : public std::enable_shared_from_this<ConnBase> {
 public:
  virtual ~ConnBase() = default;
  // Closes the connection from any thread (posted to its strand).
  virtual void Shed() = 0;
  // Sends `r` from any thread (posted to its strand).
  virtual void PostResponse(HttpResponse r) = 0;
  std::atomic<int> state{kIdle};
  std::list<ConnBase*>::iterator self_in_list;
};

// Connections waiting for an asynchronous handler's answer, kept alive
// here (nothing else holds them: no I/O is pending on them). Shared with
// every Responder; Stop() closes it before the io_context goes, so a
// late answer is dropped instead of touching a destroyed loop.
struct AsyncGate {
  std::mutex mu;
  bool open = true;
  std::map<ConnBase*, std::shared_ptr<ConnBase>> parked;
};

}  // namespace

struct HttpServer::Impl {
  struct Route {
    Handler handler;
    bool slow = false;
    AsyncHandler async;
  };
  struct Listener {
    explicit Listener(net::io_context& ioc) : acceptor(ioc), retry(ioc) {}
    tcp::acceptor acceptor;
    net::steady_timer retry;
  };

  std::map<std::string, Route> routes;
  Filter filter;
  CheapTest filter_is_cheap;
  HttpOptions opts;

  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<net::executor_work_guard<net::io_context::executor_type>>
      work;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::vector<int> ports;
  std::vector<std::thread> io_threads;
  SlowPool pool;
  std::shared_ptr<AsyncGate> gate;
  bool running = false;

  mutable std::mutex conns_mu;
  std::list<ConnBase*> conns;  // oldest first

  Status Listen(const std::string& address);
  Status Adopt(int fd);
  void Accept(Listener* l);
  bool MakeRoom();
  void Register(ConnBase* c) {
    std::lock_guard<std::mutex> lock(conns_mu);
    c->self_in_list = conns.insert(conns.end(), c);
  }
  void Unregister(ConnBase* c) {
    std::lock_guard<std::mutex> lock(conns_mu);
    conns.erase(c->self_in_list);
  }
  // The filter and the route's handler (exceptions become 500). Returns
  // nullopt when an asynchronous handler took the request: it answers
  // through a Responder made for `conn`.
  std::optional<HttpResponse> Run(const HttpRequest& req,
                                  const std::shared_ptr<ConnBase>& conn) const;
  // True if `req` must run on the slow pool.
  bool NeedsPool(const HttpRequest& req) const;
};

namespace {

template <bool kTls>
class Session : public ConnBase {
 public:
  using Stream = std::conditional_t<kTls, TlsStream, beast::tcp_stream>;

  // Until its first byte a connection holds only its socket and a timer:
  // the read buffer, the parser and, with TLS, the OpenSSL session and its
  // 8 KB socket read buffer (daemon/tls_stream.h) are made when the client
  // sends something, so thousands of silent or stalled clients cost little
  // memory.
  Session(HttpServer::Impl* impl, tcp::socket&& socket)
      : impl_(impl),
        ex_(socket.get_executor()),
        pending_(std::move(socket)),
        first_byte_timer_(ex_),
        buffer_(BufferLimit(impl)) {}
  ~Session() override { impl_->Unregister(this); }

  void Run() {
    net::dispatch(ex_, [self = Self()] { self->Begin(); });
  }

  void Shed() override {
    net::post(ex_, [self = Self()] { self->Close(); });
  }

  void PostResponse(HttpResponse r) override {
    net::post(ex_, [self = Self(), r = std::move(r)]() mutable {
      self->Respond(std::move(r));
    });
  }

 private:
  static size_t BufferLimit(const HttpServer::Impl* impl) {
    return static_cast<size_t>(impl->opts.max_request_size) +
           static_cast<size_t>(impl->opts.max_body_size) + 4096;
  }
  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(shared_from_this());
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(*stream_); }
  void Deadline(int ms) {
    Lowest().expires_after(std::chrono::milliseconds(ms));
  }
  const HttpOptions& opts() const { return impl_->opts; }

  // A new connection: waits (without a buffer) until the client sends its
  // first byte or the deadline for it passes (the TLS handshake's, else
  // the request head's), then makes the stream.
  void Begin() {
    if (state == kClosing) return Close();
    state = kTls ? kHandshake : kIdle;
    const int ms =
        kTls ? opts().tls_handshake_timeout_ms : opts().request_timeout_ms;
    first_byte_timer_.expires_after(std::chrono::milliseconds(ms));
    first_byte_timer_.async_wait([self = Self()](beast::error_code ec) {
      if (!ec) self->Close();
    });
    pending_->async_wait(tcp::socket::wait_read,
                         [self = Self(), ms](beast::error_code ec) {
                           self->OnFirstByte(ec, ms);
                         });
  }

  void OnFirstByte(beast::error_code ec, int ms) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        first_byte_timer_.expiry() - std::chrono::steady_clock::now());
    first_byte_timer_.cancel();
    if (ec || state == kClosing || !pending_) return Close();
    if constexpr (kTls) {
      stream_.emplace(std::move(*pending_),
                      opts().tls_context->native_handle());
      if (!stream_->ok()) {
        pending_.reset();
        return Close();
      }
    } else {
      stream_.emplace(std::move(*pending_));
    }
    pending_.reset();
    // The deadline still runs from the connection's start.
    Deadline(std::max<int>(1, std::min<int>(ms, static_cast<int>(left.count()))));
    if constexpr (kTls) {
      stream_->async_handshake([self = Self()](beast::error_code e, size_t) {
        if (e) return self->Close();
        self->WaitForRequest(true);
      });
    } else {
      ReadFirst();
    }
  }

  // Reads what the client sent so far (the first request's head has its
  // deadline set already).
  void ReadFirst() {
    state = kIdle;
    stream_->async_read_some(buffer_.prepare(kFirstRead),
                             [self = Self()](beast::error_code ec, size_t n) {
                               if (ec) return self->Close();
                               self->buffer_.commit(n);
                               self->ReadHead();
                             });
  }

  // Idle: waits for the first byte of a request (a new connection: up to
  // the head deadline; between keep-alive requests: keep_alive_timeout).
  void WaitForRequest(bool first) {
    if (state == kClosing) return Close();
    if (buffer_.size() > 0) return ReadHead();  // pipelined
    state = kIdle;
    Deadline(first ? opts().request_timeout_ms : opts().keep_alive_timeout_ms);
    stream_->async_read_some(buffer_.prepare(kFirstRead),
                            [self = Self()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHead();
                            });
  }

  void ReadHead() {
    if (state == kClosing) return Close();
    state = kReading;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opts().max_request_size));
    parser_->body_limit(static_cast<uint64_t>(opts().max_body_size));
    // One deadline for the whole head, from its first byte.
    Deadline(opts().request_timeout_ms);
    bhttp::async_read_header(
        *stream_, buffer_, *parser_,
        [self = Self()](beast::error_code ec, size_t) { self->OnHead(ec); });
  }

  // Parse errors get an answer; timeouts and resets just close.
  bool Failed(beast::error_code ec) {
    if (!ec) return false;
    if (ec == bhttp::error::header_limit ||
        ec == bhttp::error::buffer_overflow ||
        ec == beast::error_code(net::error::no_buffer_space)) {
      Fail(431, "request header fields too large\n");
    } else if (ec == bhttp::error::body_limit) {
      Fail(413, "request body too large\n");
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method)
                                    .category() &&
               ec != bhttp::error::end_of_stream &&
               ec != bhttp::error::partial_message) {
      Fail(400, "bad request\n");
    } else {
      Close();
    }
    return true;
  }

  void OnHead(beast::error_code ec) {
    if (Failed(ec)) return;
    const auto& req = parser_->get();
    if (std::distance(req.begin(), req.end()) > opts().max_header_count) {
      return Fail(431, "too many request header fields\n");
    }
    if (parser_->is_done()) return Dispatch();
    Deadline(opts().body_timeout_ms);
    bhttp::async_read(*stream_, buffer_, *parser_,
                      [self = Self()](beast::error_code e, size_t) {
                        if (self->Failed(e)) return;
                        self->Dispatch();
                      });
  }

  void Dispatch() {
    state = kBusy;
    Lowest().expires_never();
    const auto& msg = parser_->get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    std::string target(msg.target());
    const size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.scrape_timeout =
        std::string(msg["X-Prometheus-Scrape-Timeout-Seconds"]);
    req.accept_encoding = std::string(msg[bhttp::field::accept_encoding]);
    req.authorization = std::string(msg[bhttp::field::authorization]);
    keep_alive_ = opts().keep_alive && msg.keep_alive();
    http10_ = msg.version() < 11;
    head_only_ = req.method == "HEAD";
    gzip_ok_ = AcceptsGzip(req.accept_encoding);
    parser_.reset();
    if (req.method != "GET" && req.method != "HEAD") {
      HttpResponse r = TextResponse(405, "method not allowed\n");
      r.headers.push_back({"Allow", "GET, HEAD"});
      return Respond(std::move(r));
    }
    auto self = Self();
    if (!impl_->NeedsPool(req)) {
      if (auto r = impl_->Run(req, self)) Respond(std::move(*r));
      return;
    }
    const bool queued = impl_->pool.Submit([self, req] {
      if (auto r = self->impl_->Run(req, self)) {
        self->PostResponse(std::move(*r));
      }
    });
    if (!queued) {
      HttpResponse r = TextResponse(503, "too many requests in flight\n");
      r.headers.push_back({"Retry-After", "1"});
      Respond(std::move(r));
    }
  }

  void Fail(int status, const char* body) {
    keep_alive_ = false;
    head_only_ = false;
    gzip_ok_ = false;
    parser_.reset();
    Respond(TextResponse(status, body));
  }

  void Respond(HttpResponse r) {
    if (state == kClosing) return Close();
    state = kBusy;
    bool encoded = false;
    for (const auto& [k, v] : r.headers) {
      if (strcasecmp(k.c_str(), "Content-Encoding") == 0) encoded = true;
    }
    std::string extra;
    if (!encoded && gzip_ok_ && r.body.size() >= opts().gzip_min_size) {
      r.body = Gzip(r.body);
      extra = "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n";
    }
    head_ = "HTTP/1.1 " + std::to_string(r.status) + " " +
            StatusText(r.status) + "\r\n";
    head_ += "Content-Type: " + r.content_type + "\r\n";
    for (const auto& [k, v] : opts().headers) head_ += k + ": " + v + "\r\n";
    for (const auto& [k, v] : r.headers) head_ += k + ": " + v + "\r\n";
    head_ += extra;
    head_ += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (!keep_alive_) {
      head_ += "Connection: close\r\n";
    } else if (http10_) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";
    body_ = head_only_ ? std::string() : std::move(r.body);
    Deadline(opts().write_timeout_ms);
    std::array<net::const_buffer, 2> bufs = {net::buffer(head_),
                                             net::buffer(body_)};
    auto done = [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      // Freed, not kept: an idle keep-alive connection holds no copy of
      // the last body.
      std::string().swap(self->head_);
      std::string().swap(self->body_);
      if (!self->keep_alive_) return self->Linger();
      self->WaitForRequest(false);
    };
    if constexpr (kTls) {
      // Encrypted in one go, sent in one socket write (daemon/tls_stream.h).
      stream_->async_write_all(bufs, std::move(done));
    } else {
      net::async_write(*stream_, bufs, std::move(done));
    }
  }

  // After the last response: half-close, then read (and drop) what the
  // client still sends for a moment, so that closing with unread input
  // does not reset the connection before the client has read the answer.
  void Linger() {
    state = kIdle;
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    buffer_.clear();
    Lowest().expires_after(std::chrono::milliseconds(500));
    Lowest().async_read_some(buffer_.prepare(kFirstRead),
                             [self = Self()](beast::error_code e, size_t) {
                               if (e) return self->Close();
                               self->buffer_.clear();
                               self->Linger();
                             });
  }

  void Close() {
    state = kClosing;
    beast::error_code ec;
    first_byte_timer_.cancel();
    if (pending_) {
      pending_->shutdown(tcp::socket::shutdown_both, ec);
      pending_->close(ec);
      return;
    }
    if (!stream_) return;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  // What one read asks for: a whole ordinary request head (Prometheus
  // sends about 250 bytes); a longer one is read on in further reads.
  static constexpr size_t kFirstRead = 1024;

  HttpServer::Impl* impl_;
  net::any_io_executor ex_;               // the connection's strand
  std::optional<tcp::socket> pending_;    // until the first byte
  net::steady_timer first_byte_timer_;
  std::optional<Stream> stream_;          // from the first byte on
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string head_, body_;
  bool keep_alive_ = false, http10_ = false, head_only_ = false,
       gzip_ok_ = false;
};

}  // namespace

namespace {

// The one-shot answer path of an asynchronous handler: parks `conn` in the
// gate until the answer comes (or Stop() closes the gate).
HttpServer::Responder MakeResponder(const std::shared_ptr<AsyncGate>& gate,
                                    const std::shared_ptr<ConnBase>& conn) {
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    if (gate->open) gate->parked[conn.get()] = conn;
  }
  return [gate, key = conn.get()](HttpResponse r) {
    std::shared_ptr<ConnBase> c;
    std::lock_guard<std::mutex> lock(gate->mu);
    if (!gate->open) return;
    auto it = gate->parked.find(key);
    if (it == gate->parked.end()) return;  // answered already
    c = std::move(it->second);
    gate->parked.erase(it);
    // Posted under the lock: Stop() cannot destroy the loop meanwhile.
    c->PostResponse(std::move(r));
  };
}

}  // namespace

std::optional<HttpResponse> HttpServer::Impl::Run(
    const HttpRequest& req, const std::shared_ptr<ConnBase>& conn) const {
  try {
    if (filter) {
      if (auto early = filter(req)) return *early;
    }
    auto it = routes.find(req.path);
    if (it == routes.end()) return TextResponse(404, "404 page not found\n");
    if (it->second.async) {
      HttpServer::Responder respond = MakeResponder(gate, conn);
      try {
        it->second.async(req, respond);
      } catch (...) {
        LogError("http handler failed", {{"path", req.path}});
        respond(TextResponse(500, "internal error\n"));
      }
      return std::nullopt;
    }
    return it->second.handler(req);
  } catch (const std::exception& e) {
    LogError("http handler failed", {{"path", req.path}, {"err", e.what()}});
  } catch (...) {
    LogError("http handler failed", {{"path", req.path}});
  }
  return TextResponse(500, "internal error\n");
}

bool HttpServer::Impl::NeedsPool(const HttpRequest& req) const {
  if (filter && filter_is_cheap && !filter_is_cheap(req)) return true;
  auto it = routes.find(req.path);
  return it != routes.end() && it->second.slow;
}

// At the cap: closes the oldest idle connection, else the oldest one still
// in its handshake or head. False (refuse the new one) only if every open
// connection is being served right now.
bool HttpServer::Impl::MakeRoom() {
  std::shared_ptr<ConnBase> victim;
  {
    std::lock_guard<std::mutex> lock(conns_mu);
    size_t live = 0;
    ConnBase* idle = nullptr;
    ConnBase* slow = nullptr;
    for (ConnBase* c : conns) {
      const int s = c->state.load();
      if (s == kClosing) continue;
      ++live;
      if (s == kIdle && idle == nullptr) idle = c;
      if ((s == kHandshake || s == kReading) && slow == nullptr) slow = c;
    }
    if (live < static_cast<size_t>(opts.max_connections)) return true;
    ConnBase* pick = idle != nullptr ? idle : slow;
    if (pick == nullptr) return false;
    pick->state = kClosing;
    victim = pick->weak_from_this().lock();
  }
  if (victim) victim->Shed();
  return true;
}

void HttpServer::Impl::Accept(Listener* l) {
  l->acceptor.async_accept(
      net::make_strand(*ioc), [this, l](beast::error_code ec, tcp::socket s) {
        if (ec == net::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors or similar: try again shortly rather than
          // spinning.
          LogDebug("accept failed", {{"err", ec.message()}});
          l->retry.expires_after(std::chrono::milliseconds(50));
          l->retry.async_wait([this, l](beast::error_code e) {
            if (!e) Accept(l);
          });
          return;
        }
        beast::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        if (MakeRoom()) {
          if (opts.tls_context) {
            auto t = std::make_shared<Session<true>>(this, std::move(s));
            Register(t.get());
            t->Run();
          } else {
            auto p = std::make_shared<Session<false>>(this, std::move(s));
            Register(p.get());
            p->Run();
          }
        }
        Accept(l);
      });
}

Result<ListenAddress> ParseListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::Error("invalid listen address \"" + address +
                         "\" (want HOST:PORT or :PORT)");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return Status::Error("invalid port in listen address \"" + address + "\"");
  }
  ListenAddress out;
  out.port = std::stoi(port);
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      return Status::Error("invalid listen address \"" + address + "\"");
    }
    host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    net::ip::make_address_v6(host, ec);
    if (ec) {
      return Status::Error("invalid IPv6 address in listen address \"" +
                           address + "\"");
    }
  } else if (host.find(':') != std::string::npos) {
    return Status::Error("IPv6 listen address must be in brackets: \"" +
                         address + "\"");
  }
  out.host = host;
  return out;
}

Status HttpServer::Impl::Listen(const std::string& address) {
  auto parsed = ParseListenAddress(address);
  if (!parsed.ok()) return parsed.status();
  const auto port = static_cast<unsigned short>(parsed->port);
  auto fail = [&](const std::string& why) {
    return Status::Error("cannot listen on " + address + ": " + why);
  };
  tcp::endpoint ep;
  bool dual = false;
  if (parsed->host.empty() || parsed->host == "::") {
    ep = tcp::endpoint(net::ip::address_v6::any(), port);
    dual = true;
  } else if (parsed->host == "localhost") {
    ep = tcp::endpoint(net::ip::address_v4::loopback(), port);
  } else {
    beast::error_code ec;
    auto a = net::ip::make_address(parsed->host, ec);
    if (!ec) {
      ep = tcp::endpoint(a, port);
    } else {
      tcp::resolver resolver(*ioc);
      auto results = resolver.resolve(parsed->host, std::to_string(port), ec);
      if (ec || results.empty()) {
        return fail("cannot resolve " + parsed->host + ": " + ec.message());
      }
      ep = results.begin()->endpoint();
    }
  }
  auto l = std::make_unique<Listener>(*ioc);
  beast::error_code ec;
  l->acceptor.open(ep.protocol(), ec);
  if (ec && dual && parsed->host.empty()) {
    // No IPv6 on this machine: all IPv4 addresses.
    ep = tcp::endpoint(net::ip::address_v4::any(), port);
    dual = false;
    ec = {};
    l->acceptor.open(ep.protocol(), ec);
  }
  if (ec) return fail(ec.message());
  l->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ep.address().is_v6()) {
    l->acceptor.set_option(net::ip::v6_only(!dual), ec);
  }
  l->acceptor.bind(ep, ec);
  if (ec) return fail(ec.message());
  l->acceptor.listen(opts.listen_backlog, ec);
  if (ec) return fail(ec.message());
  ports.push_back(l->acceptor.local_endpoint().port());
  listeners.push_back(std::move(l));
  return Status::Ok();
}

Status HttpServer::Impl::Adopt(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
      type != SOCK_STREAM ||
      (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
    return Status::Error("systemd socket " + std::to_string(fd) +
                         " is not a TCP socket");
  }
  auto l = std::make_unique<Listener>(*ioc);
  beast::error_code ec;
  l->acceptor.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    return Status::Error("cannot use systemd socket " + std::to_string(fd) +
                         ": " + ec.message());
  }
  ports.push_back(l->acceptor.local_endpoint(ec).port());
  listeners.push_back(std::move(l));
  return Status::Ok();
}

bool AcceptsGzip(const std::string& accept_encoding) {
  size_t pos = 0;
  while (pos < accept_encoding.size()) {
    size_t end = accept_encoding.find(',', pos);
    if (end == std::string::npos) end = accept_encoding.size();
    std::string item = accept_encoding.substr(pos, end - pos);
    pos = end + 1;
    size_t a = item.find_first_not_of(" \t");
    if (a == std::string::npos) continue;
    item = item.substr(a);
    std::string coding = item.substr(0, item.find_first_of(" \t;"));
    if (coding != "gzip") continue;
    size_t q = item.find("q=");
    if (q != std::string::npos &&
        std::strtod(item.c_str() + q + 2, nullptr) <= 0) {
      return false;
    }
    return true;
  }
  return false;
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

HttpServer::HttpServer() : impl_(std::make_shared<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, Handler handler) {
  impl_->routes[path] = Impl::Route{std::move(handler), false, nullptr};
}

void HttpServer::HandleSlow(const std::string& path, Handler handler) {
  impl_->routes[path] = Impl::Route{std::move(handler), true, nullptr};
}

void HttpServer::HandleAsync(const std::string& path, AsyncHandler handler) {
  impl_->routes[path] = Impl::Route{nullptr, false, std::move(handler)};
}

void HttpServer::SetFilter(Filter filter, CheapTest is_cheap) {
  impl_->filter = std::move(filter);
  impl_->filter_is_cheap = std::move(is_cheap);
}

Status HttpServer::Start(const HttpOptions& options) {
  if (impl_->running) return Status::Error("HTTP server already started");
  impl_->opts = options;
  impl_->ioc =
      std::make_unique<net::io_context>(std::max(1, options.io_threads));
  impl_->listeners.clear();
  impl_->ports.clear();
  Status st = Status::Ok();
  if (!options.listen_fds.empty()) {
    for (int fd : options.listen_fds) {
      st = impl_->Adopt(fd);
      if (!st.ok()) break;
    }
  } else {
    if (options.listen_addresses.empty()) {
      st = Status::Error("no listen address");
    }
    for (const auto& a : options.listen_addresses) {
      st = impl_->Listen(a);
      if (!st.ok()) break;
    }
  }
  if (!st.ok()) {
    impl_->listeners.clear();
    impl_->ports.clear();
    impl_->ioc.reset();
    return st;
  }
  impl_->work = std::make_unique<
      net::executor_work_guard<net::io_context::executor_type>>(
      impl_->ioc->get_executor());
  impl_->gate = std::make_shared<AsyncGate>();
  for (auto& l : impl_->listeners) impl_->Accept(l.get());
  impl_->pool.Start(std::max(1, options.slow_pool_threads),
                    static_cast<size_t>(std::max(0, options.slow_pool_queue)));
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl_->io_threads.emplace_back([ioc = impl_->ioc.get()] { ioc->run(); });
  }
  impl_->running = true;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->running) return;
  impl_->running = false;
  // Slow handlers finish (their answers are posted to the loop, which
  // still runs); waiting requests are dropped.
  impl_->pool.Stop();
  // Connections waiting for an asynchronous answer: none will come now.
  std::map<ConnBase*, std::shared_ptr<ConnBase>> parked;
  {
    std::lock_guard<std::mutex> lock(impl_->gate->mu);
    impl_->gate->open = false;
    parked.swap(impl_->gate->parked);
  }
  impl_->work.reset();
  impl_->ioc->stop();
  for (auto& t : impl_->io_threads) t.join();
  impl_->io_threads.clear();
  parked.clear();  // their sockets close while the context still exists
  // Destroying the context destroys every pending handler, and with them
  // the connections: their sockets close here.
  impl_->listeners.clear();
  impl_->ioc.reset();
}

std::vector<int> HttpServer::ListeningPorts() const {
  if (!impl_->running) return {};
  return impl_->ports;
}

size_t HttpServer::OpenConnections() const {
  std::lock_guard<std::mutex> lock(impl_->conns_mu);
  return impl_->conns.size();
}

}  // namespace mailhealth
