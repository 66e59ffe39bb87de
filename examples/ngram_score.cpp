// ngram_score: trains an n-gram model on one text file and prints one JSON line scoring another,
// so that the model can be compared with other language-model toolkits. See docs/ngram.md.
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/example_support.hpp"
#include "ouroboros/models/corpus.hpp"
#include "ouroboros/models/ngram.hpp"

int run_program(int argc, char** argv) {
  CLI::App app{
      "Trains an n-gram language model on --train (one sentence per line, tokens separated by "
      "spaces) and prints one JSON line for --test: order, tokens (predicted tokens: words and one "
      "</s> per sentence), oov (tokens not in the vocabulary, scored as <unk>), perplexity (all "
      "tokens) and perplexity_excluding_oov. The vocabulary is the training words seen at least "
      "--min-count times, plus <s>, </s> and <unk>.",
      "ngram_score"};
  std::string train_file, test_file, smoothing = "mkn";
  std::size_t order = 3, min_count = 4;
  app.add_option("--train", train_file, "Training text")
      ->required()
      ->check(examples::non_empty("FILE"));
  app.add_option("--test", test_file, "Text to score")
      ->required()
      ->check(examples::non_empty("FILE"));
  app.add_option("--order", order, "N of the n-gram model")
      ->check(examples::whole({1, ouro::models::ngram_lm::max_order}))
      ->capture_default_str();
  app.add_option("--min-count", min_count, "Minimum count of a vocabulary word")
      ->check(examples::whole({1, 1000000}))
      ->capture_default_str();
  app.add_option("--smoothing", smoothing,
                 "mkn (interpolated modified Kneser-Ney), kn, mle or add_k (k = 1)")
      ->check(CLI::IsMember({"mkn", "kn", "mle", "add_k"}))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  try {
    const auto train_text = ouro::text::read_sentences(train_file);
    const auto test_text = ouro::text::read_sentences(test_file);
    const auto vocab = ouro::text::vocabulary::build(train_text, min_count);
    ouro::models::ngram_fitter fit;
    fit.order = order;
    fit.vocab_size = vocab.size();
    fit.smoothing = smoothing == "kn"      ? ouro::models::ngram_smoothing::kneser_ney
                    : smoothing == "mle"   ? ouro::models::ngram_smoothing::mle
                    : smoothing == "add_k" ? ouro::models::ngram_smoothing::add_k
                                           : ouro::models::ngram_smoothing::modified_kneser_ney;
    ouro::event_log log;
    const auto model = fit.fit(vocab.encode(train_text), log);
    for (const auto& e : log.entries())
      fmt::print(stderr, "ngram_score: note: {}: {}\n", e.what, e.action);
    const auto s = model.evaluate(vocab.encode(test_text));
    const nlohmann::json j{{"order", order},
                           {"smoothing", smoothing},
                           {"vocabulary", vocab.size()},
                           {"tokens", s.tokens},
                           {"oov", s.oov},
                           {"perplexity", s.perplexity},
                           {"perplexity_excluding_oov", s.perplexity_excluding_oov}};
    fmt::print("{}\n", j.dump());
  } catch (const std::exception& e) {
    fmt::print(stderr, "ngram_score: error: {}\n", e.what());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main("ngram_score", [&] { return run_program(argc, argv); });
}
