#include "collectors/mailauth/mta_sts.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#include <memory>

#include "collectors/mailauth/records.h"
#include "exporter/strings.h"

namespace mailhealth::mailauth {
namespace {

using std::string;
using std::string_view;

int RemainingMs(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                  Clock::now())
                .count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Waits until `fd` is readable/writable or the deadline; false on timeout.
bool Wait(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int ms = RemainingMs(deadline);
  if (ms == 0) return false;
  return ::poll(&p, 1, ms) == 1;
}

int Connect(const string& ip, uint16_t port, Clock::time_point deadline) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (ip.find(':') == string::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, ip.c_str(), &a->sin_addr) != 1) return -1;
    len = sizeof *a;
  } else {
    family = AF_INET6;
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr) != 1) return -1;
    len = sizeof *a;
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS || !Wait(fd, POLLOUT, deadline)) {
      ::close(fd);
      return -1;
    }
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

bool AsnTimeToUnix(const ASN1_TIME* t, int64_t* out) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  *out = static_cast<int64_t>(timegm(&tm));
  return true;
}

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// Drives an SSL call on the non-blocking fd until done or the deadline.
template <typename F>
int SslCall(SSL* ssl, int fd, Clock::time_point deadline, F f) {
  for (;;) {
    int r = f();
    if (r > 0) return r;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      if (!Wait(fd, POLLIN, deadline)) return -1;
    } else if (e == SSL_ERROR_WANT_WRITE) {
      if (!Wait(fd, POLLOUT, deadline)) return -1;
    } else {
      return r;  // 0: closed; <0: error
    }
  }
}

// Decodes a chunked body; false when malformed.
bool Dechunk(string_view in, string* out) {
  out->clear();
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == string_view::npos) return false;
    string_view size_text = in.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    size_t n = 0;
    auto [p, ec] = std::from_chars(size_text.data(),
                                   size_text.data() + size_text.size(), n, 16);
    if (ec != std::errc() || p == size_text.data()) return false;
    in.remove_prefix(eol + 2);
    if (n == 0) return true;
    if (in.size() < n + 2) return false;
    out->append(in.substr(0, n));
    if (out->size() > kMaxPolicyBytes) return true;  // the caller rejects it
    in.remove_prefix(n + 2);
  }
}

}  // namespace

const char* StsModeName(StsMode m) {
  switch (m) {
    case StsMode::kEnforce:
      return "enforce";
    case StsMode::kTesting:
      return "testing";
    case StsMode::kNone:
      return "none";
    case StsMode::kMissing:
      break;
  }
  return "missing";
}

StsPolicy ParseStsPolicy(string_view text) {
  StsPolicy p;
  bool version = false, have_mode = false, have_age = false;
  StsMode mode = StsMode::kMissing;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    string_view line = text.substr(0, nl);
    text = nl == string_view::npos ? string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (TrimSpace(line).empty()) continue;
    size_t colon = line.find(':');
    if (colon == string_view::npos) {
      p.problem = "line without a key: \"" + string(line) + "\"";
      return p;
    }
    const string key = AsciiLower(TrimSpace(line.substr(0, colon)));
    const string_view value = TrimSpace(line.substr(colon + 1));
    if (key == "version") {
      if (value != "STSv1") {
        p.problem = "version is not STSv1";
        return p;
      }
      version = true;
    } else if (key == "mode") {
      have_mode = true;
      if (value == "enforce") {
        mode = StsMode::kEnforce;
      } else if (value == "testing") {
        mode = StsMode::kTesting;
      } else if (value == "none") {
        mode = StsMode::kNone;
      } else {
        p.problem =
            "mode \"" + string(value) + "\" is not enforce, testing or none";
        return p;
      }
    } else if (key == "max_age") {
      int64_t v = -1;
      auto [ptr, ec] =
          std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || ptr != value.data() + value.size() || v < 0 ||
          v > 31557600) {
        p.problem = "max_age \"" + string(value) + "\" is not 0-31557600";
        return p;
      }
      p.max_age = v;
      have_age = true;
    } else if (key == "mx") {
      string m = AsciiLower(value);
      while (!m.empty() && m.back() == '.') m.pop_back();
      if (m.empty()) {
        p.problem = "empty mx pattern";
        return p;
      }
      p.mx.push_back(m);
    }
    // Other keys are ignored (RFC 8461 3.2: extensions).
  }
  if (!version)
    p.problem = "no version: STSv1";
  else if (!have_mode)
    p.problem = "no mode";
  else if (!have_age)
    p.problem = "no max_age";
  else if (p.mx.empty() && mode != StsMode::kNone)
    p.problem = "no mx pattern";
  if (!p.problem.empty()) return p;
  p.mode = mode;
  p.valid = true;
  return p;
}

string CheckStsRecord(const std::vector<string>& records) {
  std::vector<const string*> sts;
  for (const string& r : records) {
    string_view t = TrimSpace(r);
    if (t.substr(0, 8) == "v=STSv1;" || t == "v=STSv1" ||
        (t.substr(0, 7) == "v=STSv1" && t.size() > 7 &&
         std::isspace(static_cast<unsigned char>(t[7]))))
      sts.push_back(&r);
  }
  if (sts.empty()) return "no v=STSv1 record";
  if (sts.size() > 1) return std::to_string(sts.size()) + " v=STSv1 records";
  auto tags = ParseTagList(*sts[0], false);
  if (!tags) return "not a tag list";
  for (const auto& [k, v] : *tags) {
    if (k != "id") continue;
    if (v.empty() || v.size() > 32) return "id= is not 1-32 characters";
    for (char c : v)
      if (!std::isalnum(static_cast<unsigned char>(c)))
        return "id= is not alphanumeric";
    return "";
  }
  return "no id= tag";
}

bool StsMxMatches(string_view pattern, string_view host) {
  string p = AsciiLower(pattern), h = AsciiLower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (p.rfind("*.", 0) != 0) return p == h;
  const string suffix = p.substr(1);  // ".example.com"
  if (h.size() <= suffix.size() ||
      h.compare(h.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const string_view label(h.data(), h.size() - suffix.size());
  return !label.empty() && label.find('.') == string_view::npos;
}

namespace {

// The first address of `addresses` that accepts a connection; -1: none.
int ConnectAny(const std::vector<string>& addresses, uint16_t port,
               Clock::time_point deadline) {
  int fd = -1;
  for (const string& a : addresses) {
    fd = Connect(a, port, deadline);
    if (fd >= 0) break;
  }
  return fd;
}

// A TLS client context (TLS 1.2 or later) with the CAs of `options`;
// `*cas`: they loaded.
std::unique_ptr<SSL_CTX, SslCtxFree> ClientContext(const FetchOptions& options,
                                                   bool* cas) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  *cas = options.ca_file.empty()
             ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
             : SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(),
                                             nullptr) == 1;
  // Verified by hand after the handshake, so that an invalid certificate
  // still reports its notAfter.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

// Sends the GET and reads the response until the peer closes it or it
// passes `cap`; false when the request cannot be sent.
bool Exchange(SSL* ssl, int fd, const string& host, size_t cap,
              Clock::time_point deadline, string* resp) {
  const string req = "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: " + host +
                     "\r\nUser-Agent: mailhealth_exporter\r\nAccept: "
                     "text/plain\r\nConnection: close\r\n\r\n";
  if (SslCall(ssl, fd, deadline, [&] {
        return SSL_write(ssl, req.data(), static_cast<int>(req.size()));
      }) <= 0)
    return false;
  char buf[8192];
  while (resp->size() <= cap) {
    int n = SslCall(ssl, fd, deadline,
                    [&] { return SSL_read(ssl, buf, sizeof buf); });
    if (n <= 0) break;
    resp->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// TLS on the connected `fd` (closed on return): handshake, the presented
// certificate, then the exchange; false with f->problem set.
bool FetchOverTls(const string& host, int fd, const FetchOptions& options,
                  size_t cap, Clock::time_point deadline, HttpsFetch* f,
                  string* resp, long* verify) {
  bool cas = false;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx = ClientContext(options, &cas);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  SSL_set1_host(ssl.get(), host.c_str());
  auto fail = [&](const string& why) {
    f->problem = why;
    ::close(fd);
    return false;
  };
  if (SslCall(ssl.get(), fd, deadline,
              [&] { return SSL_connect(ssl.get()); }) <= 0)
    return fail("TLS handshake with " + host + " failed");
  if (X509* cert = SSL_get1_peer_certificate(ssl.get())) {
    f->cert_presented =
        AsnTimeToUnix(X509_get0_notAfter(cert), &f->cert_not_after);
    X509_free(cert);
  }
  *verify = SSL_get_verify_result(ssl.get());
  f->cert_valid = cas && f->cert_presented && *verify == X509_V_OK;
  if (!Exchange(ssl.get(), fd, host, cap, deadline, resp))
    return fail("cannot send the request to " + host);
  ::close(fd);
  return true;
}

// The status, Content-Type and body of `resp`; false with f->problem set.
bool ParseResponse(const string& resp, size_t cap, const string& host,
                   HttpsFetch* f) {
  size_t head_end = resp.find("\r\n\r\n");
  if (head_end == string::npos) {
    f->problem = resp.size() > cap ? "response over 64 KiB"
                                   : "no complete HTTP response from " + host;
    return false;
  }
  string_view head(resp.data(), head_end);
  string_view status_line = head.substr(0, head.find("\r\n"));
  size_t sp = status_line.find(' ');
  if (sp != string_view::npos) {
    std::from_chars(status_line.data() + sp + 1,
                    status_line.data() + status_line.size(), f->status);
  }
  bool chunked = false;
  size_t pos = status_line.size() + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == string_view::npos) eol = head.size();
    string_view h = head.substr(pos, eol - pos);
    pos = eol + 2;
    size_t c = h.find(':');
    if (c == string_view::npos) continue;
    const string name = AsciiLower(TrimSpace(h.substr(0, c)));
    const string value = AsciiLower(TrimSpace(h.substr(c + 1)));
    if (name == "content-type") f->content_type = value;
    if (name == "transfer-encoding" && value.find("chunked") != string::npos)
      chunked = true;
  }
  string_view raw(resp.data() + head_end + 4, resp.size() - head_end - 4);
  if (!chunked) {
    f->body.assign(raw);
  } else if (!Dechunk(raw, &f->body)) {
    f->problem = "malformed chunked response";
    return false;
  }
  return true;
}

// RFC 8461 3.3: a 200 text/plain policy within the cap, over a valid
// certificate; else f->problem says which failed first.
void ValidateFetch(const string& host, bool over_cap, long verify,
                   HttpsFetch* f) {
  if (f->status >= 300 && f->status < 400) {
    f->problem = "HTTP " + std::to_string(f->status) +
                 " redirect (RFC 8461: redirects are not followed)";
  } else if (f->status != 200) {
    f->problem = "HTTP status " + std::to_string(f->status);
  } else if (f->body.size() > kMaxPolicyBytes || over_cap) {
    f->problem = "policy over 64 KiB";
  } else if (f->content_type.rfind("text/plain", 0) != 0) {
    f->problem = "Content-Type \"" + f->content_type + "\" is not text/plain";
  } else if (!f->cert_valid) {
    f->problem = "the certificate of " + host + " does not validate (" +
                 X509_verify_cert_error_string(verify) + ")";
  }
}

}  // namespace

HttpsFetch FetchStsPolicy(const string& host,
                          const std::vector<string>& addresses,
                          const FetchOptions& options,
                          Clock::time_point deadline) {
  HttpsFetch f;
  if (addresses.empty()) {
    f.problem = host + " has no address";
    return f;
  }
  const int fd = ConnectAny(addresses, options.port, deadline);
  if (fd < 0) {
    f.problem =
        "cannot connect to " + host + " port " + std::to_string(options.port);
    return f;
  }
  f.connected = true;
  const size_t cap = kMaxPolicyBytes + 16 * 1024;  // body + headers
  string resp;
  long verify = X509_V_OK;
  if (!FetchOverTls(host, fd, options, cap, deadline, &f, &resp, &verify))
    return f;
  if (!ParseResponse(resp, cap, host, &f)) return f;
  ValidateFetch(host, resp.size() > cap, verify, &f);
  return f;
}

}  // namespace mailhealth::mailauth
