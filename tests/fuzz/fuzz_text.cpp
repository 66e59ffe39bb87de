// libFuzzer target: the text-corpus reader on arbitrary bytes, then the vocabulary, the encoding
// and a trigram model fitted to whatever parsed (every probability finite, sampling terminates).
// Build and run: scripts/fuzz.sh.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ouroboros/models/corpus.hpp"
#include "ouroboros/models/ngram.hpp"

// tests/test_fuzz_regressions.cpp includes this file with another entry name and replays the
// corpus through it in the ordinary test run.
#ifndef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

extern "C" int OUROBOROS_FUZZ_ENTRY(const std::uint8_t* data, std::size_t size) {
  ouro::text::sentences s;
  try {
    s = ouro::text::parse_sentences(std::string_view(reinterpret_cast<const char*>(data), size),
                                    "fuzz");
  } catch (const ouro::data_error&) {
    return 0;
  }
  const auto v = ouro::text::vocabulary::build(s, 1);
  const auto c = v.encode(s);
  ouro::models::ngram_fitter f;
  f.order = 3;
  f.vocab_size = v.size();
  f.max_sentence_length = 50;
  ouro::event_log log;
  const auto m = f.fit(c, log);
  const auto score = m.evaluate(c);
  if (!std::isfinite(score.perplexity)) __builtin_trap();
  ouro::default_rng g(1);
  const auto out = m.sample(3, g);
  if (out.sentences() != 3) __builtin_trap();
  return 0;
}
