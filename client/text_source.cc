#include "client/text_source.h"

#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lion::client {
namespace {

constexpr const char* kWords[] = {
    "the",      "of",         "and",        "to",        "in",
    "is",       "was",        "for",        "on",        "as",
    "with",     "by",         "he",         "at",        "from",
    "his",      "it",         "an",         "were",      "are",
    "which",    "this",       "also",       "be",        "has",
    "or",       "had",        "first",      "one",       "their",
    "its",      "new",        "after",      "who",       "they",
    "two",      "her",        "she",        "been",      "other",
    "when",     "time",       "all",        "during",    "there",
    "into",     "school",     "more",       "may",       "years",
    "over",     "only",       "year",       "most",      "would",
    "world",    "city",       "some",       "where",     "between",
    "later",    "three",      "state",      "such",      "then",
    "national", "used",       "made",       "known",     "under",
    "many",     "university", "united",     "while",     "part",
    "season",   "team",       "these",      "american",  "than",
    "film",     "second",     "born",       "south",     "became",
    "states",   "war",        "through",    "being",     "including",
    "both",     "before",     "north",      "high",      "however",
    "people",   "family",     "early",      "history",   "album",
    "area",     "them",       "series",     "against",   "until",
    "since",    "district",   "county",     "name",      "work",
    "life",     "group",      "music",      "following", "number",
    "company",  "several",    "four",       "called",    "played",
    "released", "career",     "league",     "game",      "government",
    "house",    "each",       "based",      "day",       "same",
    "won",      "use",        "station",    "club",      "international",
    "town",     "located",    "population", "general",   "college",
    "east",     "found",      "age",        "march",     "end",
    "river",    "book",       "show",       "west",      "long",
};
constexpr int kNumWords = sizeof(kWords) / sizeof(kWords[0]);

absl::StatusOr<std::pair<int, int>> ParseRange(const std::vector<absl::string_view>& parts,
                                               absl::string_view spec) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("--length: expected fixed:N, uniform:A:B or file:PATH, got '", spec, "'"));
  };
  int lo = 0, hi = 0;
  if (parts[0] == "fixed" && parts.size() == 2 && absl::SimpleAtoi(parts[1], &lo)) {
    hi = lo;
  } else if (!(parts[0] == "uniform" && parts.size() == 3 && absl::SimpleAtoi(parts[1], &lo) &&
               absl::SimpleAtoi(parts[2], &hi))) {
    return bad();
  }
  if (lo < 1 || hi < lo) return bad();
  return std::make_pair(lo, hi);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TextSource>> TextSource::Create(absl::string_view spec,
                                                               uint64_t seed) {
  if (spec.substr(0, 5) == "file:") {
    const std::string path(spec.substr(5));
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("--length: cannot open '", path, "'"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(std::move(line));
    }
    if (lines.empty())
      return absl::InvalidArgumentError(absl::StrCat("--length: '", path, "' has no text"));
    return std::unique_ptr<TextSource>(new TextSource(0, 0, std::move(lines), seed));
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  auto range = ParseRange(parts, spec);
  if (!range.ok()) return range.status();
  return std::unique_ptr<TextSource>(new TextSource(range->first, range->second, {}, seed));
}

std::string TextSource::Next() {
  if (!lines_.empty()) {
    return lines_[std::uniform_int_distribution<size_t>(0, lines_.size() - 1)(rng_)];
  }
  return MakeText(std::uniform_int_distribution<int>(min_words_, max_words_)(rng_), rng_);
}

std::string TextSource::MakeText(int words, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pick(0, kNumWords - 1);
  std::string text;
  for (int i = 0; i < words; ++i) {
    if (i > 0) text += ' ';
    text += kWords[pick(rng)];
  }
  return text;
}

}  // namespace lion::client
