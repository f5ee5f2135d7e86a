#pragma once

// A server-side TLS stream over a beast::tcp_stream, for the HTTP server.
//
// asio's ssl::stream moves ciphertext through a BIO pair of 17 KB and
// sets SSL_MODE_ENABLE_PARTIAL_WRITE, so a response of N bytes becomes
// ceil(N / 16 KB) rounds of SSL_write, a socket write and a handler each
// (a 40 KB /metrics: three). Here the OpenSSL session writes into a BIO
// that appends to a std::string, reserved for the whole answer: a
// response is encrypted by SSL_write in one go and leaves in one socket
// write, as plain HTTP does. (OpenSSL's own memory BIO would do, but it
// regrows by copying and wipes its buffer with OPENSSL_cleanse when freed:
// 9 % of the server's CPU under wrk, for ciphertext.) Reads go through a
// memory BIO. The deadlines stay the tcp_stream's (expires_after on
// next_layer()), so handshake, head, body and write timeouts hold as
// before.
//
// One operation at a time: the server never reads and writes a
// connection at once (it reads a request, answers, then reads again), and
// this stream relies on that. Models Beast's AsyncReadStream, so
// http::async_read works on it; beast::get_lowest_layer reaches the
// tcp_stream.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core.hpp>
#include <cstddef>
#include <memory>
#include <string>

namespace mailhealth {

class TlsStream {
 public:
  using next_layer_type = boost::beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;
  using error_code = boost::beast::error_code;

  // ok() is false if OpenSSL could not make the session (out of memory).
  TlsStream(boost::asio::ip::tcp::socket&& socket, SSL_CTX* ctx)
      : tcp_(std::move(socket)), ssl_(SSL_new(ctx)) {
    if (!ssl_) return;
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(StringSink());
    if (in == nullptr || out == nullptr) {
      BIO_free(in);
      BIO_free(out);
      ssl_.reset();
      return;
    }
    BIO_set_mem_eof_return(in, -1);  // empty: "retry", not end of stream
    BIO_set_data(out, &out_);
    SSL_set_bio(ssl_.get(), in, out);
    // An idle keep-alive connection gives OpenSSL's record buffers back.
    SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_set_accept_state(ssl_.get());
  }

  TlsStream(const TlsStream&) = delete;  // the output BIO points at out_
  TlsStream& operator=(const TlsStream&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  executor_type get_executor() { return tcp_.get_executor(); }
  next_layer_type& next_layer() { return tcp_; }
  SSL* native_handle() { return ssl_.get(); }

  // Completes with (error_code, 0) once the handshake is done and its last
  // flight (with TLS 1.3, the session tickets) is sent.
  template <class Token>
  auto async_handshake(Token&& token) {
    return Start<Handshake>(Handshake{}, std::forward<Token>(token));
  }

  // Up to buffer_size(buffers) bytes of plaintext.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return Start<Read<MutableBuffers>>(Read<MutableBuffers>{buffers},
                                       std::forward<Token>(token));
  }

  // All of `buffers` (one TLS record per 16 KB), in one socket write.
  template <class ConstBuffers, class Token>
  auto async_write_all(const ConstBuffers& buffers, Token&& token) {
    return Start<Write<ConstBuffers>>(Write<ConstBuffers>{buffers},
                                      std::forward<Token>(token));
  }

 private:
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };

  // The three steps an operation may retry: each returns OpenSSL's result
  // (> 0 done) and says what the operation completes with.
  struct Handshake {
    static constexpr bool kFlushWhenDone = true;
    int Try(SSL* ssl, std::string*) { return SSL_do_handshake(ssl); }
    size_t Result(int) const { return 0; }
  };
  template <class MutableBuffers>
  struct Read {
    static constexpr bool kFlushWhenDone = false;
    MutableBuffers buffers;
    int Try(SSL* ssl, std::string*) {
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::mutable_buffer b = *it;
        if (b.size() == 0) continue;
        const int n = b.size() > (1u << 30) ? (1 << 30)
                                            : static_cast<int>(b.size());
        return SSL_read(ssl, b.data(), n);
      }
      return 1;  // nothing asked for
    }
    size_t Result(int r) const {
      return boost::asio::buffer_size(buffers) == 0 ? 0
                                                    : static_cast<size_t>(r);
    }
  };
  template <class ConstBuffers>
  struct Write {
    static constexpr bool kFlushWhenDone = true;
    ConstBuffers buffers;
    size_t done = 0;   // buffers written
    size_t total = 0;  // plaintext bytes written
    int Try(SSL* ssl, std::string* out) {
      // The whole answer's ciphertext: plaintext plus at most 64 bytes of
      // record overhead per 16 KB record, in one allocation.
      const size_t plain = boost::asio::buffer_size(buffers);
      out->reserve(out->size() + plain + (plain / 16384 + 2) * 64);
      size_t i = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it, ++i) {
        if (i < done) continue;
        boost::asio::const_buffer b = *it;
        const char* p = static_cast<const char*>(b.data());
        size_t left = b.size();
        while (left > 0) {  // a memory BIO takes all: no partial writes
          const int n = left > (1u << 30) ? (1 << 30) : static_cast<int>(left);
          const int r = SSL_write(ssl, p, n);
          if (r <= 0) return r;
          p += r;
          left -= static_cast<size_t>(r);
          total += static_cast<size_t>(r);
        }
        done = i + 1;
      }
      return 1;
    }
    size_t Result(int) const { return total; }
  };

  enum class Phase { kStart, kFromSocket, kToSocket, kDone };

  template <class Action>
  struct Op {
    TlsStream* s;
    Action action;
    Phase phase = Phase::kStart;
    bool finished = false;  // the action succeeded; flushing its output
    error_code result_ec;
    size_t result_n = 0;

    template <class Self>
    void operator()(Self& self, error_code ec = {}, size_t n = 0) {
      switch (phase) {
        case Phase::kDone:
          return self.complete(result_ec, result_n);
        case Phase::kFromSocket:
          if (ec) return self.complete(ec, 0);
          BIO_write(SSL_get_rbio(s->ssl_.get()), s->in_.get(),
                    static_cast<int>(n));
          break;
        case Phase::kToSocket:
          if (ec) return self.complete(ec, 0);
          s->DropOutput();
          if (finished) return self.complete(result_ec, result_n);
          break;
        case Phase::kStart:
          break;
      }
      const bool started = phase != Phase::kStart;
      SSL* ssl = s->ssl_.get();
      ERR_clear_error();
      const int r = action.Try(ssl, &s->out_);
      if (r > 0) {
        finished = true;
        result_n = action.Result(r);
        if (Action::kFlushWhenDone && s->OutputPending()) {
          return Flush(self);
        }
        return Finish(self, started);
      }
      const int err = SSL_get_error(ssl, r);
      if (err == SSL_ERROR_WANT_WRITE ||
          (err == SSL_ERROR_WANT_READ && s->OutputPending())) {
        return Flush(self);
      }
      if (err == SSL_ERROR_WANT_READ) {
        phase = Phase::kFromSocket;
        s->tcp_.async_read_some(boost::asio::buffer(s->in_.get(), kInSize),
                                std::move(self));
        return;
      }
      finished = true;
      result_n = 0;
      if (err == SSL_ERROR_ZERO_RETURN) {
        result_ec = boost::asio::error::eof;
      } else {
        const unsigned long e = ERR_get_error();
        result_ec = e != 0 ? error_code(static_cast<int>(e),
                                        boost::asio::error::get_ssl_category())
                           : error_code(boost::asio::error::connection_reset);
      }
      // OpenSSL's alert ("protocol version", "unknown ca"...) goes out
      // first, so that the client can say why it was refused.
      if (s->OutputPending()) return Flush(self);
      return Finish(self, started);
    }

    template <class Self>
    void Flush(Self& self) {
      phase = Phase::kToSocket;
      boost::asio::async_write(s->tcp_, boost::asio::buffer(s->out_),
                               std::move(self));
    }

    // Completes, but never from within the initiating call (asio's rule):
    // a result known at once is posted.
    template <class Self>
    void Finish(Self& self, bool started) {
      if (started) return self.complete(result_ec, result_n);
      phase = Phase::kDone;
      boost::asio::post(s->tcp_.get_executor(), std::move(self));
    }
  };

  template <class Action, class Token>
  auto Start(Action action, Token&& token) {
    if (!in_) in_.reset(new char[kInSize]);
    return boost::asio::async_compose<Token, void(error_code, size_t)>(
        Op<Action>{this, std::move(action)}, token, tcp_);
  }

  bool OutputPending() const { return !out_.empty(); }
  // After a flush: emptied, its capacity kept for the next answer (the
  // CPU of a fresh allocation per answer was measurable under wrk; an idle
  // kept-alive connection holds about one answer's ciphertext).
  void DropOutput() { out_.clear(); }

  // The output BIO: appends what OpenSSL writes to the std::string its
  // data points at.
  static BIO_METHOD* StringSink() {
    static BIO_METHOD* const method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                   "mailhealth ciphertext sink");
      if (m == nullptr) return m;
      BIO_meth_set_write(m, [](BIO* b, const char* data, int len) -> int {
        if (len <= 0) return 0;
        static_cast<std::string*>(BIO_get_data(b))->append(data, len);
        return len;
      });
      BIO_meth_set_ctrl(m, [](BIO* b, int cmd, long, void*) -> long {
        switch (cmd) {
          case BIO_CTRL_FLUSH:
            return 1;
          case BIO_CTRL_PENDING:
          case BIO_CTRL_WPENDING:
            return static_cast<long>(
                static_cast<std::string*>(BIO_get_data(b))->size());
          default:
            return 0;
        }
      });
      BIO_meth_set_create(m, [](BIO* b) -> int {
        BIO_set_init(b, 1);
        return 1;
      });
      return m;
    }();
    return method;
  }

  // One socket read: a request head or a handshake flight fits.
  static constexpr size_t kInSize = 8192;

  next_layer_type tcp_;
  std::string out_;  // ciphertext not yet sent (before ssl_: outlives it)
  std::unique_ptr<SSL, SslFree> ssl_;
  std::unique_ptr<char[]> in_;
};

}  // namespace mailhealth
