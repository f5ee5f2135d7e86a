// `postqueue -j` parser, fed in two chunks split at a fuzzer-chosen point
// (the runner feeds pipe reads of any size). Differential: the scanner
// (JsonQueueParser) must emit exactly what the former DOM parser
// (JsonDomQueueParser, nlohmann::json) emits for the same input, message
// for message, and count the same parse errors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/queue/queue_parser.h"

namespace {
class Sink : public mailhealth::QueueMessageSink {
 public:
  void OnMessage(const mailhealth::QueueMessage& m) override {
    std::string s = std::to_string(static_cast<int>(m.queue)) + "|" +
                    std::to_string(m.arrival_time) + "|" +
                    std::to_string(m.size);
    for (const auto& r : m.recipients) {
      s += "|" + std::string(r.address) + "\x1f" + std::string(r.delay_reason);
    }
    seen.push_back(std::move(s));
  }
  std::vector<std::string> seen;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  Sink fast, dom;
  mailhealth::JsonQueueParser parser(&fast);
  parser.Feed(in.substr(0, cut));
  parser.Feed(in.substr(cut));
  parser.Finish();
  mailhealth::JsonDomQueueParser reference(&dom);
  reference.Feed(in);
  reference.Finish();
  if (fast.seen != dom.seen ||
      parser.parse_errors() != reference.parse_errors()) {
    std::abort();
  }
  return 0;
}
