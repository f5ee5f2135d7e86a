// The queue collector over the Postfix instances of the host (issue #15):
// each run asks which instances there are (postconf, see
// collectors/postconf/postfix_instances.h), runs one InstanceCollector per
// instance in parallel (each bounded by the collector's deadline) and
// labels every sample with postfix_instance. One instance failing is data
// for that instance (its postfix_up 0, its error in the detail); the run
// fails only when every instance failed.
#include <algorithm>
#include <map>
#include <thread>

#include "collectors/queue/queue_collector.h"
#include "collectors/queue/queue_instance.h"
#include "exporter/logging.h"
#include "exporter/metric_builder.h"

namespace mailhealth {
namespace {

constexpr char kDefaultInstance[] = "postfix";

// One instance to collect this run.
struct Target {
  std::string name;
  QueueConfig cfg;
  std::string error;  // its postconf failed: nothing to collect
};

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

class QueueCollector : public Collector {
 public:
  QueueCollector(QueueConfig cfg, Millis interval,
                 std::shared_ptr<ProcessRunner> runner,
                 std::function<std::time_t()> wall_clock,
                 InstanceDiscovery discover)
      : cfg_(std::move(cfg)),
        interval_(interval),
        runner_(std::move(runner)),
        wall_clock_(std::move(wall_clock)),
        discover_(std::move(discover)) {}

  CollectResult Collect(Clock::time_point deadline) override {
    std::vector<Target> targets = Targets(deadline);
    std::vector<Collector*> collectors = Instances(targets);
    std::vector<CollectResult> results(targets.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < targets.size(); ++i) {
      if (collectors[i] == nullptr) continue;
      if (targets.size() == 1) {
        results[i] = collectors[i]->Collect(deadline);
        break;
      }
      threads.emplace_back([&results, &collectors, i, deadline] {
        results[i] = collectors[i]->Collect(deadline);
      });
    }
    for (std::thread& t : threads) t.join();
    return Merge(targets, results);
  }

 private:
  Target DefaultTarget() const { return {kDefaultInstance, cfg_, ""}; }

  // The instances of this run: the default one from the config (its
  // config_directory and queue_directory keys), the others as postconf
  // reports them. Discovery gets a quarter of the time left.
  std::vector<Target> Targets(Clock::time_point deadline) {
    if (!discover_) return {DefaultTarget()};
    const auto now = Clock::now();
    auto found = discover_(std::min(deadline, now + (deadline - now) / 4));
    if (!found.ok()) {
      NoteDiscoveryError(found.status().message());
      return {DefaultTarget()};
    }
    std::vector<Target> out;
    std::string default_error;
    for (const postconf::PostfixInstance& inst : *found) {
      if (inst.config_directory == cfg_.config_directory) {
        default_error = inst.error;
        out.push_back(DefaultTarget());
        continue;
      }
      Target t{inst.name, cfg_, inst.error};
      t.cfg.config_directory = inst.config_directory;
      t.cfg.queue_directory = inst.queue_directory;
      t.cfg.spool_stat_socket = "";  // that helper walks the default's only
      if (t.error.empty() && (inst.queue_directory.empty() ||
                              inst.queue_directory.front() != '/')) {
        t.error = "postconf gave no absolute queue_directory";
      }
      const bool taken =
          std::any_of(out.begin(), out.end(),
                      [&](const Target& o) { return o.name == t.name; });
      if (taken) t.name = inst.config_directory;
      t.cfg.instance_name = t.name;
      out.push_back(std::move(t));
    }
    NoteDiscoveryError(default_error);
    return out;
  }

  void NoteDiscoveryError(const std::string& err) {
    if (err != discovery_error_ && !err.empty()) {
      LogWarn(
          "cannot read the Postfix instances with postconf; collecting the "
          "default instance only",
          {{"collector", "queue"}, {"err", err}});
    }
    discovery_error_ = err;
  }

  // The collector of each target (null for a failed one), kept across
  // runs (method, detail worker, counters); instances gone are dropped.
  std::vector<Collector*> Instances(const std::vector<Target>& targets) {
    std::map<std::string, std::unique_ptr<Collector>> next;
    std::vector<Collector*> out;
    for (const Target& t : targets) {
      if (!t.error.empty()) {
        out.push_back(nullptr);
        continue;
      }
      const std::string key =
          t.name + '\n' + t.cfg.config_directory + '\n' + t.cfg.queue_directory;
      auto it = instances_.find(key);
      std::unique_ptr<Collector> c =
          it != instances_.end()
              ? std::move(it->second)
              : MakeInstanceCollector(t.cfg, interval_, runner_, wall_clock_);
      out.push_back(c.get());
      next[key] = std::move(c);
    }
    instances_ = std::move(next);
    return out;
  }

  CollectResult Merge(const std::vector<Target>& targets,
                      std::vector<CollectResult>& results) const {
    CollectResult out;
    const bool several = targets.size() > 1;
    std::vector<std::string> errors, details;
    // Instances that ran first, so their HELP texts lead.
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < targets.size(); ++i) {
        const Target& t = targets[i];
        if (t.error.empty() != (pass == 0)) continue;
        CollectResult& r = results[i];
        if (!t.error.empty()) {
          AppendPostfixUp(r.families, false, interval_, UpSource::kPostqueue);
          r.status = Status::Error("postconf -c " + t.cfg.config_directory +
                                   ": " + t.error);
        }
        const std::string prefix = several ? t.name + ": " : "";
        if (!r.status.ok()) errors.push_back(prefix + r.status.message());
        if (!r.detail.empty()) details.push_back(prefix + r.detail);
        MergeInstanceFamilies(out.families, std::move(r.families), t.name);
      }
    }
    if (errors.size() == targets.size()) {
      out.status = Status::Error(Join(errors));
    } else {
      details.insert(details.begin(), errors.begin(), errors.end());
    }
    if (!discovery_error_.empty()) {
      details.insert(details.begin(), "instances: " + discovery_error_);
    }
    out.detail = Join(details);
    return out;
  }

  QueueConfig cfg_;
  Millis interval_;
  std::shared_ptr<ProcessRunner> runner_;
  std::function<std::time_t()> wall_clock_;
  InstanceDiscovery discover_;
  std::map<std::string, std::unique_ptr<Collector>> instances_;
  std::string discovery_error_;
};

}  // namespace

InstanceDiscovery PostconfDiscovery(const QueueConfig& config) {
  if (config.postconf.empty()) return nullptr;
  std::vector<std::string> dirs;
  if (!config.instances_auto) dirs = config.instances;
  return [postconf = config.postconf, dflt = config.config_directory,
          dirs](Clock::time_point deadline) {
    return postconf::DiscoverInstances(postconf, dflt, dirs, deadline);
  };
}

std::unique_ptr<Collector> MakeQueueCollector(
    QueueConfig config, Millis interval, std::unique_ptr<ProcessRunner> runner,
    std::function<std::time_t()> wall_clock, InstanceDiscovery discover) {
  if (!wall_clock) wall_clock = [] { return std::time(nullptr); };
  return std::make_unique<QueueCollector>(
      std::move(config), interval,
      std::shared_ptr<ProcessRunner>(std::move(runner)), std::move(wall_clock),
      std::move(discover));
}

}  // namespace mailhealth
