// Command line and environment -> ServerOptions. Every flag --name=value (or
// --name value; booleans also bare --name) has the environment variable
// LION_<NAME> (upper case); a flag wins over its variable, which wins over the
// default. Thread-compatible pure functions.
#ifndef LION_SERVER_CONFIG_FLAGS_H_
#define LION_SERVER_CONFIG_FLAGS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/server_options.h"

namespace lion::config {

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (getenv).
EnvLookup ProcessEnv();

struct ParsedCommandLine {
  ServerOptions options;
  bool help = false;  // --help / -h was given: print HelpText() and exit 0
};

// args excludes argv[0]. Errors: INVALID_ARGUMENT naming the flag (or the
// variable) and the expected value: unknown flags, bad numbers, positional
// arguments. Does not call Validate().
absl::StatusOr<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                                    const EnvLookup& env);

// Usage text listing every flag, its variable, default and meaning.
std::string HelpText(const std::string& program);

}  // namespace lion::config

#endif  // LION_SERVER_CONFIG_FLAGS_H_
