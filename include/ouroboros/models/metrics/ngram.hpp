// Metrics of n-gram language models and their training corpora. See docs/ngram.md#metrics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "ouroboros/core/concepts/metric.hpp"
#include "ouroboros/models/ngram.hpp"

namespace ouro::inline v0::metrics {

namespace detail {
/// Perplexity of every sentence of c under m: exp(-log p(sentence and its </s>) / (words + 1)).
inline std::vector<double> sentence_perplexities(const models::ngram_lm& m, const text::corpus& c) {
  std::vector<double> out(c.sentences());
  std::array<text::word_id, models::ngram_lm::max_order> ctx;
  for (std::size_t i = 0; i < c.sentences(); ++i) {
    const auto s = c.sentence(i);
    std::fill(ctx.begin(), ctx.end(), models::ngram_lm::bos);
    double ll = 0;
    for (std::size_t t = 0; t <= s.size(); ++t) {
      const text::word_id w = t < s.size() ? s[t] : models::ngram_lm::eos;
      ll += std::log(m.prob_ctx(ctx.data(), w));
      m.push(ctx, w);
    }
    out[i] = std::exp(-ll / static_cast<double>(s.size() + 1));
  }
  return out;
}
}  // namespace detail

/// Perplexity of a fixed corpus (all predicted tokens, <unk> and </s> included) under each
/// generation's model: `test_perplexity` for the original test split, `train_perplexity` for the
/// original training split (pass the label).
struct corpus_perplexity {
  text::corpus text;
  std::string label = "test_perplexity";
  std::string name() const { return label; }
  template <class S>
  double operator()(const generation_context<models::ngram_lm, S>& c) const {
    return c.model.evaluate(text).perplexity;
  }
};

/// Share of the generation-0 training vocabulary (the distinct words of the real training
/// corpus) that occurs in the generation's training corpus.
struct vocab_survival {
  std::string name() const { return "vocab_survival"; }
  template <class S>
  double operator()(const generation_context<models::ngram_lm, S>& c) const {
    const std::size_t V = c.model.vocab_size();
    std::vector<unsigned char> in_real(V, 0), in_now(V, 0);
    for (auto w : c.real.tokens) in_real[w] = 1;
    for (auto w : c.training.tokens) in_now[w] = 1;
    std::size_t real = 0, kept = 0;
    for (std::size_t w = 0; w < V; ++w) real += in_real[w], kept += in_real[w] && in_now[w];
    return real ? static_cast<double>(kept) / static_cast<double>(real) : 0.0;
  }
};

/// Number of distinct N-grams (N: the model's order) in the generation's training corpus, with
/// the sentence padding (a 3-gram "<s> <s> w" counts).
struct distinct_ngrams {
  std::string name() const { return "distinct_ngrams"; }
  template <class S>
  double operator()(const generation_context<models::ngram_lm, S>& c) const {
    return static_cast<double>(c.model.distinct(c.model.order()));
  }
};

/// Entropy in bits of the word frequencies of the generation's training corpus (</s> excluded).
struct unigram_entropy {
  std::string name() const { return "unigram_entropy"; }
  template <class S>
  double operator()(const generation_context<models::ngram_lm, S>& c) const {
    std::vector<double> n(c.model.vocab_size(), 0.0);
    for (auto w : c.training.tokens) n[w] += 1;
    const double total = static_cast<double>(c.training.tokens.size());
    double h = 0;
    for (double v : n)
      if (v > 0) h -= v / total * std::log2(v / total);
    return h;
  }
};

/// Share of the generation's training tokens that are words of the rarest half of the original
/// vocabulary (the words of the real training corpus ranked by their count there, rarest first,
/// ties by id; the markers and <unk> excluded). make() ranks them.
struct ngram_tail_mass {
  std::vector<unsigned char> rare;  // by word id
  static ngram_tail_mass make(const text::corpus& real, std::size_t vocab_size) {
    std::vector<std::size_t> count(vocab_size, 0);
    for (auto w : real.tokens) ++count[w];
    std::vector<text::word_id> words;
    for (text::word_id w = 3; w < vocab_size; ++w)
      if (count[w] > 0) words.push_back(w);
    std::stable_sort(words.begin(), words.end(),
                     [&](text::word_id a, text::word_id b) { return count[a] < count[b]; });
    ngram_tail_mass t;
    t.rare.assign(vocab_size, 0);
    for (std::size_t i = 0; i < words.size() / 2; ++i) t.rare[words[i]] = 1;
    return t;
  }
  std::string name() const { return "tail_mass"; }
  template <class S>
  double operator()(const generation_context<models::ngram_lm, S>& c) const {
    std::size_t n = 0;
    for (auto w : c.training.tokens) n += w < rare.size() && rare[w];
    const auto total = c.training.tokens.size();
    return total ? static_cast<double>(n) / static_cast<double>(total) : 0.0;
  }
};

/// Perplexity of each sentence of the generation's training corpus (generation 0: the real
/// text; later: the previous generation's output, plus the real part under regime mix) under the
/// generation-0 model: `generated_perplexity_mean` and `generated_perplexity_p95`. With a
/// collector, the per-sentence values of replicate 0 at chosen generations are also kept (for
/// the histograms of the paper's figure); the collector is shared and locked.
struct generated_perplexity {
  struct collector {
    std::vector<std::size_t> generations;  ///< which generations to keep (replicate 0)
    std::string run;                       ///< set by the caller before each run
    struct entry {
      std::string run;
      std::size_t generation;
      std::vector<double> perplexities;
    };
    std::vector<entry> kept;
    std::mutex lock;
  };
  std::shared_ptr<collector> keep;

  std::vector<std::string> names() const {
    return {"generated_perplexity_mean", "generated_perplexity_p95"};
  }
  template <class S>
  std::vector<double> operator()(const generation_context<models::ngram_lm, S>& c) const {
    auto p = detail::sentence_perplexities(c.first_model, c.training);
    if (p.empty()) return {0.0, 0.0};
    double mean = 0;
    for (double v : p) mean += v / static_cast<double>(p.size());
    if (keep && c.replicate == 0 &&
        std::find(keep->generations.begin(), keep->generations.end(), c.generation) !=
            keep->generations.end()) {
      std::lock_guard<std::mutex> g(keep->lock);
      keep->kept.push_back({keep->run, c.generation, p});
    }
    const auto at = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(p.size()))) - 1;
    std::nth_element(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(at), p.end());
    return {mean, p[at]};
  }
};

}  // namespace ouro::inline v0::metrics
