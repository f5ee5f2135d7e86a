#include "daemon/flags.h"

#include "exporter/logging.h"

namespace mailhealth {
namespace {

struct ValueFlag {
  const char* name;
  std::string Flags::*field;
};

const ValueFlag kValueFlags[] = {
    {"config.file", &Flags::config_file},
    {"web.telemetry-path", &Flags::telemetry_path},
    {"web.config.file", &Flags::web_config_file},
    {"log.level", &Flags::log_level},
    {"log.format", &Flags::log_format},
    {"runas.user", &Flags::runas_user},
};

bool* BoolField(const std::string& name, Flags* f) {
  if (name == "config.check") return &f->config_check;
  if (name == "version") return &f->version;
  if (name == "help") return &f->help;
  if (name == "web.systemd-socket") return &f->systemd_socket;
  if (name == "allow-root") return &f->allow_root;
  return nullptr;
}

// A flag that takes no value or true/false: the booleans and the
// collector switches.
Status ParseSwitch(const std::string& name, bool has_value,
                   const std::string& value, Flags* f) {
  auto boolean = [&](bool* field) -> Status {
    if (!has_value || value == "true") {
      *field = true;
    } else if (value == "false") {
      *field = false;
    } else {
      return Status::Error("flag --" + name + " takes true or false");
    }
    return Status::Ok();
  };
  if (bool* field = BoolField(name, f)) return boolean(field);
  if (name.rfind("collector.", 0) == 0 && name.size() > 10) {
    bool on = true;
    Status st = boolean(&on);
    f->collector_overrides[name.substr(10)] = on;
    return st;
  }
  if (name.rfind("no-collector.", 0) == 0 && name.size() > 13 && !has_value) {
    f->collector_overrides[name.substr(13)] = false;
    return Status::Ok();
  }
  return Status::Error("unknown flag --" + name + " (see --help)");
}

// The defaults that depend on other flags, and the values checked.
Status Finish(Flags* f) {
  if (f->listen_addresses.empty()) f->listen_addresses.push_back(":9732");
  if (!ParseLogLevel(f->log_level)) {
    return Status::Error("--log.level: invalid level \"" + f->log_level +
                         "\" (debug, info, warn, error)");
  }
  if (!ParseLogFormat(f->log_format)) {
    return Status::Error("--log.format: invalid format \"" + f->log_format +
                         "\" (logfmt, json)");
  }
  if (f->telemetry_path.empty() || f->telemetry_path[0] != '/' ||
      f->telemetry_path == "/") {
    return Status::Error(
        "--web.telemetry-path: must start with / and not be /");
  }
  return Status::Ok();
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      f.help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      return Status::Error("unexpected argument \"" + a + "\"");
    }
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    std::string* field = nullptr;
    if (name == "web.listen-address") {
      field = &f.listen_addresses.emplace_back();
    }
    for (const ValueFlag& vf : kValueFlags) {
      if (name == vf.name) field = &(f.*vf.field);
    }
    if (field == nullptr) {
      Status st = ParseSwitch(name, has_value, value, &f);
      if (!st.ok()) return st;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return Status::Error("flag --" + name + " needs a value");
      }
      value = args[++i];
    }
    *field = value;
    if (name == "config.file") f.config_file_given = true;
  }
  if (Status st = Finish(&f); !st.ok()) return st;
  return f;
}

std::string UsageText(const CollectorRegistry& registry) {
  std::string s =
      "usage: mailhealth_exporter [<flags>]\n"
      "\n"
      "Prometheus exporter for the health of a Postfix mail system.\n"
      "\n"
      "Flags:\n"
      "  -h, --help                   Show this help.\n"
      "  --config.file=PATH           Configuration file\n"
      "                               (default "
      "/etc/mailhealth/mailhealth.yml;\n"
      "                               built-in defaults when it does not "
      "exist\n"
      "                               and the flag is not given).\n"
      "  --config.check               Validate the configuration and exit "
      "0/1.\n"
      "  --web.listen-address=ADDR    Address to listen on (default :9732):\n"
      "                               HOST:PORT, [V6]:PORT, or :PORT for all\n"
      "                               IPv4 and IPv6 addresses. Repeatable.\n"
      "  --web.systemd-socket         Use the listening sockets systemd "
      "passes\n"
      "                               (socket activation) instead.\n"
      "  --web.telemetry-path=PATH    Path of the metrics (default /metrics).\n"
      "  --web.config.file=PATH       TLS and basic auth (exporter-toolkit "
      "format).\n"
      "  --log.level=LEVEL            debug, info, warn, error (default "
      "info).\n"
      "  --log.format=FORMAT          logfmt or json (default logfmt).\n"
      "  --allow-root                 Allow running as root.\n"
      "  --runas.user=NAME            Start as root, bind, then run as NAME\n"
      "                               with NAME's groups (adm, postdrop...).\n"
      "  --version                    Print the version and exit.\n"
      "  --collector.NAME             Enable a collector (overrides the "
      "config).\n"
      "  --no-collector.NAME          Disable a collector.\n"
      "\n"
      "Collectors:\n";
  for (const auto& c : registry.all()) {
    std::string line = "  " + c.name;
    line.resize(16, ' ');
    s +=
        line + (c.default_enabled ? "[on]  " : "[off] ") + c.description + "\n";
  }
  s += "\nSignals: SIGHUP reloads the configuration; SIGTERM/SIGINT stop.\n";
  return s;
}

}  // namespace mailhealth
