// libFuzzer target: the checkpoint reader of every reference model and of the corpus, on
// arbitrary bytes (the first byte picks the type): an object or ouro::data_error, nothing else;
// a model that loads must sample and score without crashing. Build and run: scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/mv_gaussian.hpp"
#include "ouroboros/models/ngram.hpp"
#include "ouroboros/models/vae.hpp"

namespace {
template <class M>
void exercise(std::string_view bytes) {
  try {
    const M m = ouro::from_checkpoint<M>(bytes, "fuzz");
    if constexpr (!std::is_same_v<M, ouro::text::corpus>) {
      ouro::default_rng g(1);
      const auto x = m.sample(2, g);
      (void)m.log_likelihood(x);
    }
  } catch (const ouro::data_error&) {
  }
}
}  // namespace

// tests/test_fuzz_regressions.cpp includes this file with another entry name and replays the
// corpus through it in the ordinary test run.
#ifndef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int OUROBOROS_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      exercise<ouro::models::gaussian>(bytes);
      break;
    case 1:
      exercise<ouro::models::mv_gaussian>(bytes);
      break;
    case 2:
      exercise<ouro::models::categorical>(bytes);
      break;
    case 3:
      exercise<ouro::models::gmm>(bytes);
      break;
    case 4:
      exercise<ouro::models::ngram_lm>(bytes);
      break;
    case 5:
      exercise<ouro::models::vae<float>>(bytes);
      break;
    default:
      exercise<ouro::text::corpus>(bytes);
      break;
  }
  return 0;
}
