#include "collectors/smtpprobe/smtp_probe.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace mailhealth::smtp {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// After the outcome is decided, QUIT gets at most this long: a peer that
// never answers QUIT must not hold the run until its deadline.
constexpr auto kQuitGrace = std::chrono::milliseconds(1000);
constexpr size_t kReadChunk = 4096;
// A plain port with no greeting this long before the deadline (a share of
// the probe's time, within these bounds) gets a TLS ClientHello instead:
// an implicit-TLS port is silent until the client speaks.
constexpr auto kTlsHintMin = std::chrono::milliseconds(100);
constexpr auto kTlsHintMax = std::chrono::milliseconds(1000);
constexpr int kTlsHintShareDivisor = 5;

double Since(Clock::time_point t) { return Seconds(Clock::now() - t); }

// Unix seconds of an ASN1_TIME (notAfter), via the broken-down UTC time.
bool AsnTimeToUnix(const ASN1_TIME* t, int64_t* out) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  *out = static_cast<int64_t>(timegm(&tm));
  return true;
}

class Probe : public std::enable_shared_from_this<Probe> {
 public:
  Probe(asio::io_context& io, asio::ssl::context& tls_ctx,
        const SmtpProbeRequest& req, const SmtpProbeOptions& opt,
        SmtpProbeResult* out)
      : tls_ctx_(tls_ctx),
        req_(req),
        opt_(opt),
        out_(out),
        socket_(io),
        timer_(io),
        hint_timer_(io) {}

  void Start() {
    start_ = Clock::now();
    ArmTimer(opt_.deadline);
    error_code ec;
    asio::ip::address addr = asio::ip::make_address(req_.address, ec);
    if (ec) {
      Decide(SmtpFailure::kRefused, "invalid address " + req_.address);
      Finish();
      return;
    }
    Enter(Stage::kConnect);
    socket_.async_connect(tcp::endpoint(addr, req_.port),
                          [self = shared_from_this()](const error_code& e) {
                            self->OnConnect(e);
                          });
  }

  // Called when the io_context stopped before this probe ended (the safety
  // net in RunSmtpProbes): classify as a timeout of the current stage.
  void Abandon() {
    if (!decided_) Decide(TimeoutFailure(), "run stopped at the deadline");
  }

 private:
  enum class Stage {
    kConnect,
    kImplicitTls,
    kBanner,
    kEhlo,
    kStarttls,
    kTls,
    kTlsHint,  // the banner_timeout is decided; trying implicit TLS
    kQuit,
    kDone
  };

  void ArmTimer(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (e == asio::error::operation_aborted) return;
      self->timed_out_ = true;
      self->CloseSocket();
    });
  }

  tcp::socket& Socket() { return tls_ ? tls_->next_layer() : socket_; }

  void CloseSocket() {
    error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
  }

  void Enter(Stage s) {
    stage_ = s;
    phase_start_ = Clock::now();
  }

  void EndPhase(SmtpPhase p) {
    out_->phase_seconds[static_cast<size_t>(p)] = Since(phase_start_);
  }

  // The phase the current stage is timed as.
  std::optional<SmtpPhase> CurrentPhase() const {
    switch (stage_) {
      case Stage::kConnect:
        return SmtpPhase::kConnect;
      case Stage::kImplicitTls:
        return SmtpPhase::kTls;
      case Stage::kBanner:
        return SmtpPhase::kBanner;
      case Stage::kEhlo:
        return SmtpPhase::kEhlo;
      case Stage::kStarttls:
        return SmtpPhase::kStarttls;
      case Stage::kTls:
        return SmtpPhase::kTls;
      default:
        return std::nullopt;
    }
  }

  // What a timeout or a lost connection means in each stage. The failure
  // list has no generic timeout: a silent EHLO is a rejected EHLO, a silent
  // STARTTLS a failed STARTTLS, a stalled handshake a failed handshake.
  SmtpFailure TimeoutFailure() const {
    switch (stage_) {
      case Stage::kConnect:
        return SmtpFailure::kConnectTimeout;
      case Stage::kBanner:
        return SmtpFailure::kBannerTimeout;
      case Stage::kEhlo:
        return SmtpFailure::kEhloRejected;
      case Stage::kStarttls:
        return SmtpFailure::kStarttlsFailed;
      case Stage::kImplicitTls:
      case Stage::kTls:
        return SmtpFailure::kTlsHandshakeFailed;
      default:
        return SmtpFailure::kNone;
    }
  }
  SmtpFailure ClosedFailure() const {
    // A peer that closes before greeting sent no 220: a bad banner (its
    // reply code stays 0).
    if (stage_ == Stage::kBanner) return SmtpFailure::kBadBanner;
    return TimeoutFailure();
  }

  void Decide(SmtpFailure f, std::string detail) {
    if (decided_) return;
    decided_ = true;
    if (auto p = CurrentPhase(); p && f != SmtpFailure::kNone) {
      EndPhase(*p);  // a failed phase is timed up to the failure
    }
    out_->failure = f;
    out_->detail = std::move(detail);
    out_->duration_seconds = Since(start_);
  }

  void Finish() {
    if (stage_ == Stage::kDone) return;
    stage_ = Stage::kDone;
    timer_.cancel();
    hint_timer_.cancel();
    CloseSocket();
  }

  // An I/O error in the current stage ends the probe.
  void OnIoError(const error_code& ec) {
    if (tls_hint_ && stage_ == Stage::kBanner &&
        ec == asio::error::operation_aborted) {
      TryImplicitTls();
      return;
    }
    if (stage_ == Stage::kQuit || stage_ == Stage::kTlsHint) {
      Finish();
      return;
    }
    if (timed_out_) {
      Decide(TimeoutFailure(), "timed out");
    } else {
      Decide(ClosedFailure(), ec.message());
    }
    Finish();
  }

  void OnConnect(const error_code& ec) {
    if (ec) {
      if (timed_out_ || ec == asio::error::timed_out) {
        Decide(SmtpFailure::kConnectTimeout, "connect timed out");
      } else {
        // ECONNREFUSED, and also EHOSTUNREACH/ENETUNREACH (an ICMP reject
        // from a firewall or router): someone actively said no.
        Decide(SmtpFailure::kRefused, ec.message());
      }
      Finish();
      return;
    }
    EndPhase(SmtpPhase::kConnect);
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    if (req_.implicit_tls) {
      StartTls(Stage::kImplicitTls);
    } else {
      ReadBanner();
    }
  }

  void ReadBanner() {
    Enter(Stage::kBanner);
    if (!tls_ && !req_.lmtp) ArmTlsHint();
    ReadReply([this](const SmtpReply& r) {
      hint_timer_.cancel();
      EndPhase(SmtpPhase::kBanner);
      out_->banner_code = r.code;
      if (r.code != 220) {
        Decide(SmtpFailure::kBadBanner,
               "greeting " + std::to_string(r.code) + " " +
                   (r.lines.empty() ? "" : r.lines[0]));
        Quit();
        return;
      }
      SendHello();
    });
  }

  // Near the deadline with no byte of greeting: the port may speak
  // implicit TLS (465, or a submission port behind stunnel). The pending
  // read is cancelled and a handshake tried on the same connection.
  void ArmTlsHint() {
    const auto left = opt_.deadline - Clock::now();
    const auto reserve = std::clamp<Clock::duration>(
        left / kTlsHintShareDivisor, kTlsHintMin, kTlsHintMax);
    if (left <= reserve * 2) return;  // too little time to tell
    hint_timer_.expires_at(opt_.deadline - reserve);
    hint_timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (e == asio::error::operation_aborted) return;
      if (self->stage_ != Stage::kBanner || self->decided_ ||
          !self->buffer_.empty()) {
        return;
      }
      self->tls_hint_ = true;
      error_code ignored;
      self->socket_.cancel(ignored);
    });
  }

  void TryImplicitTls() {
    Decide(SmtpFailure::kBannerTimeout, "no greeting");
    StartTls(Stage::kTlsHint);
  }

  // After 500/502 to EHLO: HELO, as senders do; success without ESMTP.
  void SendHeloFallback(int ehlo_code) {
    Write("HELO " + opt_.helo + "\r\n", [this, ehlo_code] {
      ReadReply([this, ehlo_code](const SmtpReply& r) {
        EndPhase(SmtpPhase::kEhlo);
        if (r.code != 250) {
          Decide(SmtpFailure::kEhloRejected,
                 "EHLO answered " + std::to_string(ehlo_code) +
                     ", HELO answered " + std::to_string(r.code));
          Quit();
          return;
        }
        out_->ehlo_done = true;
        Decide(SmtpFailure::kNone, "");
        Quit();
      });
    });
  }

  void SendHello() {
    Enter(Stage::kEhlo);
    Write(std::string(req_.lmtp ? "LHLO " : "EHLO ") + opt_.helo + "\r\n",
          [this] {
            ReadReply([this](const SmtpReply& r) {
              EndPhase(SmtpPhase::kEhlo);
              out_->ehlo_code = r.code;
              if (!req_.lmtp && (r.code == 500 || r.code == 502)) {
                SendHeloFallback(r.code);
                return;
              }
              if (r.code != 250) {
                Decide(SmtpFailure::kEhloRejected,
                       "EHLO answered " + std::to_string(r.code));
                Quit();
                return;
              }
              out_->ehlo_done = true;
              out_->esmtp = true;
              out_->caps = ParseEhloCapabilities(r);
              if (out_->caps.starttls() && opt_.starttls && !tls_) {
                SendStarttls();
              } else {
                Decide(SmtpFailure::kNone, "");
                Quit();
              }
            });
          });
  }

  void SendStarttls() {
    Enter(Stage::kStarttls);
    Write("STARTTLS\r\n", [this] {
      ReadReply([this](const SmtpReply& r) {
        EndPhase(SmtpPhase::kStarttls);
        out_->starttls_code = r.code;
        if (r.code != 220) {
          Decide(SmtpFailure::kStarttlsFailed,
                 "STARTTLS answered " + std::to_string(r.code));
          Quit();
          return;
        }
        StartTls(Stage::kTls);
      });
    });
  }

  void StartTls(Stage stage) {
    Enter(stage);
    // Bytes the server sent after its STARTTLS reply, before the handshake,
    // were never asked for (the STARTTLS injection attack): drop them.
    buffer_.clear();
    tls_.emplace(std::move(socket_), tls_ctx_);
    SSL* ssl = tls_->native_handle();
    const std::string& name = req_.tls_name;
    if (!name.empty() && !IsSmtpIpLiteral(name)) {
      SSL_set_tlsext_host_name(ssl, name.c_str());
      SSL_set1_host(ssl, name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(
          SSL_get0_param(ssl), (name.empty() ? req_.address : name).c_str());
    }
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this()](const error_code& ec) {
                            self->OnHandshake(ec);
                          });
  }

  void OnHandshake(const error_code& ec) {
    if (stage_ == Stage::kTlsHint) {
      if (!ec) {
        RecordTls();
        out_->implicit_tls_detected = true;
        out_->detail =
            "no greeting, but the port completes a TLS handshake: it speaks "
            "implicit TLS (probe it as smtps:HOST:PORT)";
      }
      Finish();
      return;
    }
    if (ec) {
      Decide(SmtpFailure::kTlsHandshakeFailed,
             timed_out_ ? std::string("handshake timed out") : ec.message());
      Finish();
      return;
    }
    EndPhase(SmtpPhase::kTls);
    RecordTls();
    if (stage_ == Stage::kImplicitTls) {
      ReadBanner();
    } else {
      Decide(SmtpFailure::kNone, "");
      Quit();
    }
  }

  void RecordTls() {
    SSL* ssl = tls_->native_handle();
    SmtpTlsInfo& t = out_->tls;
    t.done = true;
    t.version = SSL_get_version(ssl);
    if (X509* cert = SSL_get0_peer_certificate(ssl)) {
      t.have_cert = AsnTimeToUnix(X509_get0_notAfter(cert), &t.not_after);
      // The handshake ran with SSL_VERIFY_NONE so that an expired or
      // self-signed certificate still yields its dates; OpenSSL verified
      // the chain (and the name) anyway and kept the verdict.
      long v = SSL_get_verify_result(ssl);
      t.verified = v == X509_V_OK;
      t.verify_error = X509_verify_cert_error_string(v);
    }
    // On the client side the peer chain starts with the leaf.
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        unsigned char* der = nullptr;
        int n = i2d_X509(sk_X509_value(chain, i), &der);
        if (n <= 0) continue;
        t.chain_der.emplace_back(reinterpret_cast<char*>(der),
                                 static_cast<size_t>(n));
        OPENSSL_free(der);
      }
    }
  }

  void Quit() {
    Enter(Stage::kQuit);
    ArmTimer(std::min(opt_.deadline, Clock::now() + kQuitGrace));
    Write("QUIT\r\n",
          [this] { ReadReply([this](const SmtpReply&) { Finish(); }); });
  }

  template <typename Stream>
  void WriteOn(Stream& s, std::function<void()> next) {
    asio::async_write(s, asio::buffer(wbuf_),
                      [self = shared_from_this(), next = std::move(next)](
                          const error_code& ec, size_t) {
                        if (ec) {
                          self->OnIoError(ec);
                        } else {
                          next();
                        }
                      });
  }

  void Write(std::string data, std::function<void()> next) {
    wbuf_ = std::move(data);
    if (tls_) {
      WriteOn(*tls_, std::move(next));
    } else {
      WriteOn(socket_, std::move(next));
    }
  }

  // Reads one complete reply (bounded by opt_.limits), then calls `done`.
  // Bytes after the reply are discarded: the dialog is lock-step.
  void ReadReply(std::function<void(const SmtpReply&)> done) {
    on_reply_ = std::move(done);
    ParseOrRead();
  }

  void ParseOrRead() {
    SmtpReplyParse p = ParseSmtpReply(buffer_, opt_.limits);
    using State = SmtpReplyParse::State;
    switch (p.state) {
      case State::kComplete: {
        buffer_.clear();
        auto cb = std::move(on_reply_);
        cb(p.reply);
        return;
      }
      case State::kIncomplete:
        break;
      default: {
        if (stage_ == Stage::kQuit) {
          Finish();
          return;
        }
        const char* what = p.state == State::kMalformed ? "malformed reply"
                           : p.state == State::kLineTooLong
                               ? "reply line too long"
                               : "too many reply lines";
        Decide(SmtpFailure::kProtocolError, what);
        Finish();
        return;
      }
    }
    auto handler = [self = shared_from_this()](const error_code& ec, size_t n) {
      if (ec) {
        self->OnIoError(ec);
        return;
      }
      self->buffer_.append(self->rbuf_.data(), n);
      self->ParseOrRead();
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(rbuf_), std::move(handler));
    } else {
      socket_.async_read_some(asio::buffer(rbuf_), std::move(handler));
    }
  }

  asio::ssl::context& tls_ctx_;
  const SmtpProbeRequest& req_;
  const SmtpProbeOptions& opt_;
  SmtpProbeResult* out_;
  tcp::socket socket_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
  asio::steady_timer timer_;
  asio::steady_timer hint_timer_;
  bool tls_hint_ = false;  // the banner read was cancelled to try TLS
  Stage stage_ = Stage::kConnect;
  Clock::time_point start_;
  Clock::time_point phase_start_;
  bool timed_out_ = false;
  bool decided_ = false;
  std::string buffer_;
  std::array<char, kReadChunk> rbuf_{};
  std::string wbuf_;
  std::function<void(const SmtpReply&)> on_reply_;
};

// The client TLS context, shared by all runs: loading the system CA bundle
// takes ~0.1 s, too much to repeat every run. Refreshed hourly so that an
// updated bundle is picked up. An SSL_CTX may be used by SSL objects on
// several threads at once; it is not modified after creation.
std::shared_ptr<asio::ssl::context> ClientContext(const std::string& ca_file) {
  static std::mutex mu;
  static std::map<std::string, std::pair<Clock::time_point,
                                         std::shared_ptr<asio::ssl::context>>>
      cache;
  constexpr auto kRefresh = std::chrono::hours(1);
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[ca_file];
  if (!slot.second || Clock::now() - slot.first > kRefresh) {
    auto ctx =
        std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_verify_mode(asio::ssl::verify_none);
    error_code ec;
    if (ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(ca_file, ec);
    }
    // Without CAs every certificate reads as unverified, which is the
    // truth as far as this host can tell; the probe itself still works.
    slot = {Clock::now(), std::move(ctx)};
  }
  return slot.second;
}

}  // namespace

std::vector<SmtpProbeResult> RunSmtpProbes(
    const std::vector<SmtpProbeRequest>& requests,
    const SmtpProbeOptions& options) {
  std::vector<SmtpProbeResult> results(requests.size());
  if (requests.empty()) return results;

  asio::io_context io(1);
  std::shared_ptr<asio::ssl::context> tls_ctx = ClientContext(options.ca_file);

  std::vector<std::shared_ptr<Probe>> probes;
  probes.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    probes.push_back(std::make_shared<Probe>(io, *tls_ctx, requests[i], options,
                                             &results[i]));
    probes.back()->Start();
  }
  // Every probe's timer closes its socket at the deadline, so run() returns
  // shortly after it; the bound is a safety net against a stuck handler.
  io.run_until(options.deadline + std::chrono::seconds(2));
  if (!io.stopped()) {
    io.stop();
    for (auto& p : probes) p->Abandon();
  }
  return results;
}

}  // namespace mailhealth::smtp
