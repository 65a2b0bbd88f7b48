// `lion-client bench`: runs one load level per --concurrency value (or one
// open-loop level at --rate) and prints a table, or JSON for plotting.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/bench_target.h"
#include "client/cli/commands.h"
#include "client/cli/flags.h"
#include "client/load_generator.h"
#include "server/common/status_macros.h"

namespace lion::client::cli {
namespace {

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

nlohmann::json ReportJson(const LoadReport& r) {
  nlohmann::json codes = nlohmann::json::object();
  for (const auto& [code, n] : r.codes) codes[CodeName(code)] = n;
  const LatencyStats& l = r.latency_us;
  return {
      {"mode", r.mode},
      {"level", r.level},
      {"sent", r.sent},
      {"completed", r.completed},
      {"skipped", r.skipped},
      {"elapsed_s", r.elapsed_s},
      {"throughput_rps", r.throughput},
      {"ok_throughput_rps", r.ok_throughput},
      {"latency_ms",
       {{"mean", l.Mean() / 1e3},
        {"min", l.Min() / 1e3},
        {"p50", l.Percentile(0.50) / 1e3},
        {"p90", l.Percentile(0.90) / 1e3},
        {"p95", l.Percentile(0.95) / 1e3},
        {"p99", l.Percentile(0.99) / 1e3},
        {"max", l.Max() / 1e3}}},
      {"codes", codes},
      {"server_us",
       {{"responses", r.usage_count},
        {"queue", r.avg_queue_us},
        {"compute", r.avg_compute_us},
        {"total", r.avg_total_us}}},
  };
}

void PrintTable(const std::vector<LoadReport>& reports) {
  std::cout << absl::StrFormat("%-12s %7s %7s %7s %9s %8s %8s %8s %8s %10s %10s %10s  %s\n",
                               "level", "sent", "errors", "skipped", "req/s", "p50 ms", "p90 ms",
                               "p95 ms", "p99 ms", "queue ms", "compute ms", "server ms", "codes");
  for (const LoadReport& r : reports) {
    const LatencyStats& l = r.latency_us;
    const int64_t ok = r.codes.count(0) ? r.codes.at(0) : 0;
    std::vector<std::string> codes;
    for (const auto& [code, n] : r.codes) codes.push_back(absl::StrCat(CodeName(code), "=", n));
    const std::string level = r.mode == "rate" ? absl::StrFormat("rate=%g", r.level)
                                               : absl::StrFormat("conc=%g", r.level);
    std::cout << absl::StrFormat(
        "%-12s %7d %7d %7d %9.1f %8.2f %8.2f %8.2f %8.2f %10.2f %10.2f %10.2f  %s\n", level, r.sent,
        r.completed - ok, r.skipped, r.throughput, l.Percentile(0.5) / 1e3, l.Percentile(0.9) / 1e3,
        l.Percentile(0.95) / 1e3, l.Percentile(0.99) / 1e3, r.avg_queue_us / 1e3,
        r.avg_compute_us / 1e3, r.avg_total_us / 1e3, absl::StrJoin(codes, " "));
  }
}

absl::StatusOr<LoadOptions> BaseLoadOptions(const Args& args) {
  LoadOptions o;
  ASSIGN_OR_RETURN(const double duration_s, args.GetDouble("duration_s"));
  ASSIGN_OR_RETURN(const double warmup_s, args.GetDouble("warmup_s"));
  ASSIGN_OR_RETURN(o.requests, args.GetInt("requests"));
  ASSIGN_OR_RETURN(const int64_t max_in_flight, args.GetInt("max_in_flight"));
  o.max_in_flight = static_cast<int>(max_in_flight);
  o.duration = std::chrono::milliseconds(static_cast<int64_t>(duration_s * 1000));
  o.warmup = std::chrono::milliseconds(static_cast<int64_t>(warmup_s * 1000));
  if (args.GetBool("progress")) {
    o.on_progress = [](const LoadProgress& p) {
      std::cerr << absl::StrFormat(
          "[bench] %6.1fs %s sent=%d done=%d errors=%d in_flight=%d rate=%.1f/s\n", p.elapsed_s,
          p.warming_up ? "warm-up" : "measure", p.sent, p.completed, p.errors, p.in_flight,
          p.recent_rate);
    };
  }
  return o;
}

}  // namespace

absl::Status RunBench(const Args& args, LionClient& client) {
  if (args.Has("concurrency") == args.Has("rate")) {
    return absl::InvalidArgumentError("bench: give exactly one of --concurrency or --rate");
  }
  ASSIGN_OR_RETURN(LoadOptions base, BaseLoadOptions(args));
  BenchRequestOptions request;
  request.method = args.Get("method");
  request.model = args.Get("model");
  ASSIGN_OR_RETURN(request.form, ParseForm(args.Get("form")));
  if (args.Has("image")) {
    ASSIGN_OR_RETURN(request.image_bytes, ReadFile(args.Get("image")));
  }
  ASSIGN_OR_RETURN(const int64_t seed, args.GetInt("seed"));
  ASSIGN_OR_RETURN(auto texts, TextSource::Create(args.Get("length"), static_cast<uint64_t>(seed)));
  ASSIGN_OR_RETURN(const IssueFn issue, MakeBenchIssuer(request, &client, texts.get()));

  std::vector<LoadOptions> levels;
  if (args.Has("rate")) {
    ASSIGN_OR_RETURN(base.rate, args.GetDouble("rate"));
    levels.push_back(base);
  } else {
    ASSIGN_OR_RETURN(const std::vector<int64_t> sweep, args.GetIntList("concurrency"));
    for (int64_t c : sweep) {
      levels.push_back(base);
      levels.back().concurrency = static_cast<int>(c);
    }
  }
  std::vector<LoadReport> reports;
  for (const LoadOptions& level : levels) {
    RETURN_IF_ERROR(level.Validate());
    if (args.GetBool("progress")) {
      std::cerr << "[bench] "
                << (level.rate > 0 ? absl::StrFormat("rate %g req/s", level.rate)
                                   : absl::StrFormat("concurrency %d", level.concurrency))
                << " against " << client.options().address << "\n";
    }
    ASSIGN_OR_RETURN(LoadReport report, RunLoad(level, issue));
    reports.push_back(std::move(report));
  }
  if (args.GetBool("json")) {
    nlohmann::json out = {{"address", client.options().address},
                          {"method", request.method},
                          {"model", request.model},
                          {"length", args.Get("length")},
                          {"results", nlohmann::json::array()}};
    for (const LoadReport& r : reports) out["results"].push_back(ReportJson(r));
    std::cout << out.dump(2) << "\n";
  } else {
    PrintTable(reports);
  }
  return absl::OkStatus();
}

}  // namespace lion::client::cli
