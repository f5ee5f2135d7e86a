#include "collectors/mailauth/spf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "collectors/resolve/domain_name.h"
#include "exporter/strings.h"

namespace mailhealth::mailauth {
namespace {

using std::string;
using std::string_view;

struct Ip {
  bool v6 = false;
  std::array<unsigned char, 16> b{};
};

bool ParseIp(string_view text, Ip* out) {
  string s(text);
  if (inet_pton(AF_INET, s.c_str(), out->b.data()) == 1) {
    out->v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out->b.data()) == 1) {
    out->v6 = true;
    return true;
  }
  return false;
}

bool PrefixMatch(const Ip& a, const Ip& b, int bits) {
  if (a.v6 != b.v6) return false;
  const int max = a.v6 ? 128 : 32;
  if (bits < 0 || bits > max) bits = max;
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(a.b.data(), b.b.data(), static_cast<size_t>(full)) != 0)
    return false;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a.b[static_cast<size_t>(full)] & mask) ==
         (b.b[static_cast<size_t>(full)] & mask);
}

bool StartsWithI(string_view s, string_view p) {
  return s.size() >= p.size() && AsciiLower(s.substr(0, p.size())) == p;
}

enum class Mech { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists };

struct Term {
  char qualifier = '+';
  Mech mech = Mech::kAll;
  string spec;  // domain-spec (unexpanded), may be empty
  int cidr4 = -1, cidr6 = -1;
  Ip ip;
};

struct Record {
  std::vector<Term> terms;
  string redirect;  // empty: none
  bool has_redirect = false;
};

bool ParseCidr(string_view s, int max, int* out) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > max)
    return false;
  *out = v;
  return true;
}

// "example.com/24//64", "/24", "//64", "" -> spec and the two lengths.
bool SplitDualCidr(string_view arg, Term* t) {
  size_t dd = arg.find("//");
  if (dd != string_view::npos) {
    if (!ParseCidr(arg.substr(dd + 2), 128, &t->cidr6)) return false;
    arg = arg.substr(0, dd);
  }
  size_t sl = arg.rfind('/');
  if (sl != string_view::npos) {
    if (!ParseCidr(arg.substr(sl + 1), 32, &t->cidr4)) return false;
    arg = arg.substr(0, sl);
  }
  t->spec = string(arg);
  return true;
}

bool ValidModifierName(string_view n) {
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0])))
    return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
        c != '.')
      return false;
  return true;
}

// A modifier term (name "=" value, `eq` the place of the '='): redirect=
// is kept; exp= and unknown modifiers do not change the result.
bool ParseModifier(string_view term, size_t eq, Record* out, string* why) {
  string name = AsciiLower(term.substr(0, eq));
  if (!ValidModifierName(name)) {
    *why = "bad modifier \"" + string(term) + "\"";
    return false;
  }
  if (name == "redirect") {
    if (out->has_redirect) {
      *why = "redirect= appears twice";
      return false;
    }
    out->has_redirect = true;
    out->redirect = string(term.substr(eq + 1));
    if (out->redirect.empty()) {
      *why = "empty redirect=";
      return false;
    }
  }
  return true;
}

// ":domain-spec" after include, exists and ptr; `required`: it must be there.
bool ColonSpec(string_view arg, bool required, Term* t) {
  if (arg.empty()) return !required;
  if (arg[0] != ':') return false;
  t->spec = string(arg.substr(1));
  return !t->spec.empty();
}

// ip4:ADDR[/BITS] and ip6:ADDR[/BITS]; `arg` from the ':' on.
bool ParseIpArg(bool v6, string_view arg, Term* t) {
  if (arg.empty() || arg[0] != ':') return false;
  string_view a = arg.substr(1);
  size_t sl = a.find('/');
  int bits = -1;
  bool ok = true;
  if (sl != string_view::npos) {
    ok = ParseCidr(a.substr(sl + 1), v6 ? 128 : 32, &bits);
    a = a.substr(0, sl);
  }
  ok = ok && ParseIp(a, &t->ip) && t->ip.v6 == v6;
  (v6 ? t->cidr6 : t->cidr4) = bits;
  return ok;
}

// The mechanism `name` with its argument `arg` (from the ':' or '/' on)
// into `t`; false on a bad argument, `*known` false for an unknown name.
bool ParseMechanismArg(const string& name, string_view arg, Term* t,
                       bool* known) {
  *known = true;
  if (name == "all") {
    t->mech = Mech::kAll;
    return arg.empty();
  }
  if (name == "include") {
    t->mech = Mech::kInclude;
    return ColonSpec(arg, true, t);
  }
  if (name == "exists") {
    t->mech = Mech::kExists;
    return ColonSpec(arg, true, t);
  }
  if (name == "ptr") {
    t->mech = Mech::kPtr;
    return ColonSpec(arg, false, t);
  }
  if (name == "a" || name == "mx") {
    t->mech = name == "a" ? Mech::kA : Mech::kMx;
    if (!arg.empty() && arg[0] == ':')
      return SplitDualCidr(arg.substr(1), t) && !t->spec.empty();
    return SplitDualCidr(arg, t) && t->spec.empty();
  }
  if (name == "ip4" || name == "ip6") {
    t->mech = name == "ip4" ? Mech::kIp4 : Mech::kIp6;
    return ParseIpArg(name == "ip6", arg, t);
  }
  *known = false;
  return false;
}

// A mechanism term with its optional qualifier; false with `why`.
bool ParseMechanism(string_view term, Term* t, string* why) {
  if (term[0] == '+' || term[0] == '-' || term[0] == '~' || term[0] == '?') {
    t->qualifier = term[0];
    term.remove_prefix(1);
  }
  size_t split = term.find_first_of(":/");
  string name = AsciiLower(term.substr(0, split));
  string_view arg =
      split == string_view::npos ? string_view() : term.substr(split);
  bool known = true;
  if (ParseMechanismArg(name, arg, t, &known)) return true;
  *why = (known ? "bad term \"" : "unknown mechanism \"") + string(term) + "\"";
  return false;
}

// Parses the terms after "v=spf1"; false with `why` on a syntax error.
bool ParseRecord(string_view rec, Record* out, string* why) {
  size_t pos = 6;  // after "v=spf1"
  while (pos < rec.size()) {
    while (pos < rec.size() && rec[pos] == ' ') ++pos;
    if (pos >= rec.size()) break;
    size_t end = rec.find(' ', pos);
    if (end == string_view::npos) end = rec.size();
    string_view term = rec.substr(pos, end - pos);
    pos = end;
    // A modifier: name "=" value, the name before any ':' or '/'.
    size_t eq = term.find('=');
    size_t colon = term.find_first_of(":/");
    if (eq != string_view::npos && (colon == string_view::npos || eq < colon)) {
      if (!ParseModifier(term, eq, out, why)) return false;
      continue;
    }
    Term t;
    if (!ParseMechanism(term, &t, why)) return false;
    out->terms.push_back(std::move(t));
  }
  return true;
}

string ReverseIp(const Ip& ip) {
  string out;
  if (!ip.v6) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(ip.b[static_cast<size_t>(i)]);
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  const char* hex = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out += hex[ip.b[static_cast<size_t>(i)] & 0xf];
    out += '.';
    out += hex[ip.b[static_cast<size_t>(i)] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

// %{i}: dotted quad, or the 32 nibbles of an IPv6 address, dot-separated.
string MacroIp(const string& text, bool v6) {
  if (!v6) return text;
  Ip ip;
  if (!ParseIp(text, &ip)) return text;
  const char* hex = "0123456789abcdef";
  string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += hex[ip.b[i] >> 4];
    out += '.';
    out += hex[ip.b[i] & 0xf];
  }
  return out;
}

string UrlEncode(const string& s) {
  string out;
  const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

// RFC 7208 section 4.8 and 7.3: a domain over 253 characters loses labels
// on the left.
string TrimDomain(string d) {
  while (!d.empty() && d.back() == '.') d.pop_back();
  while (d.size() > 253) {
    size_t dot = d.find('.');
    if (dot == string::npos) return d;
    d.erase(0, dot + 1);
  }
  return AsciiLower(d);
}

class Evaluator {
 public:
  Evaluator(SpfDns& dns, bool walk) : dns_(dns), walk_(walk) {}

  // check_host(ip, domain, sender); `records` (at this level) for the top.
  SpfResult Check(const Ip& ip, const string& domain, MacroContext ctx,
                  int* records) {
    ctx.domain = domain;
    if (!resolve::ValidDomainName(domain) || domain.find('.') == string::npos) {
      reason_ = "invalid domain \"" + domain + "\"";
      return SpfResult::kNone;
    }
    LookupResult txt = dns_.Lookup(domain, kTypeTxt);
    if (txt.status == DnsStatus::kNxDomain) return SpfResult::kNone;
    if (txt.status != DnsStatus::kNoError) {
      reason_ = "TXT " + domain + ": " + DnsStatusName(txt.status);
      return SpfResult::kTempError;
    }
    std::vector<string> spf;
    for (const string& t : txt.answer.texts) {
      if (StartsWithI(t, "v=spf1") && (t.size() == 6 || t[6] == ' '))
        spf.push_back(t);
    }
    if (records) *records = static_cast<int>(spf.size());
    if (spf.empty()) return SpfResult::kNone;
    if (spf.size() > 1) {
      reason_ = domain + " publishes " + std::to_string(spf.size()) +
                " v=spf1 records";
      return SpfResult::kPermError;
    }
    Record rec;
    string why;
    if (!ParseRecord(spf[0], &rec, &why)) {
      reason_ = domain + ": " + why;
      return SpfResult::kPermError;
    }
    for (const Term& t : rec.terms) {
      bool match = false;
      SpfResult err = SpfResult::kCount;
      Evaluate(t, ip, ctx, &match, &err);
      if (err != SpfResult::kCount) return err;
      if (match && !walk_) {
        switch (t.qualifier) {
          case '-':
            return SpfResult::kFail;
          case '~':
            return SpfResult::kSoftFail;
          case '?':
            return SpfResult::kNeutral;
          default:
            return SpfResult::kPass;
        }
      }
    }
    // An `all` always matches: the redirect is never reached (the walk
    // does not count it either).
    const bool has_all =
        std::any_of(rec.terms.begin(), rec.terms.end(),
                    [](const Term& t) { return t.mech == Mech::kAll; });
    if (rec.has_redirect && !has_all) {
      if (!Count()) return SpfResult::kPermError;
      string target;
      if (!Target(rec.redirect, ctx, &target)) return SpfResult::kPermError;
      int sub = 0;
      SpfResult r = Check(ip, target, ctx, &sub);
      if (r == SpfResult::kNone) {
        if (reason_.empty()) reason_ = "redirect to " + target + " without SPF";
        return SpfResult::kPermError;
      }
      return r;
    }
    return SpfResult::kNeutral;
  }

  int lookups() const { return lookups_; }
  int voids() const { return voids_; }
  const string& reason() const { return reason_; }

 private:
  // Counts one against `limit` in `*n`; false past it (reason set).
  bool Within(int* n, int limit, const char* what) {
    if (++*n > limit) {
      reason_ = "more than " + std::to_string(limit) + " " + what;
      return false;
    }
    return true;
  }
  // One DNS-querying term.
  bool Count() {
    return Within(&lookups_, kMaxDnsLookups, "DNS-querying terms");
  }
  // One void lookup.
  bool Void() { return Within(&voids_, kMaxVoidLookups, "void lookups"); }

  bool Target(const string& spec, const MacroContext& ctx, string* out) {
    string e;
    if (!ExpandMacros(spec, ctx, &e)) {
      reason_ = "bad macro in \"" + spec + "\"";
      return false;
    }
    *out = TrimDomain(e);
    if (!resolve::ValidDomainName(*out) || out->find('.') == string::npos) {
      reason_ = "invalid domain \"" + *out + "\"";
      return false;
    }
    return true;
  }

  // The addresses of `name` of the family of `ip`. kCount: ok; else the
  // error to return. `void_counted`: counts a void answer.
  SpfResult Addresses(const string& name, bool v6, bool count_void,
                      std::vector<string>* out) {
    LookupResult r = dns_.Lookup(name, v6 ? kTypeAaaa : kTypeA);
    if (r.status == DnsStatus::kNxDomain ||
        (r.status == DnsStatus::kNoError && r.answer.addresses.empty())) {
      if (count_void && !Void()) return SpfResult::kPermError;
      return SpfResult::kCount;
    }
    if (r.status != DnsStatus::kNoError) {
      reason_ =
          string(v6 ? "AAAA " : "A ") + name + ": " + DnsStatusName(r.status);
      return SpfResult::kTempError;
    }
    *out = r.answer.addresses;
    return SpfResult::kCount;
  }

  bool AnyIn(const std::vector<string>& addrs, const Ip& ip, const Term& t) {
    for (const string& a : addrs) {
      Ip x;
      if (ParseIp(a, &x) && PrefixMatch(x, ip, ip.v6 ? t.cidr6 : t.cidr4))
        return true;
    }
    return false;
  }

  // One term: `*match`, or `*err` (not kCount) when the check ends there.
  void Evaluate(const Term& t, const Ip& ip, const MacroContext& ctx,
                bool* match, SpfResult* err) {
    switch (t.mech) {
      case Mech::kAll:
        *match = true;
        return;
      case Mech::kIp4:
        *match = !ip.v6 && PrefixMatch(t.ip, ip, t.cidr4);
        return;
      case Mech::kIp6:
        *match = ip.v6 && PrefixMatch(t.ip, ip, t.cidr6);
        return;
      default:
        break;
    }
    // The DNS-querying terms: counted, then their target domain.
    if (!Count()) return void(*err = SpfResult::kPermError);
    string target = ctx.domain;
    if (!t.spec.empty() && !Target(t.spec, ctx, &target))
      return void(*err = SpfResult::kPermError);
    switch (t.mech) {
      case Mech::kInclude:
        return EvaluateInclude(ip, target, ctx, match, err);
      case Mech::kA: {
        std::vector<string> addrs;
        SpfResult r = Addresses(target, ip.v6, true, &addrs);
        if (r != SpfResult::kCount) return void(*err = r);
        *match = AnyIn(addrs, ip, t);
        return;
      }
      case Mech::kMx:
        return EvaluateMx(t, ip, target, match, err);
      case Mech::kPtr:
        return EvaluatePtr(ip, target, match, err);
      case Mech::kExists: {
        std::vector<string> addrs;
        SpfResult r = Addresses(target, false, true, &addrs);
        if (r != SpfResult::kCount) return void(*err = r);
        *match = !addrs.empty();
        return;
      }
      default:
        return;
    }
  }

  // include:TARGET: its check_host() result mapped to a match or an error.
  void EvaluateInclude(const Ip& ip, const string& target,
                       const MacroContext& ctx, bool* match, SpfResult* err) {
    SpfResult r = Check(ip, target, ctx, nullptr);
    if (r == SpfResult::kPass) {
      *match = true;
    } else if (r == SpfResult::kTempError) {
      *err = r;
    } else if (r == SpfResult::kPermError || r == SpfResult::kNone) {
      if (r == SpfResult::kNone && reason_.empty())
        reason_ = "include:" + target + " has no SPF record";
      *err = SpfResult::kPermError;
    }
  }

  void EvaluateMx(const Term& t, const Ip& ip, const string& target,
                  bool* match, SpfResult* err) {
    LookupResult mx = dns_.Lookup(target, kTypeMx);
    if (mx.status == DnsStatus::kNxDomain ||
        (mx.status == DnsStatus::kNoError && mx.answer.mx.empty())) {
      if (!Void()) *err = SpfResult::kPermError;
      return;
    }
    if (mx.status != DnsStatus::kNoError) {
      reason_ = "MX " + target + ": " + DnsStatusName(mx.status);
      return void(*err = SpfResult::kTempError);
    }
    if (mx.answer.mx.size() > static_cast<size_t>(kMaxMxOrPtrNames)) {
      reason_ = "mx:" + target + " has more than 10 MX names";
      return void(*err = SpfResult::kPermError);
    }
    for (const MxRecord& m : mx.answer.mx) {
      if (m.exchange == ".") continue;
      std::vector<string> addrs;
      SpfResult r = Addresses(m.exchange, ip.v6, false, &addrs);
      if (r != SpfResult::kCount) return void(*err = r);
      if (AnyIn(addrs, ip, t)) {
        *match = true;
        if (!walk_) return;
      }
    }
  }

  // `name` is `target` or a subdomain of it.
  static bool InDomain(const string& name, const string& target) {
    return name == target || (name.size() > target.size() &&
                              name.compare(name.size() - target.size(),
                                           target.size(), target) == 0 &&
                              name[name.size() - target.size() - 1] == '.');
  }

  void EvaluatePtr(const Ip& ip, const string& target, bool* match,
                   SpfResult* err) {
    LookupResult p = dns_.Lookup(ReverseIp(ip), kTypePtr);
    if (p.status == DnsStatus::kNxDomain ||
        (p.status == DnsStatus::kNoError && p.answer.names.empty())) {
      if (!Void()) *err = SpfResult::kPermError;
      return;
    }
    if (p.status != DnsStatus::kNoError) return;  // no match (5.5)
    size_t n = 0;
    for (const string& name : p.answer.names) {
      if (++n > static_cast<size_t>(kMaxMxOrPtrNames)) break;
      std::vector<string> addrs;
      if (Addresses(name, ip.v6, false, &addrs) != SpfResult::kCount) continue;
      Term exact;
      if (!AnyIn(addrs, ip, exact)) continue;
      if (InDomain(name, target)) {
        *match = true;
        return;
      }
    }
  }

  SpfDns& dns_;
  bool walk_;
  int lookups_ = 0, voids_ = 0;
  string reason_;
};

MacroContext ContextOf(const SpfRequest& req, bool v6) {
  MacroContext c;
  c.sender = req.sender.empty() ? "postmaster@" + req.domain : req.sender;
  size_t at = c.sender.rfind('@');
  c.local = at == string::npos ? "postmaster" : c.sender.substr(0, at);
  if (c.local.empty()) c.local = "postmaster";
  c.sender_domain = at == string::npos ? c.sender : c.sender.substr(at + 1);
  c.ip = req.ip;
  c.helo = req.helo.empty() ? req.domain : req.helo;
  c.v6 = v6;
  return c;
}

}  // namespace

const char* SpfResultName(SpfResult r) {
  static const char* kNames[] = {"pass", "fail",      "softfail", "neutral",
                                 "none", "permerror", "temperror"};
  return kNames[static_cast<size_t>(r)];
}

namespace {

// The value of macro letter `letter` (lower case); false for c, r, t (only
// for exp=) and unknown letters.
bool MacroValue(char letter, const MacroContext& ctx, string* value) {
  switch (letter) {
    case 's':
      *value = ctx.sender;
      return true;
    case 'l':
      *value = ctx.local;
      return true;
    case 'o':
      *value = ctx.sender_domain;
      return true;
    case 'd':
      *value = ctx.domain;
      return true;
    case 'i':
      *value = MacroIp(ctx.ip, ctx.v6);
      return true;
    case 'p':
      *value = "unknown";  // no PTR validation for macros (RFC 7208 7.3)
      return true;
    case 'v':
      *value = ctx.v6 ? "ip6" : "in-addr";
      return true;
    case 'h':
      *value = ctx.helo;
      return true;
    default:
      return false;
  }
}

// The transformers after the letter: [digits] ["r"] [delimiters]; false
// when malformed.
bool ParseTransformers(string_view m, int* keep, bool* reverse,
                       string* delims) {
  size_t digits = 0;
  while (digits < m.size() &&
         std::isdigit(static_cast<unsigned char>(m[digits])))
    ++digits;
  *keep = 0;
  if (digits > 0) {
    auto [p, ec] = std::from_chars(m.data(), m.data() + digits, *keep);
    if (ec != std::errc() || *keep == 0) return false;
  }
  m.remove_prefix(digits);
  *reverse = false;
  if (!m.empty() && (m[0] == 'r' || m[0] == 'R')) {
    *reverse = true;
    m.remove_prefix(1);
  }
  *delims = ".";
  if (!m.empty()) {
    for (char d : m)
      if (string_view(".-+,/_=").find(d) == string_view::npos) return false;
    *delims = string(m);
  }
  return true;
}

// `value` split on `delims`, reversed, cut to the `keep` rightmost parts
// (0: all), joined with '.'.
string Transform(const string& value, const string& delims, bool reverse,
                 int keep) {
  std::vector<string> parts;
  size_t start = 0;
  for (size_t k = 0; k <= value.size(); ++k) {
    if (k == value.size() || delims.find(value[k]) != string::npos) {
      parts.push_back(value.substr(start, k - start));
      start = k + 1;
    }
  }
  if (reverse) std::reverse(parts.begin(), parts.end());
  if (keep > 0 && static_cast<size_t>(keep) < parts.size())
    parts.erase(parts.begin(), parts.end() - keep);
  string joined;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) joined += '.';
    joined += parts[k];
  }
  return joined;
}

// One %{...} macro, `m` the text between the braces (not empty); appends
// its expansion to `out`.
bool ExpandMacro(string_view m, const MacroContext& ctx, string* out) {
  const char letter = m[0];
  const bool upper = std::isupper(static_cast<unsigned char>(letter));
  string value;
  if (!MacroValue(
          static_cast<char>(std::tolower(static_cast<unsigned char>(letter))),
          ctx, &value))
    return false;
  m.remove_prefix(1);
  int keep = 0;
  bool reverse = false;
  string delims;
  if (!ParseTransformers(m, &keep, &reverse, &delims)) return false;
  const string joined = Transform(value, delims, reverse, keep);
  *out += upper ? UrlEncode(joined) : joined;
  return true;
}

}  // namespace

bool ExpandMacros(string_view spec, const MacroContext& ctx, string* out) {
  out->clear();
  for (size_t i = 0; i < spec.size(); ++i) {
    char c = spec[i];
    if (c != '%') {
      out->push_back(c);
      continue;
    }
    if (++i >= spec.size()) return false;
    c = spec[i];
    if (c == '%') {
      out->push_back('%');
      continue;
    }
    if (c == '_') {
      out->push_back(' ');
      continue;
    }
    if (c == '-') {
      *out += "%20";
      continue;
    }
    if (c != '{') return false;
    size_t close = spec.find('}', i);
    if (close == string_view::npos || close == i + 1) return false;
    string_view m = spec.substr(i + 1, close - i - 1);
    i = close;
    if (!ExpandMacro(m, ctx, out)) return false;
  }
  return true;
}

SpfOutcome CheckHost(const SpfRequest& req, SpfDns& dns) {
  SpfOutcome o;
  Ip ip;
  if (!ParseIp(req.ip, &ip)) {
    o.result = SpfResult::kPermError;
    o.reason = "not an IP address: " + req.ip;
    return o;
  }
  Evaluator e(dns, false);
  o.result =
      e.Check(ip, AsciiLower(req.domain), ContextOf(req, ip.v6), &o.records);
  o.dns_lookups = e.lookups();
  o.void_lookups = e.voids();
  if (o.result == SpfResult::kPermError || o.result == SpfResult::kTempError)
    o.reason = e.reason();
  return o;
}

SpfOutcome WalkPolicy(const std::string& domain, SpfDns& dns) {
  SpfOutcome o;
  Ip ip;
  ParseIp("192.0.2.0", &ip);  // never looked up: only its family matters
  SpfRequest req;
  req.ip = "192.0.2.0";
  req.domain = domain;
  Evaluator e(dns, true);
  o.result = e.Check(ip, AsciiLower(domain), ContextOf(req, false), &o.records);
  o.dns_lookups = e.lookups();
  o.void_lookups = e.voids();
  if (o.result == SpfResult::kPermError || o.result == SpfResult::kTempError)
    o.reason = e.reason();
  return o;
}

}  // namespace mailhealth::mailauth
