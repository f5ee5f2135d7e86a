// The /probe framework apart from the real probers: the fence, the probe:
// config section, and the service's answers (400, 403, 503, the cache, the
// deadline) with a fake module that counts its runs.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

#include "daemon/config.h"
#include "exporter/metric_builder.h"
#include "exporter/probe_fence.h"
#include "daemon/probe_service.h"

namespace mailhealth {
namespace {

// ---- Fence ----------------------------------------------------------------

ProbeFence Fence(const std::vector<std::string>& entries) {
  auto f = ProbeFence::Parse(entries);
  EXPECT_TRUE(f.ok()) << f.status().message();
  return f.ok() ? *f : ProbeFence();
}

ProbeSubject Name(const std::string& h, int port = 25) {
  return {ProbeSubject::Kind::kName, h, port};
}
ProbeSubject Addr(const std::string& h, int port = 25) {
  return {ProbeSubject::Kind::kAddress, h, port};
}
ProbeSubject Mx(const std::string& h, int port = 25) {
  return {ProbeSubject::Kind::kMx, h, port};
}

TEST(ProbeFenceTest, EmptyAllowsNothing) {
  ProbeFence f;
  EXPECT_FALSE(f.AllowsSubject(Name("example.com")).ok());
  EXPECT_NE(f.AllowsSubject(Addr("192.0.2.1")).message().find("empty"),
            std::string::npos);
}

TEST(ProbeFenceTest, DomainCoversItselfSubdomainsAndMx) {
  ProbeFence f = Fence({"example.com"});
  EXPECT_TRUE(f.AllowsSubject(Name("example.com")).ok());
  EXPECT_TRUE(f.AllowsSubject(Name("MX1.Example.COM.")).ok());
  EXPECT_TRUE(f.AllowsSubject(Mx("example.com")).ok());
  EXPECT_TRUE(f.AllowsSubject(Mx("sub.example.com")).ok());
  EXPECT_FALSE(f.AllowsSubject(Name("badexample.com")).ok());
  EXPECT_FALSE(f.AllowsSubject(Name("example.com.evil.net")).ok());
  EXPECT_FALSE(f.AllowsSubject(Name("com")).ok());
  // A name entry never opens an address literal.
  EXPECT_FALSE(f.AllowsSubject(Addr("192.0.2.1")).ok());
}

TEST(ProbeFenceTest, MxEntryOnlyTheMxTarget) {
  ProbeFence f = Fence({"mx:example.com"});
  EXPECT_TRUE(f.AllowsSubject(Mx("example.com")).ok());
  EXPECT_FALSE(f.AllowsSubject(Name("example.com")).ok());
  EXPECT_FALSE(f.AllowsSubject(Mx("sub.example.com")).ok());
}

TEST(ProbeFenceTest, PortsDefaultToTheSmtpPorts) {
  ProbeFence f = Fence({"example.com", "192.0.2.0/24:2525"});
  EXPECT_TRUE(f.AllowsSubject(Name("a.example.com", 25)).ok());
  EXPECT_TRUE(f.AllowsSubject(Name("a.example.com", 465)).ok());
  EXPECT_TRUE(f.AllowsSubject(Name("a.example.com", 587)).ok());
  Status st = f.AllowsSubject(Name("a.example.com", 22));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("port 22"), std::string::npos) << st.message();
  EXPECT_TRUE(f.AllowsSubject(Addr("192.0.2.77", 2525)).ok());
  EXPECT_FALSE(f.AllowsSubject(Addr("192.0.2.77", 25)).ok());
  // A dns probe sends nothing to the target: no port to check.
  EXPECT_TRUE(f.AllowsSubject(Name("example.com", -1)).ok());
}

TEST(ProbeFenceTest, Cidrs) {
  ProbeFence f = Fence({"198.18.0.0/15", "[2001:db8::/32]:25", "192.0.2.7"});
  EXPECT_TRUE(f.AllowsSubject(Addr("198.19.255.255")).ok());
  EXPECT_FALSE(f.AllowsSubject(Addr("198.20.0.1")).ok());
  EXPECT_TRUE(f.AllowsSubject(Addr("2001:db8:1::5")).ok());
  EXPECT_FALSE(f.AllowsSubject(Addr("2001:db8:1::5", 465)).ok());
  EXPECT_FALSE(f.AllowsSubject(Addr("2001:db9::5")).ok());
  EXPECT_TRUE(f.AllowsSubject(Addr("192.0.2.7")).ok());
  EXPECT_FALSE(f.AllowsSubject(Addr("192.0.2.8")).ok());
}

TEST(ProbeFenceTest, ResolvedAddresses) {
  // Names only: public addresses pass, special ones need an entry.
  ProbeFence names = Fence({"example.com"});
  EXPECT_TRUE(names.AllowsAddress("203.0.113.9", 25, "mx.example.com").ok());
  for (const char* a : {"127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1",
                        "169.254.1.1", "100.64.0.1", "198.18.0.1", "0.0.0.0",
                        "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1"}) {
    Status st = names.AllowsAddress(a, 25, "mx.example.com");
    EXPECT_FALSE(st.ok()) << a;
    EXPECT_NE(st.message().find(std::string("mx.example.com resolves to ") + a),
              std::string::npos)
        << st.message();
  }
  // With address entries, every address must be in one.
  ProbeFence both = Fence({"example.com", "198.18.0.0/15"});
  EXPECT_TRUE(both.AllowsAddress("198.18.1.2", 25, "mx.example.com").ok());
  EXPECT_FALSE(both.AllowsAddress("203.0.113.9", 25, "mx.example.com").ok());
  EXPECT_FALSE(both.AllowsAddress("198.18.1.2", 2525, "mx.example.com").ok());
}

TEST(ProbeFenceTest, BadEntries) {
  for (const char* bad :
       {"", "example.com:", "example.com:0", "example.com:70000",
        "192.0.2.0/33", "[2001:db8::", "mx:192.0.2.1", "exa mple.com", "a..b",
        "2001:db8::/129", "foo/24"}) {
    EXPECT_FALSE(ParseFenceEntry(bad).ok()) << bad;
  }
  Result<ProbeFence::Entry> e = ParseFenceEntry("[2001:db8::1]:2525");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 2525);
  EXPECT_EQ(e->prefix, 128);
}

// ---- Config ---------------------------------------------------------------

// A module whose Run() counts, sleeps `delay` and echoes the target.
struct FakeState {
  std::atomic<int> runs{0};
  std::atomic<int> concurrent{0};
  std::atomic<int> max_seen{0};
  std::chrono::milliseconds delay{0};
  std::mutex mu;
  std::vector<Clock::time_point> deadlines;
  std::string refuse_address;  // a "resolved" address passed to the fence
};

class FakeModule : public ProbeModule {
 public:
  explicit FakeModule(FakeState* s) : s_(s) {}
  Result<ProbeSubject> ParseTarget(const std::string& t) const override {
    if (t.find(' ') != std::string::npos) return Status::Error("has a space");
    ProbeSubject s;
    s.kind = ProbeSubject::Kind::kName;
    s.host = t;
    s.port = 25;
    return s;
  }
  Status CheckParams(const ProbeParams& p) const override {
    for (const auto& [k, v] : p) {
      if (k != "extra") return Status::Error("unknown parameter \"" + k + "\"");
    }
    return Status::Ok();
  }
  ProbeOutcome Run(const ProbeCall& call) const override {
    const int now = ++s_->concurrent;
    int prev = s_->max_seen.load();
    while (now > prev && !s_->max_seen.compare_exchange_weak(prev, now)) {
    }
    ++s_->runs;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->deadlines.push_back(call.deadline);
    }
    ProbeOutcome out;
    if (!s_->refuse_address.empty()) {
      Status st =
          call.fence->AllowsAddress(s_->refuse_address, 25, call.target);
      if (!st.ok()) {
        --s_->concurrent;
        out.refused = st.message();
        return out;
      }
    }
    std::this_thread::sleep_for(s_->delay);
    out.success = call.target != "fail.example.com";
    auto f = Gauge("fake_probe_runs", "Runs.");
    AddSample(f, {{"target", call.target}}, s_->runs.load());
    out.families.push_back(std::move(f));
    --s_->concurrent;
    return out;
  }

 private:
  FakeState* s_;
};

FakeState* g_state = nullptr;

CollectorRegistry ProbeRegistry() {
  CollectorRegistry r;
  ProberInfo p;
  p.name = "fake";
  p.default_timeout = Millis(3000);
  p.factory = [](const ProbeModuleContext&,
                 ConfigNode& s) -> std::unique_ptr<ProbeModule> {
    s.String("helo", "");
    return std::make_unique<FakeModule>(g_state);
  };
  r.RegisterProber(p);
  return r;
}

Result<LoadedConfig> LoadProbe(const std::string& yaml) {
  return LoadConfigFromString(ProbeRegistry(), yaml, "p.yml", {});
}

TEST(ProbeConfigTest, ParsesModules) {
  FakeState st;
  g_state = &st;
  auto c = LoadProbe(R"(probe:
  max_concurrent: 7
  timeout_offset: 250ms
  modules:
    outside:
      prober: fake
      timeout: 4s
      min_interval: 30s
      helo: probe.example.net
      allowed_targets: [example.com, "198.18.0.0/15"]
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->probe);
  EXPECT_EQ(c->probe->max_concurrent, 7);
  EXPECT_EQ(c->probe->timeout_offset, Millis(250));
  ASSERT_EQ(c->probe->modules.count("outside"), 1u);
  const ProbeModuleConfig& m = c->probe->modules.at("outside");
  EXPECT_EQ(m.prober, "fake");
  EXPECT_EQ(m.timeout, Millis(4000));
  EXPECT_EQ(m.min_interval, Millis(30000));
  EXPECT_TRUE(m.fence.has_address_entries());
  EXPECT_TRUE(m.fence.AllowsSubject(Name("mx.example.com")).ok());
}

TEST(ProbeConfigTest, DefaultsAndNoSection) {
  FakeState st;
  g_state = &st;
  auto none = LoadProbe("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->probe->modules.empty());
  auto c = LoadProbe("probe:\n  modules:\n    m: { prober: fake }\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const ProbeModuleConfig& m = c->probe->modules.at("m");
  EXPECT_EQ(c->probe->max_concurrent, 50);
  EXPECT_EQ(m.timeout, Millis(3000));  // the prober's default
  EXPECT_EQ(m.min_interval, Millis(0));
  EXPECT_TRUE(m.fence.empty());
  // Valid, but refuses everything: a warning says so.
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("p.yml:3: probe.modules.m"), std::string::npos)
      << c->warnings[0];
  EXPECT_NE(c->warnings[0].find("every target is refused"), std::string::npos);
}

TEST(ProbeConfigTest, ErrorsNameFileLineAndKey) {
  FakeState st;
  g_state = &st;
  struct Case {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"probe:\n  modules:\n    m: { prober: nope }\n",
       "p.yml:3: probe.modules.m.prober: invalid value \"nope\" (one of: "
       "fake)"},
      {"probe:\n  modules:\n    m: { timeout: 1s }\n",
       "p.yml:3: probe.modules.m: missing key \"prober\""},
      {"probe:\n  modules:\n    m:\n      prober: fake\n      "
       "allowed_targets: [\"10.0.0.0/40\"]\n",
       "p.yml:5: probe.modules.m.allowed_targets: invalid allowed_targets "
       "entry \"10.0.0.0/40\""},
      {"probe:\n  modules:\n    m:\n      prober: fake\n      timeoutt: 1s\n",
       "p.yml:5: probe.modules.m: unknown key \"timeoutt\""},
      {"probe:\n  max_concurrent: 0\n", "p.yml:2: probe.max_concurrent:"},
      {"probe:\n  modules:\n    m: { prober: fake, timeout: 10m }\n",
       "p.yml:3: probe.modules.m.timeout: must be greater than 0 and at most"},
      {"probe:\n  modulez: {}\n", "p.yml:2: probe: unknown key \"modulez\""},
      {"probe:\n  modules:\n    \"a b\": { prober: fake }\n",
       "probe.modules.a b: invalid module name"},
  };
  for (const Case& c : cases) {
    auto r = LoadProbe(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.error), std::string::npos)
        << "want: " << c.error << "\ngot: " << r.status().message();
  }
}

// ---- Service --------------------------------------------------------------

struct Answer {
  int status = 0;
  std::string body;
};

class ProbeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { g_state = &state_; }

  std::shared_ptr<const ProbeConfig> Config(int max_concurrent,
                                            Millis min_interval,
                                            Millis timeout = Millis(3000)) {
    auto c = std::make_shared<ProbeConfig>();
    c->max_concurrent = max_concurrent;
    c->timeout_offset = Millis(500);
    ProbeModuleConfig m;
    m.name = "m";
    m.prober = "fake";
    m.timeout = timeout;
    m.min_interval = min_interval;
    m.fence = Fence({"example.com", "198.18.0.0/15"});
    m.module = std::make_shared<FakeModule>(&state_);
    c->modules["m"] = std::move(m);
    return c;
  }

  // Sends one request; the future holds the answer.
  std::future<Answer> Send(ProbeService& svc, const std::string& query,
                           const std::string& scrape_timeout = "") {
    auto promise = std::make_shared<std::promise<Answer>>();
    std::future<Answer> f = promise->get_future();
    HttpRequest req;
    req.method = "GET";
    req.path = "/probe";
    req.query = query;
    req.scrape_timeout = scrape_timeout;
    svc.Handle(req, [promise](HttpResponse r) {
      promise->set_value({r.status, r.body});
    });
    return f;
  }
  Answer Get(ProbeService& svc, const std::string& query,
             const std::string& scrape_timeout = "") {
    return Send(svc, query, scrape_timeout).get();
  }

  FakeState state_;
  Clock::time_point now_ = Clock::now();
};

TEST_F(ProbeServiceTest, BadRequests) {
  ProbeService svc(Config(5, Millis(0)));
  struct Case {
    const char* query;
    int status;
    const char* body;
  } cases[] = {
      {"", 400, "missing parameter \"module\""},
      {"target=example.com", 400, "missing parameter \"module\""},
      {"module=m", 400, "missing parameter \"target\""},
      {"module=m&target=", 400, "missing parameter \"target\""},
      {"module=x&target=example.com", 400, "unknown module \"x\""},
      {"module=m&module=m&target=example.com", 400, "given twice"},
      {"module=m&target=a%20b.example.com", 400,
       "invalid target \"a b.example.com\": has a space"},
      {"module=m&target=example.com&bogus=1", 400,
       "unknown parameter \"bogus\""},
      {"module=m&target=%zz", 400, "malformed query"},
      {"module=m&target=example.net", 403,
       "forbidden: example.net is outside allowed_targets of module \"m\""},
  };
  for (const Case& c : cases) {
    Answer a = Get(svc, c.query);
    EXPECT_EQ(a.status, c.status) << c.query;
    EXPECT_NE(a.body.find(c.body), std::string::npos)
        << c.query << " -> " << a.body;
    EXPECT_EQ(std::count(a.body.begin(), a.body.end(), '\n'), 1) << a.body;
  }
  EXPECT_EQ(state_.runs.load(), 0);  // nothing was probed
}

TEST_F(ProbeServiceTest, AnswersWithTheProbeSeries) {
  ProbeService svc(Config(5, Millis(0)));
  Answer ok = Get(svc, "module=m&target=mx.example.com&extra=1");
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("mailhealth_probe_success 1"), std::string::npos)
      << ok.body;
  EXPECT_NE(ok.body.find("mailhealth_probe_duration_seconds "),
            std::string::npos);
  EXPECT_NE(ok.body.find("fake_probe_runs{target=\"mx.example.com\"} 1"),
            std::string::npos)
      << ok.body;
  Answer fail = Get(svc, "module=m&target=fail.example.com");
  EXPECT_NE(fail.body.find("mailhealth_probe_success 0"), std::string::npos);
}

TEST_F(ProbeServiceTest, ResolvedAddressOutsideTheFenceIs403) {
  state_.refuse_address = "203.0.113.5";
  ProbeService svc(Config(5, Millis(0)));
  Answer a = Get(svc, "module=m&target=mx.example.com");
  EXPECT_EQ(a.status, 403);
  EXPECT_NE(a.body.find("mx.example.com resolves to 203.0.113.5"),
            std::string::npos)
      << a.body;
}

TEST_F(ProbeServiceTest, CacheWithinMinInterval) {
  Clock::time_point now = Clock::now();
  std::mutex mu;
  ProbeService svc(Config(5, Millis(30000)), [&] {
    std::lock_guard<std::mutex> lock(mu);
    return now;
  });
  Answer a = Get(svc, "module=m&target=mx.example.com");
  Answer b = Get(svc, "module=m&target=mx.example.com");
  EXPECT_EQ(state_.runs.load(), 1);
  EXPECT_EQ(a.body, b.body);
  // Another target, or other parameters, is another probe.
  Get(svc, "module=m&target=mx2.example.com");
  Get(svc, "module=m&target=mx.example.com&extra=1");
  EXPECT_EQ(state_.runs.load(), 3);
  {
    std::lock_guard<std::mutex> lock(mu);
    now += Millis(29999);
  }
  Get(svc, "module=m&target=mx.example.com");
  EXPECT_EQ(state_.runs.load(), 3);
  {
    std::lock_guard<std::mutex> lock(mu);
    now += Millis(1);
  }
  Answer c = Get(svc, "module=m&target=mx.example.com");
  EXPECT_EQ(state_.runs.load(), 4);
  EXPECT_NE(c.body.find("fake_probe_runs{target=\"mx.example.com\"} 4"),
            std::string::npos)
      << c.body;
}

TEST_F(ProbeServiceTest, NoCacheWithoutMinInterval) {
  ProbeService svc(Config(5, Millis(0)));
  Get(svc, "module=m&target=mx.example.com");
  Get(svc, "module=m&target=mx.example.com");
  EXPECT_EQ(state_.runs.load(), 2);
}

TEST_F(ProbeServiceTest, RequestsForARunningProbeShareIt) {
  state_.delay = Millis(300);
  ProbeService svc(Config(5, Millis(10000)));
  std::vector<std::future<Answer>> fs;
  for (int i = 0; i < 20; ++i) {
    fs.push_back(Send(svc, "module=m&target=mx.example.com"));
  }
  for (auto& f : fs) EXPECT_EQ(f.get().status, 200);
  EXPECT_EQ(state_.runs.load(), 1);
}

TEST_F(ProbeServiceTest, BeyondMaxConcurrentIs503) {
  state_.delay = Millis(400);
  ProbeService svc(Config(3, Millis(0)));
  std::vector<std::future<Answer>> fs;
  for (int i = 0; i < 10; ++i) {
    fs.push_back(
        Send(svc, "module=m&target=h" + std::to_string(i) + ".example.com"));
  }
  int ok = 0, busy = 0;
  for (auto& f : fs) {
    Answer a = f.get();
    if (a.status == 200) ++ok;
    if (a.status == 503) {
      ++busy;
      EXPECT_NE(a.body.find("max_concurrent 3"), std::string::npos);
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(busy, 7);
  EXPECT_EQ(state_.max_seen.load(), 3);
  // Once they are done, there is room again.
  EXPECT_EQ(Get(svc, "module=m&target=again.example.com").status, 200);
}

TEST_F(ProbeServiceTest, DeadlineFromScrapeTimeoutMinusOffset) {
  ProbeService svc(Config(5, Millis(0), Millis(3000)));
  const Clock::time_point t0 = Clock::now();
  Get(svc, "module=m&target=a.example.com");             // module: 3s
  Get(svc, "module=m&target=a.example.com", "2");        // 2s - 0.5s
  Get(svc, "module=m&target=a.example.com", "10");       // module: 3s
  Get(svc, "module=m&target=a.example.com", "0.3");      // below the offset
  Get(svc, "module=m&target=a.example.com", "garbage");  // ignored
  const Clock::time_point t1 = Clock::now();
  std::lock_guard<std::mutex> lock(state_.mu);
  ASSERT_EQ(state_.deadlines.size(), 5u);
  auto within = [&](size_t i, Millis budget) {
    EXPECT_GE(state_.deadlines[i], t0 + budget) << i;
    EXPECT_LE(state_.deadlines[i], t1 + budget) << i;
  };
  within(0, Millis(3000));
  within(1, Millis(1500));
  within(2, Millis(3000));
  within(3, Millis(300));
  within(4, Millis(3000));
}

TEST(ProbeQueryTest, Decodes) {
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(
      ParseQuery("module=m&target=mx%3Aexample.com&expect_mx=10+mx1."
                 "example.com&&flag",
                 &q));
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[1].second, "mx:example.com");
  EXPECT_EQ(q[2].second, "10 mx1.example.com");
  EXPECT_EQ(q[3].first, "flag");
  EXPECT_FALSE(ParseQuery("a=%4", &q));
  EXPECT_FALSE(ParseQuery("a=%", &q));
}

}  // namespace
}  // namespace mailhealth
