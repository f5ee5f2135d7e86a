#include "tests/smtp/fake_smtp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace mailhealth::testing {
namespace {

constexpr size_t kMaxFakeLine = 1 << 20;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("openssl: ") + what);
}

std::string BioString(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

PkeyPtr ReadKey(const std::string& pem) {
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
}
X509Ptr ReadCert(const std::string& pem) {
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

int ListenLoopback(int backlog, uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(fd, backlog) != 0) {
    close(fd);
    throw std::runtime_error("bind/listen");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

TestCert MakeTestCert(const std::string& dns_name, long not_before_offset,
                      long not_after_offset, const TestCert* issuer,
                      bool is_ca) {
  // P-256: key generation takes a millisecond, unlike RSA.
  PkeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_offset);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  PkeyPtr issuer_key;
  X509Ptr issuer_cert;
  if (issuer != nullptr) {
    issuer_key = ReadKey(issuer->key_pem);
    issuer_cert = ReadCert(issuer->cert_pem);
    Check(issuer_key && issuer_cert, "read issuer");
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  if (is_ca) {
    AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    AddExt(cert.get(), signer, NID_subject_alt_name,
           ("DNS:" + dns_name).c_str());
  }
  Check(X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(),
                  EVP_sha256()) > 0,
        "X509_sign");

  TestCert out;
  BioPtr cb(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cb.get(), cert.get());
  out.cert_pem = BioString(cb.get());
  BioPtr kb(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr,
                           nullptr);
  out.key_pem = BioString(kb.get());
  struct tm tm {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm);
  out.not_after = timegm(&tm);
  return out;
}

SslCtxPtr MakeServerCtx(const TestCert& cert) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  Check(ctx != nullptr, "SSL_CTX_new");
  X509Ptr x = ReadCert(cert.cert_pem);
  PkeyPtr k = ReadKey(cert.key_pem);
  Check(x && k, "read cert/key");
  Check(SSL_CTX_use_certificate(ctx.get(), x.get()) == 1, "use_certificate");
  Check(SSL_CTX_use_PrivateKey(ctx.get(), k.get()) == 1, "use_PrivateKey");
  return ctx;
}

std::string WriteTempFile(const std::string& name, const std::string& content) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = tmp ? tmp : "/tmp";
  // Unique per call: the probe engine caches its TLS context per CA path.
  static std::atomic<int> counter{0};
  std::string path = dir + "/mailhealth-smtp-" + std::to_string(getpid()) +
                     "-" + std::to_string(counter++) + "-" + name;
  std::ofstream(path) << content;
  return path;
}

// ---- FakeConn -------------------------------------------------------------

FakeConn::FakeConn(int fd, const std::atomic<bool>* stopping, std::mutex* mu,
                   std::condition_variable* cv, std::vector<std::string>* log)
    : fd_(fd), stopping_(stopping), mu_(mu), cv_(cv), log_(log) {}

FakeConn::~FakeConn() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool FakeConn::Send(std::string_view s) {
  while (!s.empty()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, s.data(), static_cast<int>(s.size()));
      if (n <= 0) return false;
    } else {
      n = send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<std::string> FakeConn::ReadLine() {
  while (true) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::lock_guard<std::mutex> lock(*mu_);
      log_->push_back(line);
      return line;
    }
    if (buf_.size() > kMaxFakeLine || stopping_->load()) return std::nullopt;
    char tmp[4096];
    ssize_t n;
    if (ssl_ != nullptr) {
      n = SSL_read(ssl_, tmp, sizeof tmp);
    } else {
      n = recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
    }
    if (n <= 0) return std::nullopt;
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

bool FakeConn::AcceptTls(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, fd_);
  return SSL_accept(ssl_) == 1;
}

bool FakeConn::Wait(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(*mu_);
  return !cv_->wait_for(lock, d, [this] { return stopping_->load(); });
}

void FakeConn::Hold() {
  std::unique_lock<std::mutex> lock(*mu_);
  cv_->wait(lock, [this] { return stopping_->load(); });
}

// ---- FakeSmtpServer -------------------------------------------------------

FakeSmtpServer::FakeSmtpServer(Script script, int backlog)
    : script_(std::move(script)) {
  // OpenSSL writes with plain write(): a peer that hung up must not kill
  // the test process with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  listen_fd_ = ListenLoopback(backlog, &port_);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

FakeSmtpServer::~FakeSmtpServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  shutdown(listen_fd_, SHUT_RDWR);
  accept_thread_.join();
  for (auto& t : conn_threads_) t.join();
  close(listen_fd_);
}

std::vector<std::string> FakeSmtpServer::Commands() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

void FakeSmtpServer::AcceptLoop() {
  while (!stopping_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    conn_threads_.emplace_back([this, fd] {
      {
        FakeConn c(fd, &stopping_, &mu_, &cv_, &log_);
        script_(c);
        // Leaving the script closes the connection (after the TLS session).
      }
      std::lock_guard<std::mutex> l(mu_);
      shutdown(fd, SHUT_RDWR);
      for (int& f : conn_fds_) {
        if (f == fd) f = -1;
      }
      close(fd);
    });
  }
}

// ---- Blackhole / ClosedPort -----------------------------------------------

Blackhole::Blackhole() {
  listen_fd_ = ListenLoopback(0, &port_);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port_);
  // Fill the accept queue (backlog 0 holds one); later SYNs are dropped.
  for (int i = 0; i < 4; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers_.push_back(c);
  }
  usleep(50 * 1000);  // let the handshakes of the fillers complete
}

Blackhole::~Blackhole() {
  for (int c : fillers_) close(c);
  close(listen_fd_);
}

uint16_t ClosedPort() {
  uint16_t port = 0;
  int fd = ListenLoopback(1, &port);
  close(fd);
  return port;
}

// ---- GoodServer -----------------------------------------------------------

FakeSmtpServer::Script GoodServer(GoodServerOptions o) {
  if (o.tls != nullptr && !o.implicit_tls) {
    size_t first = o.ehlo_reply.find("\r\n");
    std::string head = o.ehlo_reply.substr(0, first);
    if (head.size() > 3) head[3] = '-';
    o.ehlo_reply = head + "\r\n250-STARTTLS" + o.ehlo_reply.substr(first);
  }
  return [o](FakeConn& c) {
    if (o.implicit_tls && !c.AcceptTls(o.tls)) return;
    for (size_t i = 0; i < o.banner_lines.size(); ++i) {
      if (i > 0 && o.line_delay.count() > 0 && !c.Wait(o.line_delay)) return;
      if (!c.Send(o.banner_lines[i] + "\r\n")) return;
    }
    while (auto line = c.ReadLine()) {
      std::string verb = line->substr(0, 4);
      for (char& ch : verb)
        ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
      if (verb == "EHLO" || verb == "LHLO") {
        c.Send(o.ehlo_reply);
      } else if (*line == "STARTTLS" && o.tls != nullptr) {
        c.Send("220 2.0.0 Ready to start TLS\r\n");
        if (!c.AcceptTls(o.tls)) return;
      } else if (verb == "QUIT") {
        c.Send("221 2.0.0 Bye\r\n");
        return;
      } else {
        c.Send("502 5.5.2 Error: command not recognized\r\n");
      }
    }
  };
}

}  // namespace mailhealth::testing
