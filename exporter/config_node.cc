#include "exporter/config_node.h"

#include <cmath>
#include <limits>

namespace mailhealth {

std::string ConfigErrors::Joined() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out += '\n';
    out += e;
  }
  return out;
}

ConfigNode::ConfigNode(YAML::Node node, std::string path, std::string file,
                       ConfigErrors* errors)
    : ConfigNode(std::move(node), std::move(path), std::move(file), errors,
                 false) {}

ConfigNode::ConfigNode(YAML::Node node, std::string path, std::string file,
                       ConfigErrors* errors, bool scalar)
    : node_(std::move(node)),
      path_(std::move(path)),
      file_(std::move(file)),
      errors_(errors) {
  if (scalar) {
    valid_map_ = false;
  } else if (present() && !node_.IsMap()) {
    valid_map_ = false;
    Error("", "expected a mapping");
  }
}

bool ConfigNode::Has(const std::string& key) const {
  if (!present() || !valid_map_) return false;
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) return true;
  }
  return false;
}

bool ConfigNode::IsSequence(const std::string& key) const {
  if (!present() || !valid_map_) return false;
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) return kv.second.IsSequence();
  }
  return false;
}

std::string ConfigNode::KeyPath(const std::string& key) const {
  if (key.empty()) return path_;
  if (path_.empty()) return key;
  return path_ + "." + key;
}

int ConfigNode::Line(const std::string& key) const {
  if (!key.empty() && present() && valid_map_) {
    for (const auto& kv : node_) {
      if (kv.first.Scalar() == key) return kv.first.Mark().line + 1;
    }
  }
  if (node_.IsDefined() && node_.Mark().line >= 0) return node_.Mark().line + 1;
  return 0;
}

std::string ConfigNode::Located(const std::string& key,
                                const std::string& message) {
  int line = Line(key);
  std::string prefix = file_;
  if (line > 0) prefix.append(":").append(std::to_string(line));
  std::string p = KeyPath(key);
  return prefix + ": " + (p.empty() ? "" : p + ": ") + message;
}

void ConfigNode::Error(const std::string& key, const std::string& message) {
  errors_->Add(Located(key, message));
}

void ConfigNode::Warning(const std::string& key, const std::string& message) {
  errors_->AddWarning(Located(key, message));
}

std::optional<YAML::Node> ConfigNode::Get(const std::string& key) {
  known_.insert(key);
  if (!present() || !valid_map_) return std::nullopt;
  for (const auto& kv : node_) {
    if (kv.first.Scalar() == key) {
      if (kv.second.IsNull()) return std::nullopt;  // "key:" with no value
      return kv.second;
    }
  }
  return std::nullopt;
}

std::string ConfigNode::String(const std::string& key, const std::string& def) {
  auto n = Get(key);
  if (!n) return def;
  if (!n->IsScalar()) {
    Error(key, "expected a string");
    return def;
  }
  return n->Scalar();
}

std::string ConfigNode::AbsolutePath(const std::string& key,
                                     const std::string& def, bool allow_empty) {
  std::string v = String(key, def);
  if (allow_empty && v.empty()) return v;
  if (v.empty() || v[0] != '/') {
    Error(key, std::string(allow_empty ? "must be empty or an absolute path"
                                       : "must be an absolute path") +
                   ", got \"" + v + "\"");
  }
  return v;
}

bool ConfigNode::Bool(const std::string& key, bool def) {
  auto n = Get(key);
  if (!n) return def;
  const std::string s = n->IsScalar() ? n->Scalar() : "";
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  Error(key, "expected true or false, got \"" + s + "\"");
  return def;
}

int64_t ConfigNode::Int(const std::string& key, int64_t def, int64_t min,
                        int64_t max) {
  auto n = Get(key);
  if (!n) return def;
  const std::string s = n->IsScalar() ? n->Scalar() : "";
  size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (...) {
    pos = 0;
  }
  if (s.empty() || pos != s.size()) {
    Error(key, "expected an integer, got \"" + s + "\"");
    return def;
  }
  if (v < min || v > max) {
    Error(key, "must be between " + std::to_string(min) + " and " +
                   std::to_string(max) + ", got " + s);
    return def;
  }
  return v;
}

double ConfigNode::Double(const std::string& key, double def, double min,
                          double max) {
  auto n = Get(key);
  if (!n) return def;
  const std::string s = n->IsScalar() ? n->Scalar() : "";
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    pos = 0;
  }
  if (s.empty() || pos != s.size() || !std::isfinite(v)) {
    Error(key, "expected a number, got \"" + s + "\"");
    return def;
  }
  if (v < min || v > max) {
    Error(key, "out of range, got " + s);
    return def;
  }
  return v;
}

Millis ConfigNode::Duration(const std::string& key, Millis def) {
  auto n = Get(key);
  if (!n) return def;
  const std::string s = n->IsScalar() ? n->Scalar() : "";
  auto d = ParseDuration(s);
  if (!d) {
    Error(key, "invalid duration \"" + s +
                   "\" (use a Prometheus duration such as 500ms, 30s, 5m)");
    return def;
  }
  return *d;
}

std::vector<std::string> ConfigNode::StringList(
    const std::string& key, const std::vector<std::string>& def) {
  auto n = Get(key);
  if (!n) return def;
  if (!n->IsSequence()) {
    Error(key, "expected a list of strings");
    return def;
  }
  std::vector<std::string> out;
  for (const auto& e : *n) {
    if (!e.IsScalar()) {
      Error(key, "expected a list of strings");
      return def;
    }
    out.push_back(e.Scalar());
  }
  return out;
}

std::string ConfigNode::Enum(const std::string& key, const std::string& def,
                             const std::vector<std::string>& allowed) {
  std::string v = String(key, def);
  for (const auto& a : allowed) {
    if (a == v) return v;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  Error(key, "invalid value \"" + v + "\" (one of: " + list + ")");
  return def;
}

std::map<std::string, std::vector<std::string>> ConfigNode::StringListMap(
    const std::string& key) {
  std::map<std::string, std::vector<std::string>> out;
  auto n = Get(key);
  if (!n) return out;
  if (!n->IsMap()) {
    Error(key, "expected a mapping of name to list of strings");
    return out;
  }
  for (const auto& kv : *n) {
    std::vector<std::string> v;
    if (kv.second.IsScalar()) {
      v.push_back(kv.second.Scalar());
    } else if (kv.second.IsSequence()) {
      for (const auto& e : kv.second) {
        if (!e.IsScalar()) {
          Error(key,
                "expected a list of strings for \"" + kv.first.Scalar() + "\"");
          break;
        }
        v.push_back(e.Scalar());
      }
    } else {
      Error(key,
            "expected a list of strings for \"" + kv.first.Scalar() + "\"");
    }
    out[kv.first.Scalar()] = std::move(v);
  }
  return out;
}

ConfigNode ConfigNode::Child(const std::string& key) {
  auto n = Get(key);
  return ConfigNode(n ? *n : YAML::Node(YAML::NodeType::Undefined),
                    KeyPath(key), file_, errors_);
}

std::vector<ConfigNode> ConfigNode::List(const std::string& key,
                                         bool allow_scalars) {
  std::vector<ConfigNode> out;
  auto n = Get(key);
  if (!n) return out;
  if (!n->IsSequence()) {
    Error(key, "expected a list");
    return out;
  }
  size_t i = 0;
  for (const auto& e : *n) {
    std::string p = KeyPath(key) + "[" + std::to_string(i++) + "]";
    const YAML::Node elem = e;
    if (e.IsScalar() && allow_scalars) {
      out.push_back(ConfigNode(elem, p, file_, errors_, /*scalar=*/true));
    } else if (!e.IsMap()) {
      ConfigNode(elem, p, file_, errors_, /*scalar=*/true)
          .Error("", "expected a mapping");
    } else {
      out.emplace_back(elem, p, file_, errors_);
    }
  }
  return out;
}

std::string ConfigNode::Scalar() const {
  return node_.IsScalar() ? node_.Scalar() : std::string();
}

std::vector<std::string> ConfigNode::Keys() {
  std::vector<std::string> out;
  if (!present() || !valid_map_) return out;
  for (const auto& kv : node_) {
    out.push_back(kv.first.Scalar());
    known_.insert(kv.first.Scalar());
  }
  return out;
}

void ConfigNode::Finish() {
  if (!present() || !valid_map_) return;
  for (const auto& kv : node_) {
    const std::string k = kv.first.Scalar();
    if (!known_.count(k)) {
      errors_->Add(file_ + ":" + std::to_string(kv.first.Mark().line + 1) +
                   ": " + (path_.empty() ? "" : path_ + ": ") +
                   "unknown key \"" + k + "\"");
    }
  }
}

Result<YAML::Node> ParseYamlDocument(const std::string& yaml,
                                     const std::string& file) {
  try {
    return YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::Error(file + ":" + std::to_string(e.mark.line + 1) +
                         ": invalid YAML: " + e.msg);
  }
}

}  // namespace mailhealth
