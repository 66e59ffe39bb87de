// Benchmark: the n-gram model on the Brown corpus (scripts/fetch_data.sh brown DIR). Times
// training a 3-gram and a 5-gram on the 800,000-token training split, sampling as many tokens
// with the 3-gram (ancestral), and scoring the test split; each the best of --repeat runs. Prints
// one JSON line.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>

#include "ouroboros/models/corpus.hpp"
#include "ouroboros/models/ngram.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bench_ngram: training, sampling and scoring times of the n-gram model"};
  std::string data = "data/brown";
  std::size_t repeat = 3;
  app.add_option("--data", data, "Folder with brown.train.txt and brown.test.txt");
  app.add_option("--repeat", repeat, "Runs of each step; the fastest is reported")
      ->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  using namespace ouro;
  using clock = std::chrono::steady_clock;
  const auto best_of = [&](auto&& f) {
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < repeat; ++r) {
      const auto t0 = clock::now();
      f();
      best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count());
    }
    return best;
  };
  try {
    const auto train_s = text::read_sentences(data + "/brown.train.txt");
    const auto test_s = text::read_sentences(data + "/brown.test.txt");
    const auto vocab = text::vocabulary::build(train_s, 4);
    const auto train = vocab.encode(train_s);
    const auto test = vocab.encode(test_s);
    nlohmann::json out{{"train_words", train.token_count()}, {"vocabulary", vocab.size()}};
    models::ngram_lm m3;
    for (std::size_t order : {3, 5}) {
      models::ngram_fitter fit;
      fit.order = order;
      fit.vocab_size = vocab.size();
      event_log log;
      models::ngram_lm m;
      out[fmt::format("train_{}gram_seconds", order)] = best_of([&] { m = fit.fit(train, log); });
      if (order == 3) m3 = m;
    }
    std::size_t tokens = 0;
    const double sample_s = best_of([&] {
      default_rng g(1);
      text::corpus c;
      std::vector<text::word_id> s;
      while (c.token_count() < train.token_count()) {
        m3.sample_sentence(g, s);
        c.add_sentence(s);
      }
      tokens = c.token_count() + c.sentences();  // words and </s>
    });
    out["sample_tokens"] = tokens;
    out["sample_seconds"] = sample_s;
    out["sample_tokens_per_second"] = static_cast<double>(tokens) / sample_s;
    models::ngram_score sc;
    const double score_s = best_of([&] { sc = m3.evaluate(test); });
    out["score_tokens"] = sc.tokens;
    out["score_seconds"] = score_s;
    out["score_tokens_per_second"] = static_cast<double>(sc.tokens) / score_s;
    out["test_perplexity_3gram"] = sc.perplexity;
    fmt::print("{}\n", out.dump());
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_ngram: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
