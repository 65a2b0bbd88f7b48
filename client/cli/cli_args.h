// A small command-line parser for `lion-client <command> [--flag[=value] ...]`.
// Every flag is declared once (name, default, help, which commands take it),
// so parsing, validation and --help come from the same table.
#ifndef LION_CLIENT_CLI_CLI_ARGS_H_
#define LION_CLIENT_CLI_CLI_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace lion::client::cli {

struct FlagSpec {
  std::string name;           // without the leading --
  std::string default_value;  // "" = unset
  std::string help;
  std::vector<std::string> commands;  // empty = every command
  bool is_bool = false;               // --name means true; --name=false also works
};

struct CommandSpec {
  std::string name;
  std::string summary;
};

// The parsed command line. Copyable.
class Args {
 public:
  const std::string& command() const { return command_; }
  bool help() const { return help_; }
  // The flag's value, or its default. Only declared flags may be asked for.
  const std::string& Get(const std::string& name) const;
  bool Has(const std::string& name) const { return !Get(name).empty(); }
  bool GetBool(const std::string& name) const;
  absl::StatusOr<int64_t> GetInt(const std::string& name) const;
  absl::StatusOr<double> GetDouble(const std::string& name) const;
  // A comma-separated list of integers ("1,8,64").
  absl::StatusOr<std::vector<int64_t>> GetIntList(const std::string& name) const;

 private:
  friend absl::StatusOr<Args> ParseArgs(int argc, const char* const* argv,
                                        const std::vector<CommandSpec>& commands,
                                        const std::vector<FlagSpec>& flags);
  std::string command_;
  bool help_ = false;
  std::map<std::string, std::string> values_;  // every declared flag, defaults filled in
};

// Errors: INVALID_ARGUMENT naming the unknown command or flag, a flag given to
// a command that does not take it, or a missing value. `--help`/`-h` (or the
// command `help`) sets help() instead of failing on a missing command.
absl::StatusOr<Args> ParseArgs(int argc, const char* const* argv,
                               const std::vector<CommandSpec>& commands,
                               const std::vector<FlagSpec>& flags);

// The --help text: overall when `command` is empty, else for that command.
std::string HelpText(const std::string& command, const std::vector<CommandSpec>& commands,
                     const std::vector<FlagSpec>& flags, const std::string& epilogue);

}  // namespace lion::client::cli

#endif  // LION_CLIENT_CLI_CLI_ARGS_H_
