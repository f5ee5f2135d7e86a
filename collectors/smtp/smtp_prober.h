// The smtp prober of /probe: one target (host[:port], mx:DOMAIN[:port],
// smtps:host[:port], lmtp:host:port) through the collector's own code path
// (smtp_run.h) and metric builder (smtp_metrics.h), so the answer carries
// the collector's series with the same names and labels.
//
// Module keys besides the common ones (daemon/probe_config.h): helo,
// starttls, resolvers, as in the collector. Every address a name resolves
// to passes the module's fence before any connection.
#pragma once

#include "exporter/probe.h"

namespace mailhealth::smtp {

ProberInfo SmtpProberInfo();

}  // namespace mailhealth::smtp
