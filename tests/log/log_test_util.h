// Helpers shared by the log collector tests.
#pragma once

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "collectors/log/log_parser.h"

namespace mailhealth::log {

// The non-zero counters of one instance (or of Total()), keyed
// "messages{smtpd,info}", "deliveries{smtp,sent}", "rejects{rcpt,rbl}",
// "events{x}".
inline std::map<std::string, uint64_t> NonZeroOf(const InstanceCounters& t) {
  std::map<std::string, uint64_t> m;
  auto put = [&](const std::string& k, uint64_t v) {
    if (v) m[k] = v;
  };
  for (size_t p = 0; p < N<Process>(); ++p)
    for (size_t s = 0; s < N<Severity>(); ++s)
      put("messages{" + std::string(Name(Process(p))) + "," +
              std::string(Name(Severity(s))) + "}",
          t.messages[p][s]);
  for (size_t tr = 0; tr < N<Transport>(); ++tr)
    for (size_t s = 0; s < N<DeliveryStatus>(); ++s)
      put("deliveries{" + std::string(Name(Transport(tr))) + "," +
              std::string(Name(DeliveryStatus(s))) + "}",
          t.deliveries[tr][s]);
  for (size_t st = 0; st < N<RejectStage>(); ++st)
    for (size_t r = 0; r < N<RejectReason>(); ++r)
      put("rejects{" + std::string(Name(RejectStage(st))) + "," +
              std::string(Name(RejectReason(r))) + "}",
          t.rejects[st][r]);
  for (size_t e = 0; e < N<Event>(); ++e)
    put("events{" + std::string(Name(Event(e))) + "}", t.events[e]);
  return m;
}

// Every non-zero counter, keyed "lines", "messages{smtpd,info}",
// "deliveries{smtp,sent}", "rejects{rcpt,rbl}", "events{x}", "rules{name}".
inline std::map<std::string, uint64_t> NonZero(const LogCounters& c,
                                               const LineProcessor& lp) {
  std::map<std::string, uint64_t> m = NonZeroOf(c.Total());
  auto put = [&](const std::string& k, uint64_t v) {
    if (v) m[k] = v;
  };
  put("lines", c.lines);
  put("postfix", c.postfix);
  put("foreign", c.foreign);
  put("unsupported", c.unsupported);
  put("truncated", c.truncated);
  for (size_t i = 0; i < c.rule_matches.size(); ++i)
    put("rules{" + lp.rule_names()[i] + "}", c.rule_matches[i]);
  return m;
}

inline uint64_t Deliveries(const LogCounters& c, DeliveryStatus s) {
  uint64_t n = 0;
  const InstanceCounters total = c.Total();
  for (const auto& t : total.deliveries) n += t[static_cast<size_t>(s)];
  return n;
}
inline uint64_t Rejects(const LogCounters& c) {
  uint64_t n = 0;
  const InstanceCounters total = c.Total();
  for (const auto& s : total.rejects)
    for (auto v : s) n += v;
  return n;
}
inline uint64_t Severities(const LogCounters& c, Severity s) {
  uint64_t n = 0;
  const InstanceCounters total = c.Total();
  for (const auto& p : total.messages) n += p[static_cast<size_t>(s)];
  return n;
}

// Reads a whole file through ProcessBlock in 64 KiB pieces (so lines cross
// block boundaries), the last unterminated line included.
inline LogCounters ProcessFile(LineProcessor& lp, const std::string& path) {
  LogCounters c;
  std::ifstream f(path, std::ios::binary);
  std::string buf;
  char chunk[65536];
  while (f.read(chunk, sizeof chunk) || f.gcount() > 0) {
    buf.append(chunk, static_cast<size_t>(f.gcount()));
    size_t used = lp.ProcessBlock(buf, &c);
    buf.erase(0, used);
  }
  if (!buf.empty()) lp.ProcessLine(buf, &c);
  return c;
}

// A fresh directory under $TMPDIR (or /tmp), one per call.
inline std::string TempDir() {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t ? t : "/tmp") + "/mhlogtest.XXXXXX";
  char* d = ::mkdtemp(tmpl.data());
  return d ? std::string(d) : std::string();
}

// `grep -c ARGS FILE` (ARGS already shell-quoted).
inline uint64_t GrepCount(const std::string& args, const std::string& file) {
  std::string cmd = "grep -ac " + args + " '" + file + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return ~uint64_t{0};
  unsigned long long n = 0;
  if (std::fscanf(p, "%llu", &n) != 1) n = ~0ULL;
  ::pclose(p);
  return n;
}

// Writes export-format entries and turns them into a journal file with
// systemd-journal-remote. `first_seconds` sets __REALTIME_TIMESTAMP. Each
// entry is {_SYSTEMD_UNIT, SYSLOG_IDENTIFIER, MESSAGE}; empty fields are
// left out.
inline bool MakeJournal(const std::string& dir, const std::string& name,
                        const std::vector<std::array<std::string, 3>>& entries,
                        uint64_t first_seconds) {
  std::string exp = dir + "/" + name + ".export";
  {
    std::ofstream o(exp, std::ios::binary);
    uint64_t t = first_seconds * 1000000;
    int n = 0;
    for (const auto& [unit, ident, msg] : entries) {
      o << "__CURSOR=s=0;i=" << ++n << "\n"
        << "__REALTIME_TIMESTAMP=" << t << "\n"
        << "__MONOTONIC_TIMESTAMP=" << t << "\n"
        << "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
        << "_HOSTNAME=mx1\n";
      if (!unit.empty()) o << "_SYSTEMD_UNIT=" << unit << "\n";
      if (!ident.empty()) o << "SYSLOG_IDENTIFIER=" << ident << "\n";
      // Binary-safe field form: name, newline, 64-bit LE size, data.
      o << "MESSAGE\n";
      uint64_t len = msg.size();
      for (int b = 0; b < 8; ++b)
        o.put(static_cast<char>((len >> (8 * b)) & 0xff));
      o << msg << "\n\n";
      t += 1000;
    }
  }
  std::string cmd = "/lib/systemd/systemd-journal-remote --output='" + dir +
                    "/" + name + ".journal' '" + exp + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Whether MakeJournal() can work here.
inline bool HaveJournalRemote() {
  return ::access("/lib/systemd/systemd-journal-remote", X_OK) == 0;
}

}  // namespace mailhealth::log
