// bench_queue: runs the queue collector against the real Postfix queue and
// prints, as one JSON line, the wall time of each run, the messages seen and
// the peak RSS of this process (the collector) and of its children
// (postqueue). Driven by bench/queue/run.sh; not a test.
//
//   bench_queue [--runs N] [--format auto|json|text] [--postqueue PATH]
//               [--method postqueue|spool|auto] [--spool-stat PATH|""]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "collectors/queue/queue_collector.h"

using namespace mailhealth;

int main(int argc, char** argv) {
  int runs = 3;
  QueueConfig cfg;
  cfg.method = "postqueue";  // the postqueue path unless asked otherwise
  cfg.spool_stat = "";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (k == "--format")
      cfg.format = argv[i + 1];
    else if (k == "--postqueue")
      cfg.postqueue = argv[i + 1];
    else if (k == "--method")
      cfg.method = argv[i + 1];
    else if (k == "--spool-stat")
      cfg.spool_stat = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  // With method spool the timed part is the walk: postqueue (the detail)
  // runs once an hour here, on its own thread, and is waited for at most
  // a second.
  cfg.detail_interval = Millis(3600000);
  auto collector = MakeQueueCollector(cfg, Millis(30000), MakeProcessRunner());
  std::vector<double> walls;
  double messages = -1;
  for (int r = 0; r < runs; ++r) {
    auto start = Clock::now();
    CollectResult res = collector->Collect(start + std::chrono::seconds(120));
    walls.push_back(Seconds(Clock::now() - start));
    if (!res.status.ok()) {
      std::fprintf(stderr, "collect failed: %s\n",
                   res.status.message().c_str());
      return 1;
    }
    messages = 0;
    for (const auto& f : res.families) {
      if (f.name != "mailhealth_queue_messages") continue;
      for (const auto& m : f.metric) messages += m.gauge.value;
    }
  }
  struct rusage self {
  }, kids{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  std::vector<double> sorted = walls;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "{\"messages\": %.0f, \"wall_median_s\": %.3f, \"wall_min_s\": %.3f, "
      "\"wall_max_s\": %.3f, \"self_maxrss_kib\": %ld, "
      "\"children_maxrss_kib\": %ld, "
      "\"self_cpu_s\": %.3f}\n",
      messages, sorted[sorted.size() / 2], sorted.front(), sorted.back(),
      self.ru_maxrss, kids.ru_maxrss,
      self.ru_utime.tv_sec + self.ru_utime.tv_usec / 1e6 +
          self.ru_stime.tv_sec + self.ru_stime.tv_usec / 1e6);
  return 0;
}
