// Domain names as written in the config (a mail domain, an MX host, a
// blocklist zone): dot-separated labels of letters, digits, '-' and '_',
// each 1 to 63 characters, 253 at most in all, written without the
// trailing root dot.
// The one check every collector that resolves names uses. Pure, no I/O.
#pragma once

#include <string_view>

namespace mailhealth::resolve {

bool ValidDomainName(std::string_view name);

}  // namespace mailhealth::resolve
