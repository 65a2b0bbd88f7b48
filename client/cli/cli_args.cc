#include "client/cli/cli_args.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lion::client::cli {
namespace {

bool Takes(const FlagSpec& f, const std::string& command) {
  return f.commands.empty() ||
         std::find(f.commands.begin(), f.commands.end(), command) != f.commands.end();
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, const std::string& name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

const std::string& Args::Get(const std::string& name) const {
  static const std::string kEmpty;
  const auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

bool Args::GetBool(const std::string& name) const {
  const std::string& v = Get(name);
  return v == "true" || v == "1" || v == "yes";
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& name) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(Get(name), &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected an integer, got '", Get(name), "'"));
  }
  return v;
}

absl::StatusOr<double> Args::GetDouble(const std::string& name) const {
  double v = 0;
  if (!absl::SimpleAtod(Get(name), &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a number, got '", Get(name), "'"));
  }
  return v;
}

absl::StatusOr<std::vector<int64_t>> Args::GetIntList(const std::string& name) const {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(Get(name), ',', absl::SkipWhitespace())) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(part, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": '", part, "' is not an integer"));
    }
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<Args> ParseArgs(int argc, const char* const* argv,
                               const std::vector<CommandSpec>& commands,
                               const std::vector<FlagSpec>& flags) {
  Args args;
  std::vector<std::string> rest(argv + 1, argv + argc);
  size_t i = 0;
  if (i < rest.size() && rest[i].rfind("-", 0) != 0) args.command_ = rest[i++];
  if (args.command_ == "help") {
    args.help_ = true;
    args.command_ = i < rest.size() ? rest[i++] : "";
  }
  const bool known = std::any_of(commands.begin(), commands.end(),
                                 [&](const CommandSpec& c) { return c.name == args.command_; });
  if (!args.command_.empty() && !known) {
    return absl::InvalidArgumentError(absl::StrCat("unknown command '", args.command_, "'"));
  }
  for (const FlagSpec& f : flags) {
    if (Takes(f, args.command_)) args.values_[f.name] = f.default_value;
  }
  for (; i < rest.size(); ++i) {
    const std::string& arg = rest[i];
    if (arg == "--help" || arg == "-h") {
      args.help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const FlagSpec* f = FindFlag(flags, name);
    if (f == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!Takes(*f, args.command_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " does not apply to '", args.command_, "'"));
    }
    if (eq != std::string::npos) {
      args.values_[name] = arg.substr(eq + 1);
    } else if (f->is_bool) {
      args.values_[name] = "true";
    } else if (i + 1 < rest.size()) {
      args.values_[name] = rest[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
  }
  if (args.command_.empty() && !args.help_) return absl::InvalidArgumentError("no command given");
  return args;
}

std::string HelpText(const std::string& command, const std::vector<CommandSpec>& commands,
                     const std::vector<FlagSpec>& flags, const std::string& epilogue) {
  std::string out;
  if (command.empty()) {
    out = "usage: lion-client <command> [flags]\n\ncommands:\n";
    for (const CommandSpec& c : commands)
      absl::StrAppend(&out, "  ", c.name,
                      std::string(12 - std::min<size_t>(11, c.name.size()), ' '), c.summary, "\n");
    out += "\n`lion-client help <command>` lists a command's flags.\n\ncommon flags:\n";
  } else {
    for (const CommandSpec& c : commands) {
      if (c.name == command)
        absl::StrAppend(&out, "usage: lion-client ", c.name, " [flags]\n", c.summary,
                        "\n\nflags:\n");
    }
  }
  for (const FlagSpec& f : flags) {
    if (command.empty() ? !f.commands.empty() : !Takes(f, command)) continue;
    std::string left = absl::StrCat("  --", f.name, f.is_bool ? "" : "=VALUE");
    left.resize(std::max<size_t>(left.size() + 1, 28), ' ');
    absl::StrAppend(&out, left, f.help);
    if (!f.default_value.empty() && (!f.is_bool || f.default_value == "true"))
      absl::StrAppend(&out, " (default ", f.default_value, ")");
    out += "\n";
  }
  return out + "\n" + epilogue;
}

}  // namespace lion::client::cli
