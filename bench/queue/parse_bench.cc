// bench_queue_parse: the cost per message of the postqueue -j path inside
// the exporter, without postqueue: the captured listings of
// tests/fixtures/corpus (postqueue-j-captured.jsonl, postqf-qdata.jsonl)
// repeated to N messages, fed in 64 KiB chunks (as the pipe delivers them)
// to JsonQueueParser, once with a sink that only counts (the parse alone)
// and once into QueueStats (parse + classification + aggregation, what a
// collector run costs). Prints one line per variant: median and min of
// ns/message over the runs. Not a test.
//
//   bench_queue_parse [--messages N] [--runs R] [--file LISTING]
//   (--file: a saved `postqueue -j` listing instead of the corpus; N is
//   then its line count)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/queue/deferral_reason.h"
#include "collectors/queue/queue_parser.h"
#include "collectors/queue/queue_stats.h"

using namespace mailhealth;

namespace {

class CountSink : public QueueMessageSink {
 public:
  void OnMessage(const QueueMessage& m) override {
    ++messages;
    recipients += m.recipients.size();
  }
  uint64_t messages = 0, recipients = 0;
};

std::string Listing(size_t want) {
  std::vector<std::string> lines;
  for (const char* f :
       {"/tests/fixtures/corpus/postqueue-j-captured.jsonl",
        "/tests/fixtures/corpus/postqueue/postqf-qdata.jsonl"}) {
    std::ifstream in(std::string(MAILHEALTH_SOURCE_DIR) + f);
    std::string l;
    while (std::getline(in, l)) {
      if (!l.empty()) lines.push_back(l);
    }
  }
  if (lines.empty()) {
    std::fprintf(stderr, "no fixture lines found\n");
    std::exit(1);
  }
  std::string out;
  for (size_t i = 0; i < want; ++i) {
    out += lines[i % lines.size()];
    out += '\n';
  }
  return out;
}

template <typename F>
std::vector<double> Time(int runs, size_t n, F&& f) {
  std::vector<double> ns;
  for (int r = 0; r < runs; ++r) {
    auto start = std::chrono::steady_clock::now();
    f();
    auto d = std::chrono::steady_clock::now() - start;
    ns.push_back(std::chrono::duration<double, std::nano>(d).count() /
                 static_cast<double>(n));
  }
  std::sort(ns.begin(), ns.end());
  return ns;
}

void Feed(QueueListingParser& p, const std::string& text) {
  for (size_t i = 0; i < text.size(); i += 65536) {
    p.Feed(std::string_view(text).substr(i, 65536));
  }
  p.Finish();
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 50000;
  int runs = 7;
  std::string file;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--messages") {
      n = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (k == "--file") {
      file = argv[i + 1];
    } else if (k == "--runs") {
      runs = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::string text;
  if (file.empty()) {
    text = Listing(n);
  } else {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    n = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  bool ok = true;
  std::printf("messages %zu, %.1f MiB of postqueue -j, %d runs\n", n,
              static_cast<double>(text.size()) / (1 << 20), runs);
  LocalServiceMatcher local({"127.0.0.1:10024"});
  auto variant = [&](const char* name, auto make) {
    uint64_t errors = 0, seen = 0;
    auto parse = Time(runs, n, [&] {
      CountSink sink;
      auto p = make(&sink);
      Feed(*p, text);
      errors = p->parse_errors();
      seen = sink.messages;
    });
    auto full = Time(runs, n, [&] {
      QueueStats stats({"example.com"}, &local, 1795572000);
      auto p = make(&stats);
      Feed(*p, text);
    });
    std::printf(
        "%-28s parse only: median %5.0f ns/message (min %5.0f); "
        "parse + QueueStats: median %5.0f ns/message (min %5.0f)\n",
        name, parse[parse.size() / 2], parse.front(), full[full.size() / 2],
        full.front());
    ok = ok && errors == 0 && seen == n;
  };
  variant("before (DOM, nlohmann)", [](QueueMessageSink* s) {
    return std::make_unique<JsonDomQueueParser>(s);
  });
  variant("after (JsonQueueParser)", [](QueueMessageSink* s) {
    return std::make_unique<JsonQueueParser>(s);
  });
  return ok ? 0 : 1;
}
