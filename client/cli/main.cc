// lion-client: command-line client and load generator for lion-serve.
// `lion-client --help` lists the commands; the exit status is the gRPC code.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "client/cli/cli_args.h"
#include "client/cli/commands.h"
#include "client/cli/flags.h"

namespace lion::client::cli {
namespace {

using Runner = absl::Status (*)(const Args&, LionClient&);

Runner FindRunner(const std::string& command) {
  if (command == "models") return RunModels;
  if (command == "classify") return RunClassify;
  if (command == "embed") return RunEmbed;
  if (command == "embed-stream") return RunEmbedStream;
  if (command == "fill-mask") return RunFillMask;
  if (command == "tokenize") return RunTokenize;
  if (command == "health") return RunHealth;
  return RunBench;
}

// Reports a failed command on stderr (and as JSON on stdout with --json).
int Fail(const absl::Status& status, bool json) {
  const std::string code = absl::StatusCodeToString(status.code());
  std::cerr << "lion-client: " << code << ": " << status.message() << "\n";
  if (json) {
    std::cout << nlohmann::json{{"error",
                                 {{"code", static_cast<int>(status.code())},
                                  {"name", code},
                                  {"message", std::string(status.message())}}}}
                     .dump()
              << "\n";
  }
  return static_cast<int>(status.code());
}

int Main(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, Commands(), Flags());
  if (!args.ok()) {
    std::cerr << "lion-client: " << args.status().message() << "\n(see lion-client --help)\n";
    return kUsageExitCode;
  }
  if (args->help()) {
    std::cout << HelpText(args->command(), Commands(), Flags(), HelpEpilogue());
    return 0;
  }
  const bool json = args->GetBool("json");
  auto options = MakeClientOptions(*args);
  if (!options.ok()) return Fail(options.status(), json);
  auto client = LionClient::Create(*options);
  if (!client.ok()) return Fail(client.status(), json);
  const absl::Status status = FindRunner(args->command())(*args, **client);
  return status.ok() ? 0 : Fail(status, json);
}

}  // namespace
}  // namespace lion::client::cli

int main(int argc, char** argv) { return lion::client::cli::Main(argc, argv); }
