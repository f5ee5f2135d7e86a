#include "daemon/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

using namespace std::chrono_literals;

// Counts its runs and exports the count as a gauge.
class CountingCollector : public Collector {
 public:
  explicit CountingCollector(std::atomic<int>* runs) : runs_(runs) {}
  CollectResult Collect(Clock::time_point) override {
    int n = ++*runs_;
    CollectResult r;
    auto f = Gauge("test_runs", "Runs.");
    AddSample(f, {}, n);
    r.families.push_back(std::move(f));
    return r;
  }

 private:
  std::atomic<int>* runs_;
};

class ThrowingCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override {
    throw std::runtime_error("boom");
  }
};

// Blocks until released (or stopped), ignoring its deadline: a collector
// stuck in I/O.
class HangingCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override {
    ++calls;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return released; });
    return {};
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
  std::atomic<int> calls{0};
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
};

// Fails while `fail` is set, without data; exports data otherwise.
class FlakyCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override {
    if (fail) return {Status::Error("flaky"), {}};
    CollectResult r;
    auto f = Gauge("test_flaky", "Flaky.");
    AddSample(f, {}, 1);
    r.families.push_back(std::move(f));
    return r;
  }
  std::atomic<bool> fail{false};
};

CollectorSettings Every(Millis interval, Millis timeout) {
  return CollectorSettings{true, interval, timeout};
}

// Polls `pred` for up to `limit`.
template <typename Pred>
bool WaitFor(Pred pred, Millis limit = 3000ms) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(SchedulerTest, PublishesPendingSnapshotAtStart) {
  SnapshotStore store;
  Scheduler s(&store);
  auto h = std::make_shared<HangingCollector>();
  s.Start({{"hang", Every(10000ms, 5000ms), h}});
  auto snap = store.Get("hang");
  ASSERT_NE(snap, nullptr);
  EXPECT_FALSE(snap->success);
  h->Release();
  s.Stop();
}

TEST(SchedulerTest, RunsEveryInterval) {
  SnapshotStore store;
  std::atomic<int> runs{0};
  Scheduler s(&store);
  s.Start({{"count", Every(50ms, 40ms),
            std::make_shared<CountingCollector>(&runs)}});
  ASSERT_TRUE(WaitFor([&] { return runs >= 4; }));
  s.Stop();
  auto snap = store.Get("count");
  ASSERT_NE(snap, nullptr);
  EXPECT_TRUE(snap->success);
  ASSERT_EQ(snap->families.size(), 1u);
  EXPECT_GE(snap->families[0].metric[0].gauge.value, 3);
  const int after_stop = runs;
  std::this_thread::sleep_for(120ms);
  EXPECT_EQ(runs, after_stop) << "no runs after Stop()";
}

// Reports a state detail beside an OK status.
class DetailCollector : public Collector {
 public:
  CollectResult Collect(Clock::time_point) override {
    CollectResult r;
    r.detail = "missing: /var/log/mail.log does not exist";
    return r;
  }
};

TEST(SchedulerTest, CopiesTheDetailIntoTheSnapshot) {
  SnapshotStore store;
  Scheduler s(&store);
  s.Start(
      {{"detail", Every(1000ms, 500ms), std::make_shared<DetailCollector>()}});
  ASSERT_TRUE(
      WaitFor([&] { return store.Get("detail")->error != "not run yet"; }));
  s.Stop();
  auto snap = store.Get("detail");
  EXPECT_TRUE(snap->success);
  EXPECT_EQ(snap->error, "");
  EXPECT_EQ(snap->detail, "missing: /var/log/mail.log does not exist");
}

TEST(SchedulerTest, ThrowingCollectorIsAFailedRun) {
  SnapshotStore store;
  Scheduler s(&store);
  s.Start(
      {{"throw", Every(1000ms, 500ms), std::make_shared<ThrowingCollector>()}});
  ASSERT_TRUE(
      WaitFor([&] { return store.Get("throw")->error != "not run yet"; }));
  auto snap = store.Get("throw");
  EXPECT_FALSE(snap->success);
  EXPECT_EQ(snap->error, "collector threw: boom");
  s.Stop();
}

TEST(SchedulerTest, HangingCollectorFailsAtItsTimeout) {
  SnapshotStore store;
  Scheduler s(&store);
  auto h = std::make_shared<HangingCollector>();
  const auto start = Clock::now();
  s.Start({{"hang", Every(10000ms, 200ms), h}});
  ASSERT_TRUE(
      WaitFor([&] { return store.Get("hang")->error != "not run yet"; }));
  const auto took = Clock::now() - start;
  auto snap = store.Get("hang");
  EXPECT_FALSE(snap->success);
  EXPECT_EQ(snap->error, "timed out after 200ms");
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1000ms);
  h->Release();
  s.Stop();
}

TEST(SchedulerTest, OverrunningRunIsNotStartedTwice) {
  SnapshotStore store;
  Scheduler s(&store);
  auto h = std::make_shared<HangingCollector>();
  s.Start({{"hang", Every(60ms, 30ms), h}});
  std::this_thread::sleep_for(300ms);  // ~5 ticks
  EXPECT_EQ(h->calls, 1);
  EXPECT_EQ(store.Get("hang")->error, "previous run still busy after 30ms");
  h->Release();
  ASSERT_TRUE(WaitFor([&] { return h->calls >= 2; }));
  s.Stop();
}

TEST(SchedulerTest, StopReturnsPromptlyWithAStuckCollector) {
  SnapshotStore store;
  auto h = std::make_shared<HangingCollector>();
  {
    Scheduler s(&store);
    s.Start({{"hang", Every(10000ms, 5000ms), h}});
    ASSERT_TRUE(WaitFor([&] { return h->calls == 1; }));
    const auto start = Clock::now();
    s.Stop();
    EXPECT_LT(Clock::now() - start, Scheduler::kStopGrace + 500ms);
  }
  h->Release();  // the detached runner ends now
  std::this_thread::sleep_for(50ms);
}

TEST(SchedulerTest, FailedRunKeepsLastDataAndItsAge) {
  SnapshotStore store;
  Scheduler s(&store);
  auto f = std::make_shared<FlakyCollector>();
  s.Start({{"flaky", Every(50ms, 40ms), f}});
  ASSERT_TRUE(WaitFor([&] { return store.Get("flaky")->success; }));
  const auto data_time = store.Get("flaky")->data_time;
  f->fail = true;
  ASSERT_TRUE(WaitFor([&] { return !store.Get("flaky")->success; }));
  auto snap = store.Get("flaky");
  EXPECT_EQ(snap->error, "flaky");
  ASSERT_EQ(snap->families.size(), 1u);
  EXPECT_LE(snap->data_time, snap->finished);
  EXPECT_GE(snap->data_time, data_time);
  EXPECT_GT(snap->last_success.time_since_epoch().count(), 0);
  s.Stop();
}

}  // namespace
}  // namespace mailhealth

namespace mailhealth {
namespace {

// Exports `n` series of one gauge.
class WideCollector : public Collector {
 public:
  explicit WideCollector(int n) : n_(n) {}
  CollectResult Collect(Clock::time_point) override {
    CollectResult r;
    auto f = Gauge("test_wide", "Wide.");
    for (int i = 0; i < n_; ++i) AddSample(f, {{"i", std::to_string(i)}}, i);
    r.families.push_back(std::move(f));
    return r;
  }

 private:
  int n_;
};

TEST(SchedulerTest, SeriesCapDropsTheRestAndSaysSo) {
  SnapshotStore store;
  Scheduler s(&store);
  CollectorSettings st{true, Millis(10000), Millis(5000), 100};
  s.Start({{"wide", st, std::make_shared<WideCollector>(250)}});
  ASSERT_TRUE(WaitFor([&] { return store.Get("wide")->success; }));
  auto snap = store.Get("wide");
  EXPECT_TRUE(snap->series_limit_reached);
  EXPECT_EQ(snap->series, 250);
  ASSERT_EQ(snap->families.size(), 1u);
  EXPECT_EQ(snap->families[0].metric.size(), 100u);
  s.Stop();
}

TEST(SchedulerTest, SeriesUnderCapAreKept) {
  SnapshotStore store;
  Scheduler s(&store);
  CollectorSettings st{true, Millis(10000), Millis(5000), 100};
  s.Start({{"wide", st, std::make_shared<WideCollector>(100)}});
  ASSERT_TRUE(WaitFor([&] { return store.Get("wide")->success; }));
  auto snap = store.Get("wide");
  EXPECT_FALSE(snap->series_limit_reached);
  EXPECT_EQ(snap->families[0].metric.size(), 100u);
  s.Stop();
}

}  // namespace
}  // namespace mailhealth
