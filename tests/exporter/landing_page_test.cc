// The landing page: each collector's status, error and state detail.
#include "daemon/landing_page.h"

#include <gtest/gtest.h>

namespace mailhealth {
namespace {

std::shared_ptr<const Snapshot> Snap(const std::string& name, bool success,
                                     const std::string& error,
                                     const std::string& detail) {
  auto s = std::make_shared<Snapshot>();
  s->collector = name;
  s->success = success;
  s->error = error;
  s->detail = detail;
  return s;
}

TEST(LandingPageTest, ShowsStatusErrorAndDetailPerCollector) {
  std::string h = LandingPage(
      "1.2.3", "/metrics",
      {Snap("queue", false, "postqueue <failed>", ""),
       Snap("log", true, "",
            "missing: /var/log/mail.log does not exist & \"waited for\"")});
  EXPECT_NE(h.find("<th>status</th><th>detail</th><th>last run</th>"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("<tr><td>log</td><td>ok</td><td>missing: "
                   "/var/log/mail.log does not exist &amp; &quot;waited "
                   "for&quot;</td><td>never</td><td>0.000s</td><td></td></"
                   "tr>"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("<tr><td>queue</td><td>failing</td><td></td><td>never</"
                   "td><td>0.000s</td><td>postqueue &lt;failed&gt;</td></"
                   "tr>"),
            std::string::npos)
      << h;
  // Sorted by name.
  EXPECT_LT(h.find("<td>log</td>"), h.find("<td>queue</td>"));
}

}  // namespace
}  // namespace mailhealth
