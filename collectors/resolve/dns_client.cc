#include "collectors/resolve/dns_client.h"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

namespace mailhealth {
namespace {

// ares_library_init once per process (a no-op on Linux, but required).
Status InitAresLibrary() {
  static std::once_flag once;
  static int rc = ARES_SUCCESS;
  std::call_once(once, [] { rc = ares_library_init(ARES_LIB_INIT_ALL); });
  if (rc != ARES_SUCCESS) {
    return Status::Error(std::string("ares_library_init: ") +
                         ares_strerror(rc));
  }
  return Status::Ok();
}

struct ChannelDeleter {
  void operator()(ares_channel c) const { ares_destroy(c); }
};
using ChannelPtr = std::unique_ptr<ares_channeldata, ChannelDeleter>;

// Owns the linked list ares_set_servers_ports() reads.
Status SetServers(ares_channel ch, const std::vector<ResolverAddress>& addrs) {
  std::vector<ares_addr_port_node> nodes(addrs.size());
  for (size_t i = 0; i < addrs.size(); ++i) {
    auto& n = nodes[i];
    std::memset(&n, 0, sizeof n);
    n.next = i + 1 < addrs.size() ? &nodes[i + 1] : nullptr;
    n.family = addrs[i].family;
    n.udp_port = addrs[i].port;
    n.tcp_port = addrs[i].port;
    void* dst = addrs[i].family == AF_INET ? static_cast<void*>(&n.addr.addr4)
                                           : static_cast<void*>(&n.addr.addr6);
    if (inet_pton(addrs[i].family, addrs[i].ip.c_str(), dst) != 1) {
      return Status::Error("bad resolver address " + addrs[i].label);
    }
  }
  int rc = ares_set_servers_ports(ch, nodes.empty() ? nullptr : nodes.data());
  if (rc != ARES_SUCCESS) {
    return Status::Error(std::string("ares_set_servers_ports: ") +
                         ares_strerror(rc));
  }
  return Status::Ok();
}

}  // namespace

struct DnsBatch::Pending {
  DnsBatch* batch;
  Callback callback;
  size_t slot;
  std::string name;
  uint16_t qtype;
  Clock::time_point start;
};

struct DnsBatch::Impl {
  DnsBatchOptions options;
  std::vector<ChannelPtr> channels;
  std::vector<size_t> in_flight;  // per slot
  std::vector<size_t> replies;    // per slot: replies received
  std::vector<bool> silent;       // per slot
  std::vector<std::deque<std::unique_ptr<Pending>>> waiting;  // per slot
};

DnsBatch::DnsBatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsBatch::~DnsBatch() {
  // ares_destroy() calls back every query still pending with
  // ARES_EDESTRUCTION; OnReply then only frees its Pending.
  destroying_ = true;
  impl_->channels.clear();
}

size_t DnsBatch::slots() const { return impl_->channels.size(); }

Result<std::unique_ptr<DnsBatch>> DnsBatch::Create(
    const std::vector<std::vector<ResolverAddress>>& slots,
    const DnsBatchOptions& options) {
  Status s = InitAresLibrary();
  if (!s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  for (const auto& servers : slots) {
    ares_options opts;
    std::memset(&opts, 0, sizeof opts);
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (options.receive_buffer_bytes > 0) {
      mask |= ARES_OPT_SOCK_RCVBUF;
      opts.socket_receive_buffer_size = options.receive_buffer_bytes;
    }
    // No EDNS: a large answer comes back truncated over UDP and c-ares
    // repeats the query over TCP (ARES_FLAG_IGNTC is not set).
    opts.flags = options.failover ? 0 : ARES_FLAG_NOCHECKRESP;
    opts.timeout =
        static_cast<int>(std::max<int64_t>(1, options.try_timeout.count()));
    opts.tries = std::max(1, options.tries);
    ares_channel raw = nullptr;
    int rc = ares_init_options(&raw, &opts, mask);
    if (rc != ARES_SUCCESS) {
      return Status::Error(std::string("ares_init_options: ") +
                           ares_strerror(rc));
    }
    ChannelPtr ch(raw);
    if (!servers.empty()) {
      Status ss = SetServers(ch.get(), servers);
      if (!ss.ok()) return ss;
    }
    impl->channels.push_back(std::move(ch));
  }
  impl->in_flight.assign(impl->channels.size(), 0);
  impl->replies.assign(impl->channels.size(), 0);
  impl->silent.assign(impl->channels.size(), false);
  impl->waiting.resize(impl->channels.size());
  return std::unique_ptr<DnsBatch>(new DnsBatch(std::move(impl)));
}

void DnsBatch::Query(size_t slot, const std::string& name, uint16_t qtype,
                     Callback callback) {
  if (stopped_ || slot >= impl_->channels.size()) {
    LookupResult r;
    r.status = DnsStatus::kTimeout;
    r.error = stopped_ ? "deadline" : "no such resolver slot";
    callback(r);
    return;
  }
  auto p = std::make_unique<Pending>(
      Pending{this, std::move(callback), slot, name, qtype, Clock::now()});
  ++outstanding_;
  const size_t max = impl_->options.max_in_flight;
  if (max > 0 && impl_->in_flight[slot] >= max) {
    impl_->waiting[slot].push_back(std::move(p));
    return;
  }
  Send(p.release());
}

void DnsBatch::Send(Pending* p) {
  ++impl_->in_flight[p->slot];
  p->start = Clock::now();  // the duration excludes time spent waiting
  ares_channel ch = impl_->channels[p->slot].get();
  if (!impl_->options.request_ad) {
    ares_query(ch, p->name.c_str(), 1 /* C_IN */, p->qtype, &DnsBatch::OnReply,
               p);
    return;
  }
  // c-ares 1.18 has no flag for AD: build the query as ares_query() would
  // (RD set, no EDNS), set AD (byte 3, 0x20) and send it as it is;
  // ares_send() gives it a fresh ID.
  unsigned char* q = nullptr;
  int qlen = 0;
  int rc = ares_create_query(p->name.c_str(), 1 /* C_IN */, p->qtype, 0,
                             /*rd=*/1, &q, &qlen, /*max_udp_size=*/0);
  if (rc != ARES_SUCCESS) {
    OnReply(p, rc, 0, nullptr, 0);
    return;
  }
  q[3] |= 0x20;
  ares_send(ch, q, qlen, &DnsBatch::OnReply, p);
  ares_free_string(q);
}

void DnsBatch::Pump(size_t slot) {
  const size_t max = impl_->options.max_in_flight;
  auto& q = impl_->waiting[slot];
  if (impl_->silent[slot]) {
    LookupResult r;
    r.status = DnsStatus::kTimeout;
    r.error = "resolver answered nothing in this run";
    while (!q.empty()) {
      std::unique_ptr<Pending> p = std::move(q.front());
      q.pop_front();
      --outstanding_;
      p->callback(r);  // may queue more: the loop drains those too
    }
    return;
  }
  while (!stopped_ && !q.empty() &&
         (max == 0 || impl_->in_flight[slot] < max)) {
    Pending* p = q.front().release();
    q.pop_front();
    Send(p);
  }
}

void DnsBatch::OnReply(void* arg, int status, int /*timeouts*/,
                       unsigned char* abuf, int alen) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(arg));
  DnsBatch* self = p->batch;
  --self->outstanding_;
  --self->impl_->in_flight[p->slot];
  if (self->destroying_ || status == ARES_EDESTRUCTION) return;
  LookupResult r;
  r.duration_seconds = Seconds(Clock::now() - p->start);
  if (abuf != nullptr && alen > 0) {
    ++self->impl_->replies[p->slot];
    auto parsed = ParseDnsResponse(abuf, static_cast<size_t>(alen), p->qtype);
    if (parsed.ok()) {
      r.answered = true;
      r.answer = std::move(*parsed);
      r.status = StatusFromRcode(r.answer.rcode);
    } else {
      r.status = DnsStatus::kOther;
      r.error = "malformed reply: " + parsed.status().message();
    }
  } else {
    r.status = StatusFromAresCode(status);
    r.error = status == ARES_ECANCELLED ? "deadline" : ares_strerror(status);
  }
  if (status == ARES_ETIMEOUT && self->impl_->replies[p->slot] == 0) {
    self->impl_->silent[p->slot] = true;
  }
  p->callback(r);
  self->Pump(p->slot);
}

void DnsBatch::Run(Clock::time_point deadline) {
  std::vector<pollfd> fds;
  std::vector<size_t> owner;  // channel index of each pollfd
  while (outstanding_ > 0) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    fds.clear();
    owner.clear();
    auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    timeval max_tv{static_cast<time_t>(left.count() / 1000000),
                   static_cast<suseconds_t>(left.count() % 1000000)};
    timeval wait = max_tv;
    for (size_t c = 0; c < impl_->channels.size(); ++c) {
      ares_channel ch = impl_->channels[c].get();
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev == 0) continue;
        fds.push_back(pollfd{socks[i], ev, 0});
        owner.push_back(c);
      }
      timeval tv;
      timeval* t = ares_timeout(ch, &wait, &tv);
      if (t != nullptr) wait = *t;
    }
    // Round up so a sub-millisecond wait does not spin.
    int ms = static_cast<int>(wait.tv_sec * 1000 + (wait.tv_usec + 999) / 1000);
    int n = poll(fds.data(), fds.size(), std::max(ms, 0));
    if (n < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size() && n > 0; ++i) {
      if (fds[i].revents == 0) continue;
      ares_channel ch = impl_->channels[owner[i]].get();
      const bool rd = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
      const bool wr = fds[i].revents & (POLLOUT | POLLERR | POLLHUP);
      ares_process_fd(ch, rd ? fds[i].fd : ARES_SOCKET_BAD,
                      wr ? fds[i].fd : ARES_SOCKET_BAD);
    }
    // Timeouts and retries of every channel.
    for (auto& ch : impl_->channels) {
      ares_process_fd(ch.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
  }
  if (outstanding_ > 0) {
    // Deadline: whatever c-ares' retry schedule says, the run ends now.
    stopped_ = true;
    for (auto& ch : impl_->channels) ares_cancel(ch.get());
    // Queries that never left the queue time out too.
    LookupResult r;
    r.status = DnsStatus::kTimeout;
    r.error = "deadline";
    for (auto& q : impl_->waiting) {
      while (!q.empty()) {
        std::unique_ptr<Pending> p = std::move(q.front());
        q.pop_front();
        --outstanding_;
        p->callback(r);
      }
    }
  }
  stopped_ = true;
}

}  // namespace mailhealth
