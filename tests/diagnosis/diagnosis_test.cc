// The diagnosis over constructed metric families: verdicts per section,
// evidence and first commands, inhibition, the log windows, the reports.
#include "diagnosis/diagnosis.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "diagnosis/report.h"
#include "exporter/metric_builder.h"

namespace mailhealth::diagnosis {
namespace {

using std::chrono::seconds;

std::shared_ptr<const Snapshot> Snap(const std::string& name, bool ok = true,
                                     std::string error = "") {
  auto s = std::make_shared<Snapshot>();
  s->collector = name;
  s->success = ok;
  s->error = std::move(error);
  s->finished = std::chrono::system_clock::now();
  s->data_time = s->finished;
  return s;
}

struct Fixture {
  Families fams;
  std::vector<std::shared_ptr<const Snapshot>> snaps;
  void G(const std::string& name, const Labels& l, double v) {
    for (auto& f : fams)
      if (f.name == name) {
        AddSample(f, l, v);
        return;
      }
    fams.push_back(Gauge(name, "h"));
    AddSample(fams.back(), l, v);
  }
  void C(const std::string& name, const Labels& l, double v) {
    for (auto& f : fams)
      if (f.name == name) {
        AddSample(f, l, v);
        return;
      }
    fams.push_back(Counter(name, "h"));
    AddSample(fams.back(), l, v);
  }
  // A healthy host: Postfix up, 127.0.0.1:25 greets, the MX as declared,
  // an empty queue, a quiet log. One Postfix instance, the default
  // ("postfix"): the queue, postfix_up and Postfix-log series carry it.
  Fixture() {
    for (const char* c : {"queue", "log", "smtp", "dns"})
      snaps.push_back(Snap(c));
    G("mailhealth_postfix_up", {{"postfix_instance", "postfix"}}, 1);
    G("mailhealth_queue_messages",
      {{"postfix_instance", "postfix"}, {"queue", "deferred"}}, 0);
    G("mailhealth_queue_deferred_messages_by_reason",
      {{"postfix_instance", "postfix"}, {"reason", "local_service"}}, 0);
    G("mailhealth_smtp_probe_success",
      {{"target", "127.0.0.1:25"}, {"address", "127.0.0.1"}}, 1);
    G("mailhealth_smtp_starttls_advertised",
      {{"target", "127.0.0.1:25"}, {"address", "127.0.0.1"}}, 1);
    G("mailhealth_smtp_failure",
      {{"target", "127.0.0.1:25"},
       {"address", "127.0.0.1"},
       {"reason", "refused"}},
      0);
    G("mailhealth_dns_lookup_success",
      {{"domain", "mailhealth.test"},
       {"resolver", "127.0.0.1:5300"},
       {"qtype", "MX"}},
      1);
    G("mailhealth_dns_mx_matches_expected",
      {{"domain", "mailhealth.test"}, {"resolver", "127.0.0.1:5300"}}, 1);
    G("mailhealth_dns_mx_info",
      {{"domain", "mailhealth.test"},
       {"resolver", "127.0.0.1:5300"},
       {"exchange", "mail.mailhealth.test"},
       {"preference", "10"}},
      1);
    C("mailhealth_log_messages_total",
      {{"postfix_instance", "postfix"},
       {"process", "smtpd"},
       {"severity", "fatal"}},
      0);
    C("mailhealth_log_messages_total",
      {{"postfix_instance", "postfix"},
       {"process", "smtpd"},
       {"severity", "error"}},
      0);
    G("mailhealth_log_source_up", {}, 1);
  }
  void Set(const std::string& name, const Labels& l, double v) {
    for (auto& f : fams) {
      if (f.name != name) continue;
      for (auto& m : f.metric) {
        bool all = true;
        for (const auto& [k, want] : l) {
          bool found = false;
          for (const auto& x : m.label) found |= x.name == k && x.value == want;
          all &= found;
        }
        if (all) {
          m.gauge.value = v;
          m.counter.value = v;
          return;
        }
      }
    }
    ADD_FAILURE() << "no sample " << name;
  }
  Report Run(bool once = true) {
    EvalOptions o;
    o.now = std::chrono::system_clock::now();
    o.once = once;
    return Diagnose(fams, snaps, o);
  }
};

const SectionReport& Sec(const Report& r, Section s) {
  for (const auto& x : r.sections)
    if (x.section == s) return x;
  static SectionReport none{};
  ADD_FAILURE() << "no section " << SectionTitle(s);
  return none;
}

TEST(Diagnosis, HealthyHostIsOkInTroubleshootingOrder) {
  Fixture f;
  Report r = f.Run();
  EXPECT_EQ(r.overall, Verdict::kOk);
  EXPECT_EQ(r.ExitCode(), 0);
  EXPECT_EQ(r.First(), nullptr);
  ASSERT_GE(r.sections.size(), 6u);
  EXPECT_EQ(r.sections[0].section, Section::kPostfix);
  EXPECT_EQ(r.sections[1].section, Section::kPort25);
  EXPECT_EQ(r.sections[2].section, Section::kDns);
  EXPECT_EQ(r.sections[3].section, Section::kQueue);
  EXPECT_EQ(r.sections[4].section, Section::kLog);
  EXPECT_EQ(r.sections[5].section, Section::kReputation);
  EXPECT_EQ(Sec(r, Section::kReputation).verdict, Verdict::kSkip);
  EXPECT_NE(Sec(r, Section::kReputation).summary.find("not enabled"),
            std::string::npos);
  EXPECT_NE(Sec(r, Section::kDns).summary.find("10 mail.mailhealth.test"),
            std::string::npos);
}

TEST(Diagnosis, PostfixDownIsTheFirstFailAndExplainsItsSymptoms) {
  Fixture f;
  f.Set("mailhealth_postfix_up", {}, 0);
  f.Set("mailhealth_smtp_probe_success", {}, 0);
  f.Set("mailhealth_smtp_failure", {{"reason", "refused"}}, 1);
  Report r = f.Run();
  EXPECT_EQ(r.ExitCode(), 2);
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First()->rule->alert, "MailhealthPostfixDown");
  // One instance: read as on a host without instances.
  EXPECT_EQ(r.First()->title, "Postfix is not running");
  EXPECT_EQ(r.First()->commands.at(0), "postfix status");
  EXPECT_EQ(r.First()->commands.at(1), "postfix check");
  const auto& port = Sec(r, Section::kPort25);
  ASSERT_EQ(port.findings.size(), 1u);
  EXPECT_EQ(port.findings[0].verdict, Verdict::kWarn);
  EXPECT_EQ(port.findings[0].explained_by, "MailhealthPostfixDown");
  EXPECT_NE(port.findings[0].evidence.find("refused"), std::string::npos);
}

TEST(Diagnosis, PortClosedNamesTheReplyAndTheCommands) {
  Fixture f;
  f.Set("mailhealth_smtp_probe_success", {}, 0);
  f.Set("mailhealth_smtp_failure", {{"reason", "refused"}}, 1);
  Report r = f.Run();
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First()->rule->alert, "MailhealthSmtpTargetDown");
  EXPECT_EQ(r.First()->verdict, Verdict::kFail);
  EXPECT_EQ(r.First()->evidence,
            "127.0.0.1:25 (127.0.0.1) gives no 220 greeting and EHLO: refused");
  EXPECT_EQ(r.First()->commands.at(1), "ss -ltn 'sport = :25'");
  EXPECT_EQ(r.First()->commands.at(2), "nc -v 127.0.0.1 25");
  // No greeting: no STARTTLS verdict either.
  f.Set("mailhealth_smtp_starttls_advertised", {}, 0);
  EXPECT_EQ(f.Run().sections[1].findings.size(), 1u);
}

TEST(Diagnosis, WrongMxShowsTheSetSeenAndDigsTheResolver) {
  Fixture f;
  f.Set("mailhealth_dns_mx_matches_expected", {}, 0);
  f.Set("mailhealth_dns_mx_info", {}, 0);  // replaced below
  f.fams.back().metric.clear();
  for (auto& fam : f.fams)
    if (fam.name == "mailhealth_dns_mx_info") fam.metric.clear();
  f.G("mailhealth_dns_mx_info",
      {{"domain", "mailhealth.test"},
       {"resolver", "127.0.0.1:5300"},
       {"exchange", "wrong.mailhealth.test"},
       {"preference", "10"}},
      1);
  Report r = f.Run();
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First()->rule->alert, "MailhealthDnsMxNotAsDeclared");
  EXPECT_NE(r.First()->evidence.find("10 wrong.mailhealth.test"),
            std::string::npos);
  EXPECT_EQ(r.First()->commands.at(0),
            "dig @127.0.0.1 -p 5300 mailhealth.test MX");
}

TEST(Diagnosis, ContentFilterDeferralsAreAQueueFail) {
  Fixture f;
  f.Set("mailhealth_queue_deferred_messages_by_reason",
        {{"reason", "local_service"}}, 2);
  Report r = f.Run();
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First()->rule->alert, "MailhealthQueueLocalServiceFailing");
  EXPECT_NE(
      r.First()->evidence.find("2 messages deferred with reason local_service"),
      std::string::npos);
  EXPECT_EQ(r.First()->commands.at(3),
            "postqueue -f (after fixing the filter)");
}

TEST(Diagnosis, SmtpdFatalIsTheCauseOfTheSilentPort) {
  Fixture f;
  f.Set("mailhealth_log_messages_total",
        {{"process", "smtpd"}, {"severity", "fatal"}}, 3);
  Report r = f.Run();
  // smtpd answers: the fatal counts as fixed (as the alert's unless).
  EXPECT_EQ(r.overall, Verdict::kOk);
  f.Set("mailhealth_smtp_probe_success", {}, 0);
  f.Set("mailhealth_smtp_failure", {{"reason", "refused"}}, 1);
  r = f.Run();
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First()->rule->alert, "MailhealthLogFatal");
  EXPECT_EQ(r.First()->evidence,
            "postfix/smtpd logged 3 fatal line(s) in the last 15m");
  EXPECT_EQ(Sec(r, Section::kPort25).verdict, Verdict::kWarn);
}

TEST(Diagnosis, DaemonWindowsTheLogCountersWithHistory) {
  Fixture f;
  CounterHistory h;
  const auto now = std::chrono::system_clock::now();
  const std::string key = SeriesKey("mailhealth_log_messages_total",
                                    {{"postfix_instance", "postfix"},
                                     {"process", "qmgr"},
                                     {"severity", "fatal"}});
  f.C("mailhealth_log_messages_total",
      {{"postfix_instance", "postfix"},
       {"process", "qmgr"},
       {"severity", "fatal"}},
      4);
  h.Record(now - seconds(600), key, 4);  // all four are 10 minutes old
  h.Record(now - seconds(200), key, 4);
  EvalOptions o;
  o.now = now;
  o.history = &h;
  EXPECT_EQ(Diagnose(f.fams, f.snaps, o).overall, Verdict::kOk);
  EXPECT_EQ(h.Increase(key, 5, Millis(300000), now), 1);
  EXPECT_EQ(h.Increase(key, 2, Millis(300000), now), 2);  // a reset
  // Younger than the window: everything since the start counts.
  EXPECT_EQ(h.Increase(key, 4, Millis(900000), now), 4);
}

TEST(Diagnosis, FailedCollectorIsAWarnNotSilence) {
  Fixture f;
  f.snaps[0] =
      Snap("queue", false, "cannot run /usr/sbin/postqueue: No such file");
  f.G("mailhealth_scrape_collector_success", {{"collector", "queue"}}, 0);
  Report r = f.Run();
  EXPECT_EQ(r.overall, Verdict::kWarn);
  EXPECT_EQ(r.ExitCode(), 1);
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First()->rule->alert, "MailhealthCollectorFailing");
  EXPECT_NE(r.First()->evidence.find("No such file"), std::string::npos);
}

TEST(Report, TextJsonAndHtmlCarryTheSameVerdicts) {
  Fixture f;
  f.Set("mailhealth_postfix_up", {}, 0);
  Report r = f.Run();
  const std::string text = RenderText(r, false);
  EXPECT_EQ(text.rfind("mailhealth_exporter check: FAIL (exit 2)\n", 0), 0u);
  EXPECT_NE(text.find("FAIL  Postfix running"), std::string::npos);
  EXPECT_NE(text.find("$ postfix status"), std::string::npos);
  EXPECT_EQ(text.find("\033["), std::string::npos);  // no colour
  EXPECT_NE(RenderText(r, true).find("\033[1;31m"), std::string::npos);
  auto j = nlohmann::json::parse(RenderJson(r));
  EXPECT_EQ(j["verdict"], "FAIL");
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["first"]["alert"], "MailhealthPostfixDown");
  EXPECT_EQ(j["sections"][0]["verdict"], "FAIL");
  PageInfo p;
  p.version = "1.0";
  p.now = std::chrono::system_clock::now();
  const std::string html = RenderHtml(r, p);
  EXPECT_NE(html.find("<title>mailhealth: FAIL</title>"), std::string::npos);
  EXPECT_NE(html.find("Postfix is not running"), std::string::npos);
  EXPECT_NE(html.find("$ postfix status"), std::string::npos);
  EXPECT_NE(html.find("href=\"/metrics\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace mailhealth::diagnosis

namespace mailhealth::diagnosis {
namespace {

TEST(Diagnosis, ProbeSectionAppearsOnlyWhenProbeModulesReport) {
  Fixture f;
  for (const auto& s : f.Run().sections) EXPECT_NE(s.section, Section::kProbe);
  f.G("mailhealth_probe_success", {{"module", "smtp_outside"}}, 1);
  Report r = f.Run();
  ASSERT_GE(r.sections.size(), 3u);
  EXPECT_EQ(r.sections[2].section, Section::kProbe);  // after port 25
  EXPECT_EQ(r.sections[2].verdict, Verdict::kOk);
}

}  // namespace
}  // namespace mailhealth::diagnosis

namespace mailhealth::diagnosis {
namespace {

// A second Postfix instance, postfix-out (postmulti), healthy: its own
// postfix_up, queue and log series.
void AddPostfixOut(Fixture& f) {
  const Labels out = {{"postfix_instance", "postfix-out"}};
  f.G("mailhealth_postfix_up", out, 1);
  f.G("mailhealth_queue_messages",
      {{"postfix_instance", "postfix-out"}, {"queue", "hold"}}, 0);
  f.G("mailhealth_queue_deferred_messages_by_reason",
      {{"postfix_instance", "postfix-out"}, {"reason", "local_service"}}, 0);
  f.C("mailhealth_log_messages_total",
      {{"postfix_instance", "postfix-out"},
       {"process", "smtp"},
       {"severity", "fatal"}},
      0);
}

TEST(Diagnosis, TwoInstancesHealthyIsOk) {
  Fixture f;
  AddPostfixOut(f);
  EXPECT_EQ(f.Run().overall, Verdict::kOk);
}

TEST(Diagnosis, OneInstanceDownIsOneFailNamingIt) {
  Fixture f;
  AddPostfixOut(f);
  f.Set("mailhealth_postfix_up", {{"postfix_instance", "postfix-out"}}, 0);
  // postfix-out's queue holds mail (its consequence); postfix's content
  // filter fails (a cause of its own, not explained by postfix-out).
  f.Set("mailhealth_queue_messages",
        {{"postfix_instance", "postfix-out"}, {"queue", "hold"}}, 3);
  f.Set("mailhealth_queue_deferred_messages_by_reason",
        {{"postfix_instance", "postfix"}, {"reason", "local_service"}}, 2);
  Report r = f.Run();
  const auto& pf = Sec(r, Section::kPostfix);
  ASSERT_EQ(pf.findings.size(), 1u);
  EXPECT_EQ(pf.findings[0].verdict, Verdict::kFail);
  EXPECT_EQ(pf.findings[0].title,
            "Postfix is not running (instance postfix-out)");
  EXPECT_EQ(pf.findings[0].labels.at("postfix_instance"), "postfix-out");
  EXPECT_EQ(pf.findings[0].commands.at(0),
            "postmulti -i postfix-out -p status");
  EXPECT_EQ(pf.findings[0].commands.at(1), "postmulti -i postfix-out -p check");
  ASSERT_NE(r.First(), nullptr);
  EXPECT_EQ(r.First(), &pf.findings[0]);
  const auto& q = Sec(r, Section::kQueue);
  ASSERT_EQ(q.findings.size(), 2u);
  // FAIL first: postfix's filter, not explained by postfix-out being down.
  EXPECT_EQ(q.findings[0].rule->alert, "MailhealthQueueLocalServiceFailing");
  EXPECT_EQ(q.findings[0].verdict, Verdict::kFail);
  EXPECT_EQ(q.findings[0].explained_by, "");
  EXPECT_EQ(q.findings[0].title,
            "Content filter or transport failing (instance postfix)");
  EXPECT_EQ(q.findings[0].commands.at(0).rfind("postqueue -p", 0), 0u);
  EXPECT_EQ(q.findings[1].rule->alert, "MailhealthQueueHoldNotEmpty");
  EXPECT_EQ(q.findings[1].explained_by, "MailhealthPostfixDown");
  EXPECT_EQ(q.findings[1].commands.at(0),
            "postmulti -i postfix-out -x postqueue -p | grep '!'");
  const std::string text = RenderText(r, false);
  EXPECT_NE(text.find("FAIL Postfix is not running (instance postfix-out)"),
            std::string::npos)
      << text;
  // The other instance down instead: named the same way.
  f.Set("mailhealth_postfix_up", {{"postfix_instance", "postfix-out"}}, 1);
  f.Set("mailhealth_postfix_up", {{"postfix_instance", "postfix"}}, 0);
  r = f.Run();
  ASSERT_EQ(Sec(r, Section::kPostfix).findings.size(), 1u);
  EXPECT_EQ(Sec(r, Section::kPostfix).findings[0].title,
            "Postfix is not running (instance postfix)");
  EXPECT_EQ(Sec(r, Section::kPostfix).findings[0].commands.at(0),
            "postfix status");
}

TEST(Diagnosis, LogCountersAreJudgedPerInstance) {
  Fixture f;
  AddPostfixOut(f);
  f.Set("mailhealth_log_messages_total",
        {{"postfix_instance", "postfix-out"}, {"process", "smtp"}}, 2);
  // postfix-out bounces half its mail (15 of 30); postfix sends 300: the
  // host as a whole bounces under 5%, postfix-out alone 50%.
  f.C("mailhealth_log_deliveries_total",
      {{"postfix_instance", "postfix-out"},
       {"transport", "smtp"},
       {"status", "sent"}},
      15);
  f.C("mailhealth_log_deliveries_total",
      {{"postfix_instance", "postfix-out"},
       {"transport", "smtp"},
       {"status", "bounced"}},
      15);
  f.C("mailhealth_log_deliveries_total",
      {{"postfix_instance", "postfix"},
       {"transport", "smtp"},
       {"status", "sent"}},
      300);
  Report r = f.Run();
  const auto& log = Sec(r, Section::kLog);
  ASSERT_EQ(log.findings.size(), 2u);
  EXPECT_EQ(log.findings[0].rule->alert, "MailhealthLogFatal");
  EXPECT_EQ(log.findings[0].title,
            "Postfix logged fatal (instance postfix-out)");
  EXPECT_EQ(log.findings[0].evidence,
            "postfix-out/smtp logged 2 fatal line(s) in the last 15m");
  EXPECT_EQ(log.findings[0].commands.at(0),
            "grep -E 'postfix-out/smtp.*(fatal|panic):' /var/log/mail.log | "
            "tail -n 20");
  EXPECT_EQ(log.findings[1].rule->alert, "MailhealthLogBounceRatioHigh");
  EXPECT_EQ(log.findings[1].labels.at("postfix_instance"), "postfix-out");
  EXPECT_NE(log.findings[1].evidence.find("50"), std::string::npos)
      << log.findings[1].evidence;
}

}  // namespace
}  // namespace mailhealth::diagnosis
