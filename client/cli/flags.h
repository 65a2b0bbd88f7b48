// lion-client's commands and flags, and their conversion into client options
// and request fields.
#ifndef LION_CLIENT_CLI_FLAGS_H_
#define LION_CLIENT_CLI_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cli/cli_args.h"
#include "client/client_options.h"
#include "lion/v1/lion.pb.h"

namespace lion::client::cli {

// Exit status for a command line that could not be parsed (sysexits' EX_USAGE);
// every other exit status is a gRPC status code.
inline constexpr int kUsageExitCode = 64;

const std::vector<CommandSpec>& Commands();
const std::vector<FlagSpec>& Flags();
// The end of every --help text: exit codes and examples.
const std::string& HelpEpilogue();

// --address, --deadline_ms, --tls*, --api_key(_file), --retries.
absl::StatusOr<ClientOptions> MakeClientOptions(const Args& args);
// --form auto|full|chunk|rnn.
absl::StatusOr<v1::Form> ParseForm(const std::string& form);
// --truncation none|right|left.
absl::StatusOr<v1::Truncation> ParseTruncation(const std::string& truncation);
// A whole file's bytes (images, API key files).
absl::StatusOr<std::string> ReadFile(const std::string& path);
// The non-empty lines of a text file ("-" = stdin), without line endings.
absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path);

}  // namespace lion::client::cli

#endif  // LION_CLIENT_CLI_FLAGS_H_
