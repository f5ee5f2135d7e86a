#include "collectors/smtp/smtp_run.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "collectors/resolve/mx_resolver.h"
#include "collectors/smtp/smtp_config.h"
#include "exporter/logging.h"

namespace mailhealth::smtp {
namespace {

// Name resolution gets at most this share of the run; the rest is for the
// dialogs.
constexpr int kResolveShareDivisor = 2;
constexpr size_t kResolverThreads = 8;

struct Endpoint {
  std::string address;  // the `address` label
  std::string tls_name;
  bool dns_failure = false;
};

struct Expansion {
  std::vector<Endpoint> endpoints;
  double resolve_seconds = 0;
  std::string error;  // resolution failure, for the log
};

std::string MachineHostNameImpl() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
    return "localhost";
  }
  std::string name(buf);
  return ValidateHeloName(name).ok() ? name : "localhost";
}

Expansion Expand(const SmtpTarget& t, const std::vector<std::string>& resolvers,
                 Clock::time_point deadline) {
  Expansion e;
  if (t.kind == SmtpTarget::Kind::kHost && t.host_is_ip) {
    e.endpoints.push_back({t.host, "", false});
    return e;
  }
  const Clock::time_point start = Clock::now();
  std::set<std::string> seen;
  if (t.kind == SmtpTarget::Kind::kHost) {
    Result<std::vector<std::string>> r =
        ResolveHost(t.host, resolvers, deadline);
    if (r.ok() && !r->empty()) {
      for (const std::string& a : *r) {
        if (seen.insert(a).second) e.endpoints.push_back({a, t.host, false});
      }
    } else {
      e.error = r.ok() ? "no addresses" : r.status().message();
    }
  } else {
    MxResolution mx = ResolveMx(t.host, resolvers, deadline);
    if (!mx.status.ok()) {
      e.error = mx.status.message();
    } else if (mx.null_mx) {
      e.error = "null MX: the domain accepts no mail";
    } else if (mx.hosts.empty()) {
      e.error = "no MX hosts";
    }
    if (e.error.empty()) {
      for (const MxHostAddresses& h : mx.hosts) {
        if (h.addresses.empty()) {
          // An MX host without addresses is a DNS failure of its own; its
          // name stands in for the address it does not have.
          if (seen.insert(h.exchange).second) {
            e.endpoints.push_back({h.exchange, h.exchange, true});
          }
          continue;
        }
        for (const std::string& a : h.addresses) {
          if (seen.insert(a).second)
            e.endpoints.push_back({a, h.exchange, false});
        }
      }
    }
  }
  e.resolve_seconds = Seconds(Clock::now() - start);
  if (!e.error.empty()) e.endpoints = {{"", "", true}};
  if (e.endpoints.size() > kSmtpMaxAddressesPerTarget) {
    e.endpoints.resize(kSmtpMaxAddressesPerTarget);
  }
  return e;
}

// One (target, endpoint) of a run and its probe, if any.
struct Slot {
  size_t target;
  size_t endpoint;
  long probe = -1;  // index into requests, -1 = no probe (DNS failure)
};

// Resolves every target; host names and MX domains in parallel (each
// lookup blocks on its own c-ares channel), IP literals inline.
std::vector<Expansion> ExpandAll(const std::vector<SmtpTarget>& targets,
                                 const std::vector<std::string>& resolvers,
                                 Clock::time_point deadline) {
  const size_t n = targets.size();
  std::vector<Expansion> exp(n);
  std::vector<size_t> todo;
  for (size_t i = 0; i < n; ++i) {
    const SmtpTarget& t = targets[i];
    if (t.kind == SmtpTarget::Kind::kHost && t.host_is_ip) {
      exp[i] = Expand(t, resolvers, deadline);
    } else {
      todo.push_back(i);
    }
  }
  if (todo.empty()) return exp;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < todo.size();) {
      exp[todo[k]] = Expand(targets[todo[k]], resolvers, deadline);
    }
  };
  std::vector<std::thread> threads;
  const size_t nthreads = std::min(todo.size(), kResolverThreads);
  for (size_t i = 1; i < nthreads; ++i) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();
  return exp;
}

// Flattens the expansions to probe requests, capped at kSmtpMaxProbes;
// a DNS failure keeps its slot without a probe. Returns how many were
// left out.
size_t Plan(const std::vector<SmtpTarget>& targets,
            const std::vector<Expansion>& exp, std::vector<Slot>* slots,
            std::vector<SmtpProbeRequest>* requests) {
  size_t dropped = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const SmtpTarget& t = targets[i];
    for (size_t j = 0; j < exp[i].endpoints.size(); ++j) {
      const Endpoint& ep = exp[i].endpoints[j];
      Slot s{i, j};
      if (!ep.dns_failure) {
        if (requests->size() >= kSmtpMaxProbes) {
          ++dropped;
          continue;
        }
        s.probe = static_cast<long>(requests->size());
        requests->push_back(
            {ep.address, t.port, t.lmtp, t.implicit_tls, ep.tls_name});
      }
      slots->push_back(s);
    }
  }
  return dropped;
}

}  // namespace

std::string DefaultHeloName() { return MachineHostNameImpl(); }

SmtpRunOutcome RunSmtpTargets(const std::vector<SmtpTarget>& targets,
                              const SmtpRunOptions& options,
                              Clock::time_point deadline,
                              const SmtpAddressGate& gate) {
  SmtpRunOutcome out;
  const Clock::time_point start = Clock::now();
  const Clock::time_point resolve_deadline =
      start + std::max(deadline - start, Clock::duration::zero()) /
                  kResolveShareDivisor;

  std::vector<Expansion> exp =
      ExpandAll(targets, options.resolvers, resolve_deadline);

  if (gate) {
    for (size_t i = 0; i < targets.size(); ++i) {
      for (const Endpoint& ep : exp[i].endpoints) {
        if (ep.dns_failure) continue;
        const std::string& name =
            ep.tls_name.empty() ? targets[i].host : ep.tls_name;
        if (Status st = gate(targets[i], ep.address, name); !st.ok()) {
          out.refused = st;
          return out;
        }
      }
    }
  }

  std::vector<Slot> slots;
  std::vector<SmtpProbeRequest> requests;
  out.dropped = Plan(targets, exp, &slots, &requests);

  SmtpProbeOptions opt;
  opt.helo = options.helo;
  opt.starttls = options.starttls;
  opt.deadline = deadline;
  opt.ca_file = options.ca_file;
  std::vector<SmtpProbeResult> results = RunSmtpProbes(requests, opt);

  std::vector<size_t> per_target(targets.size(), 0);
  for (const Slot& s : slots) {
    const SmtpTarget& t = targets[s.target];
    const Expansion& e = exp[s.target];
    const Endpoint& ep = e.endpoints[s.endpoint];
    SmtpProbeResult r;
    if (s.probe < 0) {
      r.failure = SmtpFailure::kDnsFailure;
      r.detail = e.error.empty() ? "MX host has no addresses" : e.error;
    } else {
      r = results[static_cast<size_t>(s.probe)];
      ++per_target[s.target];
    }
    r.phase_seconds[static_cast<size_t>(SmtpPhase::kResolve)] =
        e.resolve_seconds;
    r.duration_seconds += e.resolve_seconds;
    if (!r.success()) {
      LogDebug("smtp probe failed",
               {{options.log_source.first, options.log_source.second},
                {"target", t.text},
                {"address", ep.address},
                {"reason", kSmtpFailureNames[static_cast<int>(r.failure)]},
                {"detail", r.detail}});
    }
    out.run.rows.push_back({t.text, ep.address, std::move(r)});
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    out.run.addresses_probed.emplace_back(targets[i].text, per_target[i]);
  }
  return out;
}

}  // namespace mailhealth::smtp
