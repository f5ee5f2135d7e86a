// The `resolvers` list of a collector's config section, parsed the one way
// every collector that resolves names reads it. Pure, no I/O.
#pragma once

#include <string>
#include <vector>

#include "collectors/resolve/resolver_address.h"
#include "exporter/config_node.h"

namespace mailhealth {

// The string list `key` of `node`, each entry a resolver address
// (ParseResolverAddress). An entry that does not parse, or that names an
// ip#port already listed, is an error on `key` and left out.
std::vector<ResolverAddress> ParseResolverList(ConfigNode& node,
                                               const std::string& key);

}  // namespace mailhealth
