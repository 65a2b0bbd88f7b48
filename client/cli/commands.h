// lion-client's subcommands. Each prints its result on stdout (human-readable,
// or JSON with --json) and returns the call's status, whose code becomes the
// exit status.
#ifndef LION_CLIENT_CLI_COMMANDS_H_
#define LION_CLIENT_CLI_COMMANDS_H_

#include "absl/status/status.h"
#include "client/cli/cli_args.h"
#include "client/lion_client.h"

namespace lion::client::cli {

absl::Status RunModels(const Args& args, LionClient& client);
absl::Status RunClassify(const Args& args, LionClient& client);
absl::Status RunEmbed(const Args& args, LionClient& client);
// Embeds every line of --input over one EmbedStream; outputs in input order.
absl::Status RunEmbedStream(const Args& args, LionClient& client);
absl::Status RunFillMask(const Args& args, LionClient& client);
absl::Status RunTokenize(const Args& args, LionClient& client);
// UNAVAILABLE (with the serving status as message) unless SERVING.
absl::Status RunHealth(const Args& args, LionClient& client);
absl::Status RunBench(const Args& args, LionClient& client);

}  // namespace lion::client::cli

#endif  // LION_CLIENT_CLI_COMMANDS_H_
