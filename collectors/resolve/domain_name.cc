#include "collectors/resolve/domain_name.h"

#include <cctype>

namespace mailhealth::resolve {

bool ValidDomainName(std::string_view n) {
  if (n.empty() || n == "." || n.size() > 253) return false;
  size_t label = 0;
  for (char c : n) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_')) {
      return false;
    }
    if (++label > 63) return false;
  }
  return label > 0;
}

}  // namespace mailhealth::resolve
