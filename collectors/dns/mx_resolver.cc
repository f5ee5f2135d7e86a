#include "collectors/dns/mx_resolver.h"

namespace mailhealth {

// Placeholder until the dns collector lands its c-ares implementation.
MxResolution ResolveMx(const std::string&, const std::vector<std::string>&,
                       Clock::time_point) {
  MxResolution r;
  r.status = Status::Error("MX resolution not implemented yet");
  return r;
}

Result<std::vector<std::string>> ResolveHost(const std::string& host,
                                             const std::vector<std::string>&,
                                             Clock::time_point) {
  return Status::Error("cannot resolve " + host + ": not implemented yet");
}

}  // namespace mailhealth
