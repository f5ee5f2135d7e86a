#include "collectors/smtp/smtp_config.h"

#include <set>

#include "collectors/resolve/resolver_address.h"

namespace mailhealth::smtp {
namespace {

void ParseTargets(ConfigNode& s, SmtpConfig& c) {
  std::set<std::string> seen;
  for (ConfigNode& n : s.List("targets", /*allow_scalars=*/true)) {
    if (!n.IsScalar()) {
      n.Error("",
              "expected a string (HOST:PORT, mx:DOMAIN[:PORT], lmtp:HOST:PORT, "
              "smtps:HOST:PORT)");
      continue;
    }
    Result<SmtpTarget> t = ParseSmtpTarget(n.Scalar());
    if (!t.ok()) {
      n.Error("",
              "invalid target \"" + n.Scalar() + "\": " + t.status().message());
      continue;
    }
    if (!seen.insert(t->text).second) {
      n.Error("", "duplicate target \"" + t->text + "\"");
      continue;
    }
    c.targets.push_back(std::move(*t));
  }
  if (c.targets.size() > kSmtpMaxTargets) {
    s.Error("targets", "too many targets (" + std::to_string(c.targets.size()) +
                           "), at most " + std::to_string(kSmtpMaxTargets));
  }
}

}  // namespace

void ParseSmtpDialogKeys(ConfigNode& s, SmtpConfig& c) {
  c.helo = s.String("helo", "");
  if (!c.helo.empty()) {
    if (Status st = ValidateHeloName(c.helo); !st.ok()) {
      s.Error("helo", st.message());
    }
  }
  c.starttls = s.Bool("starttls", true);
  c.resolvers = s.StringList("resolvers", {});
  for (const std::string& r : c.resolvers) {
    if (auto parsed = ParseResolverAddress(r); !parsed.ok()) {
      s.Error("resolvers", parsed.status().message());
    }
  }
}

SmtpConfig ParseSmtpConfig(ConfigNode& s, const CollectorSettings& settings) {
  SmtpConfig c;
  ParseSmtpDialogKeys(s, c);
  ParseTargets(s, c);
  if (settings.enabled && c.targets.empty()) {
    s.Warning("targets",
              "smtp is enabled but lists no targets: it probes nothing");
  }
  return c;
}

}  // namespace mailhealth::smtp
