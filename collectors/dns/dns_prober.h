// The dns prober of /probe: TARGET is a mail domain; its MX, and the A and
// AAAA of its MX hosts, through the module's resolvers, by the collector's
// own code (dns_check.h) and metric builder (dns_metrics.h): the answer
// carries the dns collector's series with the same names and labels.
//
// Module keys besides the common ones: resolvers, expect_mx,
// expect_addresses (as a domain of the collector). URL parameters override
// them per request: expect_mx=PREF HOST (repeatable) and
// expect_addresses=HOST=IP[,IP...] (repeatable, one host each).
// Nothing is sent to the target: the fence checks the domain name.
// Success: every resolver answered the MX lookup with NOERROR and at least
// one MX (or the expected null MX), the expectations held, and every MX
// host has an address.
#pragma once

#include "exporter/probe.h"

namespace mailhealth::dns {

ProberInfo DnsProberInfo();

}  // namespace mailhealth::dns
