// Turns bench settings into an IssueFn for RunLoad: each request is a fresh
// lion.v1 call on the generated async (callback) API, so one thread can keep
// many requests in flight. No retries: the bench reports what the server did.
#ifndef LION_CLIENT_BENCH_TARGET_H_
#define LION_CLIENT_BENCH_TARGET_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/lion_client.h"
#include "client/load_generator.h"
#include "client/text_source.h"

namespace lion::client {

struct BenchRequestOptions {
  std::string method = "embed";  // classify | embed | fill-mask | tokenize
  std::string model;
  v1::Form form = v1::FORM_AUTO;
  std::string image_bytes;            // classify/embed: send this encoded image instead of text
  std::string mask_token = "[MASK]";  // fill-mask: replaces one word of each text
};

// Returns an IssueFn that draws texts from `texts` (dispatcher thread only)
// and calls `client`. Both are borrowed and must outlive every request the
// IssueFn starts. Errors: INVALID_ARGUMENT for an unknown method, or an image
// with fill-mask/tokenize.
absl::StatusOr<IssueFn> MakeBenchIssuer(const BenchRequestOptions& options, LionClient* client,
                                        TextSource* texts);

}  // namespace lion::client

#endif  // LION_CLIENT_BENCH_TARGET_H_
