#include "exporter/http_server.h"

#include <civetweb.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include <cstring>
#include <map>
#include <mutex>

#include "exporter/logging.h"

// civetweb 1.15 as Debian 12 builds it loads OpenSSL at run time
// (dlopen("libssl.so"), then dlsym of each function it uses) and looks up
// SSL_get_peer_certificate, which OpenSSL 3 no longer exports (it became a
// macro for SSL_get1_peer_certificate). The pointer stays null and civetweb
// calls it on every HTTPS connection: a crash. So every program linking
// mailhealth_core carries the SONAME "libssl.so" (exporter/CMakeLists.txt):
// glibc then answers civetweb's dlopen("libssl.so") with the program
// itself, whose symbol scope holds the real libssl.so.3 (linked) and this
// function, exported for dlsym. Same semantics as OpenSSL 1.1's function:
// a new reference the caller frees.
#undef SSL_get_peer_certificate
extern "C" __attribute__((visibility("default"), used)) X509*
SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

namespace mailhealth {

struct HttpServer::Impl {
  mg_context* ctx = nullptr;
  std::map<std::string, Handler> routes;
  Filter filter;
  std::mutex err_mu;
  std::string last_error;
  std::function<bool(void*)> tls_setup;
  std::vector<std::pair<std::string, std::string>> headers;
};

namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Unknown";
}

void Send(mg_connection* conn, const HttpServer::Impl& impl,
          const HttpRequest& req, const HttpResponse& resp) {
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                     StatusText(resp.status) + "\r\n";
  head += "Content-Type: " + resp.content_type + "\r\n";
  for (const auto& [k, v] : impl.headers) head += k + ": " + v + "\r\n";
  for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";
  head += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  if (req.method != "HEAD" && !resp.body.empty()) {
    mg_write(conn, resp.body.data(), resp.body.size());
  }
}

int Dispatch(mg_connection* conn, void* cbdata) {
  auto* impl = static_cast<HttpServer::Impl*>(cbdata);
  const mg_request_info* ri = mg_get_request_info(conn);
  HttpRequest req;
  req.method = ri->request_method ? ri->request_method : "";
  req.path = ri->local_uri ? ri->local_uri : "";
  if (const char* h = mg_get_header(conn, "Accept-Encoding")) {
    req.accept_encoding = h;
  }
  if (const char* h = mg_get_header(conn, "Authorization")) {
    req.authorization = h;
  }
  HttpResponse resp;
  try {
    if (impl->filter) {
      if (auto early = impl->filter(req)) {
        Send(conn, *impl, req, *early);
        return early->status;
      }
    }
    auto it = impl->routes.find(req.path);
    if (it == impl->routes.end()) {
      resp = HttpResponse{404, "text/plain; charset=utf-8", {}, "404 page not found\n"};
    } else if (req.method != "GET" && req.method != "HEAD") {
      resp = HttpResponse{405, "text/plain; charset=utf-8",
                          {{"Allow", "GET, HEAD"}}, "method not allowed\n"};
    } else {
      resp = it->second(req);
    }
  } catch (const std::exception& e) {
    resp = HttpResponse{500, "text/plain; charset=utf-8", {}, "internal error\n"};
    LogError("http handler failed", {{"path", req.path}, {"err", e.what()}});
  } catch (...) {
    resp = HttpResponse{500, "text/plain; charset=utf-8", {}, "internal error\n"};
  }
  Send(conn, *impl, req, resp);
  return resp.status;
}

int LogMessage(const mg_connection* conn, const char* message) {
  const mg_context* ctx = mg_get_context(conn);
  auto* impl = ctx ? static_cast<HttpServer::Impl*>(mg_get_user_data(ctx))
                   : nullptr;
  if (impl != nullptr) {
    std::lock_guard<std::mutex> lock(impl->err_mu);
    impl->last_error = message;
  }
  LogDebug("civetweb", {{"msg", message}});
  return 1;  // handled: civetweb prints nothing itself
}

// civetweb creates the SSL_CTX (and loads libssl with it) and lets us set
// it up: 1 = certificates and policy done, do not load ssl_certificate.
// (external_ssl_ctx would hand over our own context, but civetweb 1.15
// then never loads its libssl function table and crashes on SSL_new.)
int InitSsl(void* ssl_ctx, void* user_data) {
  auto* impl = static_cast<HttpServer::Impl*>(user_data);
  if (!impl->tls_setup) return -1;
  return impl->tls_setup(ssl_ctx) ? 1 : -1;
}

}  // namespace

Result<std::string> CivetListenPorts(const std::string& address) {
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
  if (host.empty()) return port;
  if (host.front() == '[') {
    if (host.back() != ']') {
      return Status::Error("invalid listen address \"" + address + "\"");
    }
    return host + ":" + port;
  }
  if (host.find(':') != std::string::npos) {
    return Status::Error("IPv6 listen address must be in brackets: \"" +
                         address + "\"");
  }
  if (host == "localhost") host = "127.0.0.1";
  return host + ":" + port;
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
    if (q != std::string::npos && std::strtod(item.c_str() + q + 2, nullptr) <= 0) {
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

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, Handler handler) {
  impl_->routes[path] = std::move(handler);
}

void HttpServer::SetFilter(Filter filter) { impl_->filter = std::move(filter); }

Status HttpServer::Start(const HttpOptions& options) {
  auto ports = CivetListenPorts(options.listen_address);
  if (!ports.ok()) return ports.status();
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(MG_FEATURES_TLS | MG_FEATURES_IPV6); });

  impl_->tls_setup = options.tls_setup;
  impl_->headers = options.headers;
  std::string listening = *ports;
  if (options.tls_setup) listening += "s";
  std::vector<std::string> kv = {
      "listening_ports", listening,
      "num_threads", std::to_string(options.num_threads),
      "request_timeout_ms", std::to_string(options.request_timeout_ms),
      "max_request_size", std::to_string(options.max_request_size),
      "enable_keep_alive", options.keep_alive ? "yes" : "no",
      "keep_alive_timeout_ms", std::to_string(options.keep_alive_timeout_ms),
      "connection_queue", std::to_string(options.connection_queue),
      "listen_backlog", std::to_string(options.listen_backlog),
      "tcp_nodelay", "1",
  };
  for (const auto& [k, v] : options.extra_options) {
    kv.push_back(k);
    kv.push_back(v);
  }
  std::vector<const char*> opts;
  for (const auto& s : kv) opts.push_back(s.c_str());
  opts.push_back(nullptr);

  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.log_message = LogMessage;
  if (options.tls_setup) callbacks.init_ssl = InitSsl;
  impl_->ctx = mg_start(&callbacks, impl_.get(), opts.data());
  if (impl_->ctx == nullptr) {
    std::lock_guard<std::mutex> lock(impl_->err_mu);
    std::string why = impl_->last_error.empty() ? "unknown error"
                                                : impl_->last_error;
    return Status::Error("cannot listen on " + options.listen_address + ": " +
                         why);
  }
  // One catch-all handler; we route ourselves.
  mg_set_request_handler(impl_->ctx, "/", Dispatch, impl_.get());
  return Status::Ok();
}

void HttpServer::Stop() {
  if (impl_ && impl_->ctx != nullptr) {
    mg_stop(impl_->ctx);
    impl_->ctx = nullptr;
  }
}

std::vector<int> HttpServer::ListeningPorts() const {
  std::vector<int> out;
  if (impl_->ctx == nullptr) return out;
  mg_server_port ports[8];
  int n = mg_get_server_ports(impl_->ctx, 8, ports);
  for (int i = 0; i < n; ++i) out.push_back(ports[i].port);
  return out;
}

}  // namespace mailhealth
