#include "cmd/builtin_collectors.h"
#include "exporter/app.h"

int main(int argc, char** argv) {
  mailhealth::CollectorRegistry registry;
  mailhealth::RegisterBuiltinCollectors(registry);
  return mailhealth::RunExporter(argc, argv, registry);
}
