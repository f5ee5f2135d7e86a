// ConfigNode: typed, error-collecting access to one YAML mapping.
//
// Every getter records the key as "known"; Finish() then reports each key of
// the mapping that no getter asked for as `unknown key "x"`. Errors never
// throw: they are appended to the shared ConfigErrors with the file, the
// 1-based line and the dotted path of the key, e.g.
//
//   deploy/x.yml:4: collectors.log: unknown key "pathh"
//   deploy/x.yml:6: collectors.queue.interval: invalid duration "30x"
//
// and the getter returns the default, so one load reports every error.
// Not thread-safe; used only while a config is being loaded.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exporter/duration.h"
#include "exporter/status.h"

namespace mailhealth {

class ConfigErrors {
 public:
  void Add(std::string e) { errors_.push_back(std::move(e)); }
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& list() const { return errors_; }
  std::string Joined() const;  // one error per line, no trailing newline
  // Warnings do not fail the load (--config.check prints them and exits 0):
  // a config that is valid but cannot do what it was switched on for.
  void AddWarning(std::string w) { warnings_.push_back(std::move(w)); }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

class ConfigNode {
 public:
  // `node` may be undefined/null (a missing section): every getter then
  // returns its default. `path` is the dotted path of this node
  // ("collectors.log"); `file` is the name printed in errors.
  ConfigNode(YAML::Node node, std::string path, std::string file,
             ConfigErrors* errors);

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  ConfigErrors* errors() const { return errors_; }
  bool present() const { return node_.IsDefined() && !node_.IsNull(); }
  bool Has(const std::string& key) const;
  // Whether `key` holds a sequence (for a key that is a word or a list,
  // e.g. the queue collector's `instances: auto | [DIR...]`). Not a getter:
  // the key still needs one.
  bool IsSequence(const std::string& key) const;

  std::string String(const std::string& key, const std::string& def);
  // A string that must be an absolute path ("must be an absolute path, got
  // \"x\""); with `allow_empty`, "" is accepted too (meaning "not set").
  std::string AbsolutePath(const std::string& key, const std::string& def,
                           bool allow_empty = false);
  bool Bool(const std::string& key, bool def);
  int64_t Int(const std::string& key, int64_t def, int64_t min, int64_t max);
  double Double(const std::string& key, double def, double min, double max);
  Millis Duration(const std::string& key, Millis def);
  std::vector<std::string> StringList(const std::string& key,
                                      const std::vector<std::string>& def);
  // A string that must be one of `allowed`.
  std::string Enum(const std::string& key, const std::string& def,
                   const std::vector<std::string>& allowed);
  // A mapping of string -> list of strings (e.g. expect_addresses).
  std::map<std::string, std::vector<std::string>> StringListMap(
      const std::string& key);

  // Child mapping (a missing key gives an absent node).
  ConfigNode Child(const std::string& key);
  // Sequence of mappings ("rules: [ {name: .., regex: ..} ]"). Each element
  // gets the path "key[i]". Scalars in the list are reported as errors
  // unless `allow_scalars` (then the element node is the scalar itself;
  // use Scalar() on it).
  std::vector<ConfigNode> List(const std::string& key,
                               bool allow_scalars = false);
  // For a ConfigNode that wraps a scalar (from List with allow_scalars).
  bool IsScalar() const { return node_.IsScalar(); }
  std::string Scalar() const;
  // All keys of this mapping, in file order (for maps keyed by user names).
  std::vector<std::string> Keys();

  // Records an error at `key` (or at this node if key is empty).
  void Error(const std::string& key, const std::string& message);
  // The same `file:line: path: message` form, as a warning.
  void Warning(const std::string& key, const std::string& message);
  // Reports keys no getter asked for. Call once, after all getters.
  void Finish();
  // The 1-based line of `key` (or of this node), 0 when unknown.
  int Line(const std::string& key = "") const;

 private:
  ConfigNode(YAML::Node node, std::string path, std::string file,
             ConfigErrors* errors, bool scalar);
  std::optional<YAML::Node> Get(const std::string& key);
  std::string KeyPath(const std::string& key) const;
  std::string Located(const std::string& key, const std::string& message);

  YAML::Node node_;
  std::string path_;
  std::string file_;
  ConfigErrors* errors_;
  std::set<std::string> known_;
  bool valid_map_ = true;
};

// Parses one YAML document; a syntax error reads "FILE:LINE: invalid YAML:
// MESSAGE" (the config file and the web config file say it the same way).
Result<YAML::Node> ParseYamlDocument(const std::string& yaml,
                                     const std::string& file);

}  // namespace mailhealth
