// "128,512,2048" -> {128, 512, 2048}: the length and batch lists the benches
// take from flags and the environment (bench/run_all passes them).
#ifndef LION_BENCH_INT_LIST_H_
#define LION_BENCH_INT_LIST_H_

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace lion::bench {

inline std::vector<int64_t> ParseIntList(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(std::atoll(item.c_str()));
  }
  return out;
}

}  // namespace lion::bench

#endif  // LION_BENCH_INT_LIST_H_
