// lion-tokenize: tokenizes text from stdin with the server's WordPiece
// tokenizer and prints one JSON object a line:
//   {"ids": [...], "tokens": [...], "offsets": [[start, end], ...]}
// (offsets are UTF-8 byte ranges), or {"error": "..."} for a rejected text.
//
// Usage: lion-tokenize --vocab=PATH [--lowercase=true|false]
//          [--max_length=N] [--truncation=none|right|left] [--no_special_tokens]
//          [--input=lines|json|whole] [--tokens=false]
//   lines: each line of stdin is a text (without its "\n");
//   json:  each line is a JSON string (so texts may hold newlines);
//   whole: all of stdin is one text.
// --tokens=false leaves "tokens" out (smaller output for large comparisons).
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "server/tokenizer/wordpiece_tokenizer.h"

namespace {

using lion::tokenizer::EncodeOptions;
using lion::tokenizer::Truncation;
using lion::tokenizer::WordPieceTokenizer;

struct Args {
  lion::tokenizer::TokenizerOptions tokenizer;
  EncodeOptions encode;
  std::string input = "lines";
  bool tokens = true;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string value(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
    if (name == "--vocab") {
      args->tokenizer.vocab_path = value;
    } else if (name == "--lowercase") {
      args->tokenizer.lowercase = value != "false" && value != "0";
    } else if (name == "--max_length") {
      args->encode.max_length = static_cast<uint32_t>(std::stoul(value));
    } else if (name == "--truncation" && (value == "none" || value == "right" || value == "left")) {
      args->encode.truncation = value == "none"    ? Truncation::kNone
                                : value == "right" ? Truncation::kRight
                                                   : Truncation::kLeft;
    } else if (name == "--tokens") {
      args->tokens = value != "false" && value != "0";
    } else if (name == "--no_special_tokens") {
      args->encode.add_special_tokens = false;
    } else if (name == "--input" && (value == "lines" || value == "json" || value == "whole")) {
      args->input = value;
    } else {
      std::cerr << "lion-tokenize: unknown or bad argument " << arg << "\n";
      return false;
    }
  }
  return true;
}

void PrintEncoding(const WordPieceTokenizer& tokenizer, std::string_view text, const Args& args) {
  auto encoding = tokenizer.Encode(text, args.encode);
  nlohmann::json out;
  if (!encoding.ok()) {
    out["error"] = std::string(encoding.status().message());
  } else {
    out["ids"] = encoding->ids;
    if (args.tokens) out["tokens"] = encoding->tokens;
    out["offsets"] = encoding->offsets;
  }
  std::cout << out.dump() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  auto tokenizer = WordPieceTokenizer::Create(args.tokenizer);
  if (!tokenizer.ok()) {
    std::cerr << "lion-tokenize: " << tokenizer.status() << "\n";
    return 1;
  }
  std::ios::sync_with_stdio(false);
  if (args.input == "whole") {
    const std::string text{std::istreambuf_iterator<char>(std::cin), {}};
    PrintEncoding(**tokenizer, text, args);
    return 0;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (args.input == "json") {
      const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_string()) {
        std::cerr << "lion-tokenize: input line is not a JSON string\n";
        return 1;
      }
      line = parsed.get<std::string>();
    }
    PrintEncoding(**tokenizer, line, args);
  }
  return 0;
}
