// HTTP vs gRPC on the same load (BENCHMARKS.md section 6): closed-loop
// clients, each with its own keep-alive connection (HTTP) or sharing one
// channel (gRPC, multiplexed), send the same embed request for a fixed time
// at each concurrency. The fronts alternate in ROUNDS rounds (gRPC, HTTP,
// gRPC, HTTP, ...) so that both see the same machine state, and the best
// round of each is reported (the machine is shared: slow rounds are other
// work). Bounded in time; loopback only.
//   front_bench GRPC_ADDR HTTP_PORT MODEL WORDS SECONDS ROUNDS CONCURRENCY...
// Prints one line per concurrency: requests/s of each front, errors.
#include <grpcpp/create_channel.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "lion/v1/lion.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Text(int words) {
  static const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat", "while", "dogs", "ran"};
  std::string text;
  for (int i = 0; i < words; ++i) {
    if (i > 0) text += ' ';
    text += kWords[(i * 7) % 9];
  }
  return text;
}

struct Result {
  double per_second = 0;
  long errors = 0;
};

// Runs `call` (returns success) from `threads` threads for `seconds`.
template <typename MakeCall>
Result Run(int threads, double seconds, MakeCall make_call) {
  std::atomic<long> ok{0}, errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      auto call = make_call();
      while (Clock::now() < end) (call() ? ok : errors)++;
    });
  }
  for (auto& th : pool) th.join();
  return {static_cast<double>(ok.load()) / seconds, errors.load()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr,
                 "usage: %s GRPC_ADDR HTTP_PORT MODEL WORDS SECONDS ROUNDS CONCURRENCY...\n",
                 argv[0]);
    return 2;
  }
  const std::string grpc_address = argv[1];
  const int http_port = std::atoi(argv[2]);
  const std::string model = argv[3];
  const std::string text = Text(std::atoi(argv[4]));
  const double seconds = std::atof(argv[5]);
  const int rounds = std::atoi(argv[6]);
  auto channel = grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials());
  auto stub = lion::v1::Inference::NewStub(channel);
  lion::v1::EmbedRequest grpc_request;
  grpc_request.set_model(model);
  grpc_request.set_text(text);
  grpc_request.set_normalize(true);
  const std::string http_body = "{\"model\":\"" + model + "\",\"inputs\":\"" + text + "\"}";

  auto grpc_embed = [&] {
    return [&] {
      grpc::ClientContext ctx;
      lion::v1::EmbedResponse response;
      return stub->Embed(&ctx, grpc_request, &response).ok() && response.embedding_size() > 0;
    };
  };
  auto http_call = [&](bool embed) {
    return [&, embed] {
      auto client = std::make_shared<httplib::Client>("127.0.0.1", http_port);
      client->set_keep_alive(true);
      client->set_tcp_nodelay(true);
      client->set_read_timeout(std::chrono::seconds(60));
      return [client, embed, &http_body] {
        auto r = embed ? client->Post("/embed", http_body, "application/json")
                       : client->Get("/v2/health/live");
        if (r && r->status == 200) return true;
        // What went wrong, once: an HTTP status and body, or the transport error.
        static std::atomic<bool> told{false};
        if (!told.exchange(true)) {
          std::fprintf(stderr, "http error: %s\n",
                       r ? (std::to_string(r->status) + " " + r->body).c_str()
                         : httplib::to_string(r.error()).c_str());
        }
        return false;
      };
    };
  };
  auto best = [](Result a, const Result& b) {
    a.errors += b.errors;
    a.per_second = std::max(a.per_second, b.per_second);
    return a;
  };
  for (int i = 7; i < argc; ++i) {
    const int c = std::atoi(argv[i]);
    Result g, h, live;
    for (int r = 0; r < rounds; ++r) {
      g = best(g, Run(c, seconds, grpc_embed));
      h = best(h, Run(c, seconds, http_call(true)));
      live = best(live, Run(c, seconds, http_call(false)));
    }
    std::printf(
        "concurrency %d: grpc Embed %.1f req/s (%ld errors), http /embed %.1f req/s (%ld errors), "
        "ratio http/grpc %.2f; http /v2/health/live %.0f req/s (%ld errors)\n",
        c, g.per_second, g.errors, h.per_second, h.errors,
        g.per_second > 0 ? h.per_second / g.per_second : 0.0, live.per_second, live.errors);
    std::fflush(stdout);
  }
  return 0;
}
