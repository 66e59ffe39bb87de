// libFuzzer target: the IDX reader (plain and gzip) on arbitrary bytes. Every input must either
// parse or be refused with ouro::data_error; anything else (a crash, another exception, a
// sanitizer finding) is a bug. Build and run: scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ouroboros/models/idx.hpp"

// tests/test_fuzz_regressions.cpp includes this file with another entry name and replays the
// corpus through it in the ordinary test run.
#ifndef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int OUROBOROS_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  try {
    const auto a = ouro::io::parse_idx(std::vector<std::uint8_t>(data, data + size), "fuzz",
                                       std::size_t{1} << 22);
    std::size_t n = 1;
    for (auto d : a.dims) n *= d;
    if (n != a.data.size()) __builtin_trap();  // parse_idx promises dims and data agree
  } catch (const ouro::data_error&) {
  }
  return 0;
}
