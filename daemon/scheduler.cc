#include "daemon/scheduler.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "exporter/logging.h"

namespace mailhealth {

struct Scheduler::Job {
  std::string name;
  CollectorSettings settings;
  std::shared_ptr<Collector> collector;
  SnapshotStore* store = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool run_requested = false;
  bool running = false;
  bool runner_exited = false;
  Clock::time_point deadline{};
  uint64_t run_id = 0;   // incremented per requested run
  uint64_t done_id = 0;  // last run the runner finished
  CollectResult result;  // of run done_id
  double result_seconds = 0;

  std::thread tick_thread;
  std::thread runner_thread;

  // Last published data, kept when a run fails without data.
  std::shared_ptr<const Snapshot> last;
  bool failing_logged = false;
  bool last_cut = false;
};

namespace {

using Job = Scheduler::Job;

void RunnerLoop(std::shared_ptr<Job> job) {
  std::unique_lock<std::mutex> lock(job->mu);
  while (true) {
    job->cv.wait(lock, [&] { return job->stop || job->run_requested; });
    if (job->stop) break;
    job->run_requested = false;
    job->running = true;
    const uint64_t id = job->run_id;
    const Clock::time_point deadline = job->deadline;
    lock.unlock();

    CollectResult result;
    const auto start = Clock::now();
    try {
      result = job->collector->Collect(deadline);
    } catch (const std::exception& e) {
      result.status =
          Status::Error(std::string("collector threw: ") + e.what());
      result.families.clear();
    } catch (...) {
      result.status = Status::Error("collector threw an unknown exception");
      result.families.clear();
    }
    const double seconds = Seconds(Clock::now() - start);

    lock.lock();
    job->running = false;
    job->done_id = id;
    job->result = std::move(result);
    job->result_seconds = seconds;
    job->cv.notify_all();
  }
  job->runner_exited = true;
  job->cv.notify_all();
}

// Enforces the series cap: keeps the first `max` series in order.
int64_t CapSeries(Families& families, int64_t max, bool* cut) {
  int64_t total = 0;
  *cut = false;
  for (auto it = families.begin(); it != families.end();) {
    const int64_t room = max - total;
    if (static_cast<int64_t>(it->metric.size()) > room) {
      *cut = true;
      total += static_cast<int64_t>(it->metric.size());
      it->metric.resize(static_cast<size_t>(room > 0 ? room : 0));
    } else {
      total += static_cast<int64_t>(it->metric.size());
    }
    it = it->metric.empty() ? families.erase(it) : it + 1;
  }
  return total;
}

void Publish(Job& job, CollectResult result, double seconds) {
  auto snap = std::make_shared<Snapshot>();
  snap->collector = job.name;
  snap->interval = job.settings.interval;
  snap->success = result.status.ok();
  snap->error = result.status.ok() ? "" : result.status.message();
  snap->detail = std::move(result.detail);
  snap->duration_seconds = seconds;
  snap->finished = std::chrono::system_clock::now();
  snap->last_success =
      snap->success ? snap->finished
                    : (job.last ? job.last->last_success
                                : std::chrono::system_clock::time_point{});
  if (!result.families.empty() || !job.last) {
    snap->families = std::move(result.families);
    snap->data_time = snap->finished;
    snap->series = CapSeries(snap->families, job.settings.max_series,
                             &snap->series_limit_reached);
    if (snap->series_limit_reached && !job.last_cut) {
      LogWarn("collector exceeded max_series; extra series dropped",
              {{"collector", job.name},
               {"series", std::to_string(snap->series)},
               {"max_series", std::to_string(job.settings.max_series)}});
    }
    job.last_cut = snap->series_limit_reached;
  } else {
    // A failed run without data: keep the last data and its age.
    snap->families = job.last->families;
    snap->data_time = job.last->data_time;
    snap->series = job.last->series;
    snap->series_limit_reached = job.last->series_limit_reached;
  }

  if (!snap->success && !job.failing_logged) {
    LogError("collector failed",
             {{"collector", job.name}, {"err", snap->error}});
    job.failing_logged = true;
  } else if (!snap->success) {
    LogDebug("collector failed",
             {{"collector", job.name}, {"err", snap->error}});
  } else if (job.failing_logged) {
    LogInfo("collector recovered", {{"collector", job.name}});
    job.failing_logged = false;
  }

  job.last = snap;
  job.store->Put(std::move(snap));
}

void TickLoop(std::shared_ptr<Job> job) {
  std::unique_lock<std::mutex> lock(job->mu);
  Clock::time_point next = Clock::now();
  while (!job->stop) {
    job->cv.wait_until(lock, next, [&] { return job->stop; });
    if (job->stop) break;
    const Clock::time_point start = Clock::now();
    next = start + job->settings.interval;

    if (job->running || job->run_requested) {
      // The previous run overran its timeout and has still not returned.
      lock.unlock();
      Publish(*job,
              {Status::Error("previous run still busy after " +
                             FormatDuration(job->settings.timeout)),
               {}},
              Seconds(job->settings.timeout));
      lock.lock();
      continue;
    }

    job->deadline = start + job->settings.timeout;
    const uint64_t id = ++job->run_id;
    job->run_requested = true;
    job->cv.notify_all();
    const bool done = job->cv.wait_until(
        lock, job->deadline, [&] { return job->stop || job->done_id == id; });
    if (job->stop) break;
    CollectResult result;
    double seconds;
    if (done) {
      result = std::move(job->result);
      seconds = job->result_seconds;
    } else {
      result.status = Status::Error("timed out after " +
                                    FormatDuration(job->settings.timeout));
      seconds = Seconds(job->settings.timeout);
    }
    lock.unlock();
    Publish(*job, std::move(result), seconds);
    lock.lock();
  }
}

}  // namespace

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start(std::vector<ScheduledCollector> collectors) {
  for (auto& c : collectors) {
    auto job = std::make_shared<Job>();
    job->name = c.name;
    job->settings = c.settings;
    job->collector = std::move(c.collector);
    job->store = store_;

    auto pending = std::make_shared<Snapshot>();
    pending->collector = job->name;
    pending->interval = job->settings.interval;
    pending->success = false;
    pending->error = "not run yet";
    store_->Put(pending);

    job->runner_thread = std::thread(RunnerLoop, job);
    job->tick_thread = std::thread(TickLoop, job);
    jobs_.push_back(std::move(job));
  }
}

void Scheduler::Stop() {
  for (auto& job : jobs_) {
    {
      std::lock_guard<std::mutex> lock(job->mu);
      job->stop = true;
    }
    job->cv.notify_all();
    job->collector->Stop();
  }
  const auto give_up = Clock::now() + kStopGrace;
  for (auto& job : jobs_) {
    if (job->tick_thread.joinable()) job->tick_thread.join();
    bool exited;
    {
      std::unique_lock<std::mutex> lock(job->mu);
      exited =
          job->cv.wait_until(lock, give_up, [&] { return job->runner_exited; });
    }
    if (exited) {
      job->runner_thread.join();
    } else {
      // Stuck in I/O past its deadline: let it finish on its own. The
      // thread holds the Job (and so the collector) alive.
      LogWarn("collector did not stop in time; detaching",
              {{"collector", job->name}});
      job->runner_thread.detach();
    }
  }
  jobs_.clear();
}

}  // namespace mailhealth
