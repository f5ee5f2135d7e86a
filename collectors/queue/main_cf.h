// The queue directory read from main.cf itself, where that needs no postconf.
//
// mailhealth-spool-stat must walk only Postfix's queue directory, which is
// what `postconf -h queue_directory` prints. Starting postconf costs about
// 10 ms of CPU (it loads and relocates a dozen shared libraries), as much
// as walking 5,000 queue files. On almost every host main.cf either does
// not set queue_directory (the compiled-in default applies) or sets it to
// a plain absolute path, and then the answer can be read from main.cf by
// postconf(5)'s own rules. Anything less plain is left to postconf.
#ifndef MAILHEALTH_COLLECTORS_QUEUE_MAIN_CF_H_
#define MAILHEALTH_COLLECTORS_QUEUE_MAIN_CF_H_

#include <optional>
#include <string>
#include <string_view>

namespace mailhealth {

// The queue_directory that the main.cf text MAIN_CF gives, by postconf(5):
// a logical line starts with non-whitespace and continues over the lines
// that start with whitespace; blank lines and lines whose first
// non-whitespace character is '#' are ignored; the last assignment wins.
//   - No logical line assigns queue_directory: COMPILED_DEFAULT.
//   - The last assignment is `queue_directory = /plain/absolute/path` on one
//     line (letters, digits, '/', '.', '_', '-', '+' only): that path.
//   - Otherwise (a $expansion, a continued value, a relative path, a line
//     whose name part names queue_directory in any other form, a NUL byte):
//     nullopt, meaning "ask postconf".
std::optional<std::string> LiteralQueueDirectory(
    std::string_view main_cf, std::string_view compiled_default);

}  // namespace mailhealth

#endif  // MAILHEALTH_COLLECTORS_QUEUE_MAIN_CF_H_
