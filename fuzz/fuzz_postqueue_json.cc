// `postqueue -j` parser, fed in two chunks split at a fuzzer-chosen point
// (the runner feeds pipe reads of any size).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/queue/queue_parser.h"

namespace {
class Sink : public mailhealth::QueueMessageSink {
 public:
  void OnMessage(const mailhealth::QueueMessage& m) override {
    for (const auto& r : m.recipients) bytes_ += r.address.size() + r.delay_reason.size();
  }
  size_t bytes_ = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  Sink sink;
  mailhealth::JsonQueueParser parser(&sink);
  parser.Feed(in.substr(0, cut));
  parser.Feed(in.substr(cut));
  parser.Finish();
  return 0;
}
