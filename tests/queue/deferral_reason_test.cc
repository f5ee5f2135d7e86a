// Deferral reason classes on real reason texts (tests/fixtures/corpus:
// postqueue listings, the captured queue, and postfix-logs' status=deferred
// reasons).
#include "collectors/queue/deferral_reason.h"

#include <gtest/gtest.h>

namespace mailhealth {
namespace {

struct Case {
  const char* reason;
  DeferralReason want;
};

class ClassifyTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTest, Classifies) {
  LocalServiceMatcher local({"127.0.0.1:10024", "unix:/var/run/dovecot/lmtp"});
  EXPECT_EQ(
      DeferralReasonName(ClassifyDeferralReason(GetParam().reason, local)),
      DeferralReasonName(GetParam().want))
      << GetParam().reason;
}

using R = DeferralReason;
INSTANTIATE_TEST_SUITE_P(
    CorpusReasons, ClassifyTest,
    ::testing::Values(
        // local_service: the dead content filter (postqueue-j-captured).
        Case{"connect to 127.0.0.1[127.0.0.1]:10024: Connection refused",
             R::kLocalService},
        Case{"delivery temporarily suspended: connect to "
             "127.0.0.1[127.0.0.1]:10024: Connection refused",
             R::kLocalService},
        Case{"connect to localhost[127.0.0.1]:10024: Connection timed out",
             R::kLocalService},
        Case{"connect to /var/run/dovecot/lmtp: No such file or directory",
             R::kLocalService},
        // transport_unavailable (pymailq sample).
        Case{"mail transport unavailable", R::kTransportUnavailable},
        Case{"delivery temporarily suspended: mail transport unavailable",
             R::kTransportUnavailable},
        // connection_refused (captured relayhost, postfix-logs).
        Case{"connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
             R::kConnectionRefused},
        Case{"delivery temporarily suspended: connect to "
             "127.0.0.1[127.0.0.1]:2599: Connection refused",
             R::kConnectionRefused},
        Case{"connect to guick.cz[69.43.161.182]:25: Connection refused",
             R::kConnectionRefused},
        Case{"connect to ulovec.cz[88.103.134.146]:25: No route to host",
             R::kConnectionRefused},
        // connection_timeout, including greeting timeouts.
        Case{"connect to 127.0.0.1[127.0.0.1]:2529: Connection timed out",
             R::kConnectionTimeout},
        Case{"conversation with 127.0.0.1[127.0.0.1] timed out while receiving "
             "the initial server greeting",
             R::kConnectionTimeout},
        Case{"conversation with mail.email.ru timed out while receiving the "
             "initial server greeting",
             R::kConnectionTimeout},
        // dns_failure.
        Case{"Host or domain name not found. Name service error for "
             "name=centum.cz type=MX: Host not found, try again",
             R::kDnsFailure},
        Case{"delivery temporarily suspended: Host or domain name not found. "
             "Name service error for name=aze.sk type=A: Host not found, try "
             "again",
             R::kDnsFailure},
        // tls_failure.
        Case{"TLS is required, but was not offered by host "
             "mx.example.com[192.0.2.1]",
             R::kTlsFailure},
        Case{"Cannot start TLS: handshake failure", R::kTlsFailure},
        Case{"lost connection with mx.example.com[192.0.2.1] while performing "
             "the TLS handshake",
             R::kTlsFailure},
        // mailbox_full (retry: transport, kumina's showq, postfix-logs).
        Case{"Mailbox full", R::kMailboxFull},
        Case{"host mail.wekudata.com[37.208.0.7] said: 452 4.2.2 Quota "
             "exceeded (rehanna@stahlstierna.se) (in reply to RCPT TO command)",
             R::kMailboxFull},
        Case{"host alt1.gmail-smtp-in.l.google.com[108.177.97.26] said: "
             "452-4.2.2 The email account that you tried to reach is over "
             "quota. Please direct 452-4.2.2 the recipient to 452 4.2.2  "
             "https://support.google.com/mail/?p=OverQuotaTemp "
             "q24si6538316pgt.498 - gsmtp (in reply to RCPT TO command)",
             R::kMailboxFull},
        Case{"host mx1.netbox.cz[83.240.0.165] said: 450 4.7.1 "
             "<rsedlacek@nbox.cz>: Recipient address rejected: User mailbox "
             "over quota, try later (in reply to RCPT TO command)",
             R::kMailboxFull},
        // remote_temporary: 4xx replies, greylisting.
        Case{"host 127.0.0.1[127.0.0.1] said: 451 4.7.1 Service temporarily "
             "unavailable, try again later (in reply to RCPT TO command)",
             R::kRemoteTemporary},
        Case{"Greylisted, please try again later", R::kRemoteTemporary},
        Case{"host in.smtp.cz[81.95.97.102] said: 450 4.7.1 Error: too much "
             "mail from 81.95.98.2 (in reply to MAIL FROM command)",
             R::kRemoteTemporary},
        Case{"host mx.smtp.cz[81.0.238.28] refused to talk to me: 421 4.7.0 "
             "mx.smtp.cz Error: too many connections from 81.95.98.2",
             R::kRemoteTemporary},
        Case{"delivery temporarily suspended: host "
             "mail.orangemail.sk[213.151.200.4] refused to talk to me: 421 "
             "4.7.0 Not allowed.",
             R::kRemoteTemporary},
        // A remote server quoting "Connection refused" is still a remote reply.
        Case{"host mail.terminus.sk[92.240.244.10] said: 450 4.1.1 "
             "<frakira@terminus.sk>: Recipient address rejected: unverified "
             "address: connect to platon.example[192.0.2.3]:25: Connection "
             "refused (in reply to RCPT TO command)",
             R::kRemoteTemporary},
        Case{"host smtp2.example.com[91.1.2.333] said: 451-4.7.0 DNS timeout "
             "451 4.7.0 For assistance (in reply to RCPT TO command)",
             R::kRemoteTemporary},
        // local_delivery: the real deferrals of tests/queue's Postfix
        // (issue #20): a mailbox_command / pipe alias exiting 75, and an
        // LMTP store whose socket is gone.
        Case{"temporary failure", R::kLocalDelivery},
        Case{"temporary failure. Command output: procmail: Couldn't create "
             "\"/var/mail/u\"",
             R::kLocalDelivery},
        Case{"connect to mail.example[private/dovecot-lmtp]: No such file or "
             "directory",
             R::kLocalDelivery},
        Case{"connect to mail.mailhealth.test[private/dovecot-lmtp]: No such "
             "file or directory",
             R::kLocalDelivery},
        Case{"delivery temporarily suspended: connect to "
             "mail.example[private/dovecot-lmtp]: Connection refused",
             R::kLocalDelivery},
        Case{"lost connection with mail.example[private/dovecot-lmtp] while "
             "sending end of data -- message may be sent more than once",
             R::kLocalDelivery},
        Case{"host mail.example[private/dovecot-lmtp] said: 451 4.3.0 "
             "Temporary internal error (in reply to end of DATA command)",
             R::kLocalDelivery},
        Case{"Command died with status 75: \"/usr/lib/dovecot/deliver\"",
             R::kLocalDelivery},
        Case{"cannot update mailbox /var/mail/u for user u. unable to create "
             "lock file /var/mail/u.lock: Permission denied",
             R::kLocalDelivery},
        Case{"maildir delivery failed: create maildir file "
             "/home/u/Maildir/tmp/x: Permission denied",
             R::kLocalDelivery},
        // A full mailbox reported by the store stays mailbox_full.
        Case{"host mail.example[private/dovecot-lmtp] said: 452 4.2.2 "
             "<u@example.org> Mailbox is full (in reply to RCPT TO command)",
             R::kMailboxFull},
        Case{"cannot update mailbox /var/mail/u for user u. error writing "
             "message: File too large",
             R::kMailboxFull},
        // A remote reply that says "temporary failure" is remote.
        Case{"host mx.example.com[192.0.2.1] said: 451 temporary failure (in "
             "reply to RCPT TO command)",
             R::kRemoteTemporary},
        // other.
        Case{"deferred transport", R::kOther},
        Case{"host example.com[123.45.67.89] said: 12 Malformed (in reply to "
             "RCPT TO command)",
             R::kOther},
        Case{"lost connection with mail.gnail.com while receiving the initial "
             "server greeting",
             R::kOther}));

TEST(ClassifyTest, PostconfEndpointsAreLocalDelivery) {
  LocalServiceMatcher none({});
  const char kInet[] = "connect to 127.0.0.1[127.0.0.1]:24: Connection refused";
  EXPECT_EQ(ClassifyDeferralReason(kInet, none),
            DeferralReason::kConnectionRefused);
  std::vector<std::string> endpoints = LocalDeliveryEndpoints(
      "local_transport = local:$myhostname\n"
      "virtual_transport = lmtp:inet:127.0.0.1:24\n"
      "mailbox_transport = lmtp:unix:private/dovecot-lmtp\n"
      "mailbox_command = /usr/bin/procmail -a \"$EXTENSION\"\n");
  EXPECT_EQ(endpoints, (std::vector<std::string>{"inet:127.0.0.1:24",
                                                 "unix:private/dovecot-lmtp",
                                                 "/usr/bin/procmail"}));
  LocalServiceMatcher delivery(endpoints);
  EXPECT_EQ(ClassifyDeferralReason(kInet, none, delivery),
            DeferralReason::kLocalDelivery);
  // Another port of the same host is not the store.
  EXPECT_EQ(ClassifyDeferralReason(
                "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused",
                none, delivery),
            DeferralReason::kConnectionRefused);
  // A configured content filter stays local_service.
  LocalServiceMatcher filter({"127.0.0.1:24"});
  EXPECT_EQ(ClassifyDeferralReason(kInet, filter, delivery),
            DeferralReason::kLocalService);
}

TEST(ClassifyTest, LocalDeliveryEndpointsSkipHostNamesAndEmptyValues) {
  EXPECT_TRUE(LocalDeliveryEndpoints("local_transport = local:$myhostname\n"
                                     "virtual_transport = virtual\n"
                                     "mailbox_transport =\n"
                                     "mailbox_command = \n"
                                     "garbage\n")
                  .empty());
  EXPECT_EQ(LocalDeliveryEndpoints("mailbox_transport = lmtp:[10.0.0.5]:24"),
            (std::vector<std::string>{"[10.0.0.5]:24"}));
}

TEST(ClassifyTest, LocalServiceWinsOverConnectionRefused) {
  // Without the endpoint configured, the dead filter is a refused connection.
  LocalServiceMatcher none({});
  EXPECT_EQ(
      ClassifyDeferralReason(
          "connect to 127.0.0.1[127.0.0.1]:10024: Connection refused", none),
      DeferralReason::kConnectionRefused);
  LocalServiceMatcher filter({"[127.0.0.1]:10024"});
  EXPECT_EQ(
      ClassifyDeferralReason(
          "connect to 127.0.0.1[127.0.0.1]:10024: Connection refused", filter),
      DeferralReason::kLocalService);
}

TEST(ClassifyTest, LocalServiceNeedsThePort) {
  LocalServiceMatcher filter({"127.0.0.1:10024"});
  EXPECT_EQ(
      ClassifyDeferralReason(
          "connect to 127.0.0.1[127.0.0.1]:100245: Connection refused", filter),
      DeferralReason::kConnectionRefused);
  EXPECT_EQ(
      ClassifyDeferralReason(
          "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused", filter),
      DeferralReason::kConnectionRefused);
}

TEST(ClassifyTest, NamesFollowMetricsMdOrder) {
  std::vector<std::string> names;
  for (auto r : AllDeferralReasons()) names.emplace_back(DeferralReasonName(r));
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "local_service", "local_delivery", "transport_unavailable",
                "connection_refused", "connection_timeout", "dns_failure",
                "tls_failure", "mailbox_full", "remote_temporary", "other"}));
}

}  // namespace
}  // namespace mailhealth
