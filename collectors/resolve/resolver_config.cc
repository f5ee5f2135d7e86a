#include "collectors/resolve/resolver_config.h"

#include <set>
#include <utility>

namespace mailhealth {

std::vector<ResolverAddress> ParseResolverList(ConfigNode& node,
                                               const std::string& key) {
  std::vector<ResolverAddress> out;
  std::set<std::string> seen;
  for (const std::string& text : node.StringList(key, {})) {
    auto r = ParseResolverAddress(text);
    if (!r.ok()) {
      node.Error(key, r.status().message());
      continue;
    }
    if (!seen.insert(r->ip + "#" + std::to_string(r->port)).second) {
      node.Error(key, "resolver \"" + text + "\" listed twice");
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace mailhealth
