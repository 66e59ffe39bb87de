// libFuzzer target: the VAE model-file reader (the checkpoint of a trained generation) on
// arbitrary bytes: a model or ouro::data_error, nothing else. Build and run: scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "ouroboros/models/vae.hpp"

// tests/test_fuzz_regressions.cpp includes this file with another entry name and replays the
// corpus through it in the ordinary test run.
#ifndef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int OUROBOROS_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto m = ouro::models::vae<float>::load(in, "fuzz");
    if (m.params().count() == 0) __builtin_trap();
  } catch (const ouro::data_error&) {
  }
  return 0;
}
