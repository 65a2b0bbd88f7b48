// The fake lion.v1 server as a process, for the CLI tests
// (tests/python/test_client_cli_fake.py): prints its address on stdout and
// serves until its stdin closes.
//   fake_lion_server [DELAY_US [FAIL_EVERY]]
#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/client/fake_inference_server.h"

int main(int argc, char** argv) {
  lion::testing::FakeServerOptions options;
  const long delay_us = argc > 1 ? std::atol(argv[1]) : 0;
  options.delay = [delay_us](int64_t) { return std::chrono::microseconds(delay_us); };
  options.fail_every = argc > 2 ? std::atoi(argv[2]) : 0;
  auto server = lion::testing::FakeInferenceServer::Start(options);
  if (server == nullptr) return 1;
  std::cout << server->address() << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
  }
  return 0;
}
