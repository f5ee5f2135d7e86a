#include "tests/dns/fake_dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <vector>

namespace mailhealth::testing {
namespace {

// Length of the question section starting at offset 12, or 0.
size_t QuestionEnd(const unsigned char* q, size_t n) {
  size_t p = 12;
  while (p < n && q[p] != 0) p += q[p] + 1;
  p += 1 + 4;  // root label, QTYPE, QCLASS
  return p <= n ? p : 0;
}

}  // namespace

FakeDnsServer::FakeDnsServer(Mode mode, int answers_before_death)
    : mode_(mode), answers_before_death_(answers_before_death) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
  thread_ = std::thread([this] { Serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  if (stop_pipe_[1] >= 0) {
    char c = 0;
    (void)!write(stop_pipe_[1], &c, 1);
  }
  thread_.join();
  if (fd_ >= 0) close(fd_);
  for (int fd : stop_pipe_) {
    if (fd >= 0) close(fd);
  }
}

void FakeDnsServer::Serve() {
  std::mt19937 rng(42);
  int answered = 0;
  for (;;) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) return;
    unsigned char q[4096];
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n =
        recvfrom(fd_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 12) continue;
    ++queries_;
    auto send = [&](const std::vector<unsigned char>& r) {
      sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from),
             fl);
    };
    const size_t qend = QuestionEnd(q, static_cast<size_t>(n));
    if (mode_ == Mode::kSilent || qend == 0) continue;
    std::vector<unsigned char> r(q, q + qend);
    r[2] = 0x81;  // QR, RD
    r[3] = 0x80;  // RA, NOERROR
    r[4] = 0;
    r[5] = 1;  // QDCOUNT 1
    r[8] = r[9] = r[10] = r[11] = 0;
    if (mode_ == Mode::kGarbage) {
      std::vector<unsigned char> junk(40);
      for (auto& b : junk) b = static_cast<unsigned char>(rng());
      send(junk);
      r[7] = 3;  // ANCOUNT 3, but only a stub follows
      for (unsigned char b : {0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00})
        r.push_back(b);
      send(r);
      continue;
    }
    // kDies: a proper answer "NAME MX 10 mx.NAME" for MX, NODATA otherwise.
    const uint16_t qtype =
        static_cast<uint16_t>((q[qend - 4] << 8) | q[qend - 3]);
    if (qtype == 15) {
      r[7] = 1;
      const unsigned char rr[] = {0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0,
                                  0,    0x01, 0x2c, 0x00, 0x07, 0x00, 0x0a,
                                  0x02, 'm',  'x',  0xc0, 0x0c};
      r.insert(r.end(), rr, rr + sizeof rr);
    }
    send(r);
    if (++answered >= answers_before_death_) {
      close(fd_);
      fd_ = -1;
      // Wait for the stop signal only.
      pollfd s{stop_pipe_[0], POLLIN, 0};
      while (poll(&s, 1, -1) <= 0) {
      }
      return;
    }
  }
}

}  // namespace mailhealth::testing
