// The mailauth collector's metric names, HELP texts, and the one pure
// function from a run to its families.
#pragma once

#include "collectors/mailauth/mailauth_lookup.h"
#include "exporter/collector.h"

namespace mailhealth::mailauth {

Families BuildMailauthFamilies(const MailauthRun& run, Millis interval);

}  // namespace mailhealth::mailauth
