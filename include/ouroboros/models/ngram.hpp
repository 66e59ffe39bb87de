// N-gram language model: interpolated modified Kneser-Ney smoothing (Chen & Goodman 1998), plain
// interpolated Kneser-Ney, maximum likelihood and add-k, over a fixed vocabulary of word ids
// (text/corpus.hpp). Counts of every order live in a forward trie of sorted arrays of word ids,
// so a lookup is a few binary searches and sampling a token costs O(N log V), never a pass over
// the vocabulary. The fitter is ngram_fitter; decoding (temperature, top-k, top-p, beam search,
// prompts) is in models/ngram_decode.hpp. See docs/ngram.md.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/corpus.hpp"

namespace ouro::inline v0::models {

/// How the counts become probabilities.
enum class ngram_smoothing {
  modified_kneser_ney,  ///< interpolated, three discounts per order (the default)
  kneser_ney,           ///< interpolated, one discount per order
  mle,                  ///< relative frequency at the longest seen context (zero for unseen words)
  add_k                 ///< (c + k) / (c(h) + k V') at the longest seen context
};

inline const char* to_string(ngram_smoothing s) {
  switch (s) {
    case ngram_smoothing::modified_kneser_ney:
      return "modified_kneser_ney";
    case ngram_smoothing::kneser_ney:
      return "kneser_ney";
    case ngram_smoothing::mle:
      return "mle";
    case ngram_smoothing::add_k:
      return "add_k";
  }
  return "?";
}

/// The discounts of one order: D1, D2 and D3+ (all equal for plain Kneser-Ney), the
/// count-of-counts they came from, and whether the fixed fallback was used.
struct ngram_discounts {
  double d1 = 0, d2 = 0, d3 = 0;
  std::array<std::size_t, 4> n{};  ///< n1..n4: entries of count exactly 1, 2, 3, 4
  bool fallback = false;
};

/// Perplexity of a corpus. Predicted tokens are the words and one `</s>` per sentence (`<s>` is
/// context only); OOV tokens are those mapped to `<unk>`.
struct ngram_score {
  double log_likelihood = 0;  ///< natural log, all predicted tokens
  std::size_t tokens = 0;     ///< predicted tokens (words + one </s> per sentence)
  std::size_t oov = 0;        ///< predicted tokens that are <unk>
  double perplexity = 0;      ///< exp(-log_likelihood / tokens)
  double log_likelihood_excluding_oov = 0;
  double perplexity_excluding_oov = 0;  ///< over the tokens that are not <unk>
};

class ngram_lm {
 public:
  using dataset_type = text::corpus;
  using word_id = text::word_id;
  static constexpr word_id bos = text::vocabulary::bos, eos = text::vocabulary::eos,
                           unk = text::vocabulary::unk;
  static constexpr std::size_t max_order = 16;

  ngram_lm() = default;

  std::size_t order() const noexcept { return order_; }
  /// V: the vocabulary's size, markers included.
  std::size_t vocab_size() const noexcept { return vocab_; }
  ngram_smoothing smoothing() const noexcept { return smoothing_; }
  /// The discounts of order k (1..N); meaningful for the Kneser-Ney smoothings.
  const ngram_discounts& discounts(std::size_t k) const { return discounts_.at(k - 1); }
  /// Number of distinct k-grams seen as predictions in the training corpus (k = 1..N; with the
  /// start padding, so a 3-gram "<s> <s> w" counts).
  std::size_t distinct(std::size_t k) const { return distinct_.at(k - 1); }
  /// Tokens predicted in training (words + </s>).
  std::size_t training_tokens() const noexcept { return training_tokens_; }
  /// Sentences longer than this many words are cut when sampling (a collapsed model can loop).
  std::size_t max_sentence_length = 1000;

  /// p(w | history): history holds the sentence's preceding tokens, most recent last, without
  /// `<s>` (fewer than N - 1 are padded with `<s>`). p(<s>) = 0.
  double prob(std::span<const word_id> history, word_id w) const {
    std::array<word_id, max_order> ctx;
    fill_context(history, ctx);
    return prob_ctx(ctx.data(), w);
  }

  /// log p of every predicted token of the corpus, summed, with perplexities.
  ngram_score evaluate(const text::corpus& c) const {
    ngram_score s;
    std::array<word_id, max_order> ctx;
    for (std::size_t i = 0; i < c.sentences(); ++i) {
      const auto sent = c.sentence(i);
      std::fill(ctx.begin(), ctx.end(), bos);
      for (std::size_t t = 0; t <= sent.size(); ++t) {
        const word_id w = t < sent.size() ? sent[t] : eos;
        check_word(w);
        const double lp = std::log(prob_ctx(ctx.data(), w));
        s.log_likelihood += lp;
        ++s.tokens;
        if (w == unk)
          ++s.oov;
        else
          s.log_likelihood_excluding_oov += lp;
        push(ctx, w);
      }
    }
    const auto ppl = [](double ll, std::size_t n) {
      return n ? std::exp(-ll / static_cast<double>(n)) : std::numeric_limits<double>::quiet_NaN();
    };
    s.perplexity = ppl(s.log_likelihood, s.tokens);
    s.perplexity_excluding_oov = ppl(s.log_likelihood_excluding_oov, s.tokens - s.oov);
    return s;
  }

  /// Total log-likelihood of the corpus (Distribution concept).
  double log_likelihood(const text::corpus& c) const { return evaluate(c).log_likelihood; }

  /// n sentences drawn ancestrally (Distribution concept).
  template <Rng G>
  text::corpus sample(std::size_t n, G& g) const {
    text::corpus c;
    std::vector<word_id> s;
    for (std::size_t i = 0; i < n; ++i) {
      sample_sentence(g, s);
      c.add_sentence(s);
    }
    return c;
  }

  /// One sentence (its words, without markers) drawn ancestrally after `prompt` (the sentence's
  /// first words, kept in `out`), until `</s>` or max_sentence_length words.
  template <Rng G>
  void sample_sentence(G& g, std::vector<word_id>& out,
                       std::span<const word_id> prompt = {}) const {
    out.assign(prompt.begin(), prompt.end());
    std::array<word_id, max_order> ctx;
    fill_context(out, ctx);
    while (out.size() < max_sentence_length) {
      const word_id w = sample_next(ctx.data(), g);
      if (w == eos) break;
      out.push_back(w);
      push(ctx, w);
    }
  }

  /// One token drawn from p(. | context window): ctx holds the last N - 1 tokens, oldest first
  /// (as fill_context writes them). O(N log V).
  template <Rng G>
  word_id sample_next(const word_id* ctx, G& g) const {
    for (std::size_t k = order_; k >= 1; --k) {
      const std::size_t node = fitted_context(ctx, k);
      if (node == npos) continue;
      const level& up = levels_[k - 1];
      const double denom = up.denom[node];
      const level& lv = levels_[k];
      const std::size_t b = up.child[node], e = up.child[node + 1];
      const double u = uniform01(g) * denom;
      if (b < e && u < lv.cum[e - 1]) {
        // the first child whose cumulative weight exceeds u
        const auto it = std::upper_bound(lv.cum.begin() + static_cast<std::ptrdiff_t>(b),
                                         lv.cum.begin() + static_cast<std::ptrdiff_t>(e), u);
        return lv.word[static_cast<std::size_t>(it - lv.cum.begin())];
      }
      if (smoothing_ == ngram_smoothing::add_k) break;  // the rest of the mass is uniform
      if (smoothing_ == ngram_smoothing::mle) break;    // rounding only: treat as uniform
    }
    return static_cast<word_id>(1 + uniform_index(g, vocab_ - 1));  // uniform over all but <s>
  }

  /// p(w | context window) for every w of the vocabulary, into p (size V). One pass per order.
  void distribution(const word_id* ctx, std::vector<double>& p) const {
    p.assign(vocab_, 1.0 / static_cast<double>(vocab_ - 1));
    p[bos] = 0;
    for (std::size_t k = 1; k <= order_; ++k) {
      const std::size_t node = fitted_context(ctx, k);
      if (node == npos) continue;
      const level& up = levels_[k - 1];
      const double denom = up.denom[node];
      const double lw = up.lower[node];
      const level& lv = levels_[k];
      if (smoothing_ == ngram_smoothing::add_k) {
        for (std::size_t w = 1; w < vocab_; ++w) p[w] = lw / static_cast<double>(vocab_ - 1);
      } else {
        for (auto& v : p) v *= lw;
      }
      double prev = 0;
      for (std::size_t i = up.child[node]; i < up.child[node + 1]; ++i) {
        p[lv.word[i]] += (lv.cum[i] - prev) / denom;
        prev = lv.cum[i];
      }
    }
  }

  /// Writes the last N - 1 tokens of `history` (padded with <s>) into ctx, oldest first.
  void fill_context(std::span<const word_id> history, std::array<word_id, max_order>& ctx) const {
    std::fill(ctx.begin(), ctx.end(), bos);
    if (order_ <= 1) return;
    const std::size_t m = order_ - 1, h = history.size();
    for (std::size_t i = 0; i < m && i < h; ++i) ctx[m - 1 - i] = history[h - 1 - i];
  }
  /// Shifts w into a context window.
  void push(std::array<word_id, max_order>& ctx, word_id w) const {
    if (order_ <= 1) return;
    for (std::size_t i = 0; i + 2 < order_; ++i) ctx[i] = ctx[i + 1];
    ctx[order_ - 2] = w;
  }

  /// p(w | context window ctx).
  double prob_ctx(const word_id* ctx, word_id w) const {
    if (w == bos) return 0.0;
    const double uniform = 1.0 / static_cast<double>(vocab_ - 1);
    double p = uniform;
    for (std::size_t k = 1; k <= order_; ++k) {
      const std::size_t node = fitted_context(ctx, k);
      if (node == npos) continue;
      const level& up = levels_[k - 1];
      const double denom = up.denom[node];
      const level& lv = levels_[k];
      const std::size_t b = up.child[node], e = up.child[node + 1];
      const std::size_t i = find_word(lv, b, e, w);
      const double weight = i == npos ? 0.0 : entry_weight(lv, i, b);
      const double lower = smoothing_ == ngram_smoothing::add_k ? uniform : p;
      p = weight / denom + up.lower[node] * lower;
    }
    return p;
  }

 private:
  friend struct ngram_fitter;
  friend class ngram_generator;
  friend struct ouro::checkpoint_traits<ngram_lm>;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // levels_[k] holds the k-grams (k = 0: the empty context, one entry), sorted by (prefix, last
  // word); the children (k+1-grams extending an entry) of entry e are child[e] .. child[e+1]-1
  // of levels_[k+1]. As a context, an entry has a denominator and a weight for the lower order:
  // p_k(w | h) = weight(hw) / denom(h) + lower(h) * p_{k-1}(w | h') (add-k: * uniform).
  struct level {
    std::vector<word_id> word;
    std::vector<double> cum;               // cumulative weights within the parent's range
    std::vector<std::uint32_t> child;      // size() + 1 offsets (levels below N)
    std::vector<double> denom, lower;      // as contexts (levels below N)
    std::vector<std::uint32_t> by_weight;  // each parent's children, heaviest first (levels >= 2)
  };

  static std::size_t find_word(const level& lv, std::size_t b, std::size_t e, word_id w) {
    const auto first = lv.word.begin() + static_cast<std::ptrdiff_t>(b);
    const auto last = lv.word.begin() + static_cast<std::ptrdiff_t>(e);
    const auto it = std::lower_bound(first, last, w);
    return it != last && *it == w ? static_cast<std::size_t>(it - lv.word.begin()) : npos;
  }

  /// The entry of levels_[k - 1] for the last k - 1 tokens of the window, or npos.
  std::size_t find_context(const word_id* ctx, std::size_t k) const {
    if (k == 1) return 0;
    // level 1 holds every word in id order: the first word's entry is its id
    std::size_t node = ctx[order_ - k];
    for (std::size_t j = order_ - k + 1; j + 1 < order_; ++j) {
      const std::size_t depth = j - (order_ - k) + 1;
      const level& up = levels_[depth - 1];
      node = find_word(levels_[depth], up.child[node], up.child[node + 1], ctx[j]);
      if (node == npos) return npos;
    }
    return node;
  }

  /// The context entry for order k (the last k - 1 tokens of the window) if that order has a
  /// fitted distribution there (seen as a context: denominator > 0), or npos.
  std::size_t fitted_context(const word_id* ctx, std::size_t k) const {
    const std::size_t node = find_context(ctx, k);
    return node != npos && levels_[k - 1].denom[node] > 0 ? node : npos;
  }

  /// The weight of entry i of a level whose parent's range starts at `first` (the cumulative
  /// weights restart at each parent).
  static double entry_weight(const level& lv, std::size_t i, std::size_t first) {
    return lv.cum[i] - (i > first ? lv.cum[i - 1] : 0.0);
  }

  void check_word(word_id w) const {
    if (w >= vocab_)
      throw std::invalid_argument(fmt::format(
          "ouro::models::ngram_lm: word id {} is outside the vocabulary of {} words", w, vocab_));
  }

  std::size_t order_ = 0, vocab_ = 0, training_tokens_ = 0;
  ngram_smoothing smoothing_ = ngram_smoothing::modified_kneser_ney;
  std::vector<level> levels_;
  std::vector<ngram_discounts> discounts_;
  std::vector<std::size_t> distinct_;
  std::vector<word_id> unigram_order_;  // all words but <s>, by unigram weight, most first
};

/// Fits an ngram_lm to a corpus of word ids < vocab_size (the vocabulary stays fixed across
/// generations). An empty corpus gives the uniform model and an event; count-of-counts that make
/// the modified Kneser-Ney discounts undefined (as on collapsed corpora) give the fixed discounts
/// 0.5, 1.0, 1.5 (plain Kneser-Ney: 0.75) and an event.
struct ngram_fitter {
  using model_type = ngram_lm;
  using dataset_type = text::corpus;

  std::size_t order = 3;
  std::size_t vocab_size = 0;  ///< V, markers included (text::vocabulary::size())
  ngram_smoothing smoothing = ngram_smoothing::modified_kneser_ney;
  double add_k = 1.0;  ///< k of add_k
  std::size_t max_sentence_length = 1000;

  template <Rng G>
  ngram_lm fit(const text::corpus& c, G&, event_log& log) const {
    return fit(c, log);
  }

  ngram_lm fit(const text::corpus& c, event_log& log) const;
};

/// The former name of ngram_fitter.
using ngram_fit [[deprecated("ouro::models::ngram_fit is now ngram_fitter")]] = ngram_fitter;

}  // namespace ouro::inline v0::models

#include "ouroboros/models/detail/ngram_impl.hpp"

namespace ouro::inline v0 {
/// Every array of the trie and the smoothing's settings, exactly.
template <>
struct checkpoint_traits<models::ngram_lm> {
  static void save(const models::ngram_lm& m, io::binary_writer& w) {
    w.put_tag("ngram");
    w.put_u64(m.order_);
    w.put_u64(m.vocab_);
    w.put_u64(m.training_tokens_);
    w.put_u64(static_cast<std::uint64_t>(m.smoothing_));
    w.put_u64(m.max_sentence_length);
    for (const auto& lv : m.levels_) {
      w.put_vector(lv.word);
      w.put_vector(lv.cum);
      w.put_vector(lv.child);
      w.put_vector(lv.denom);
      w.put_vector(lv.lower);
      w.put_vector(lv.by_weight);
    }
    for (const auto& d : m.discounts_) {
      w.put_f64(d.d1), w.put_f64(d.d2), w.put_f64(d.d3);
      for (auto n : d.n) w.put_u64(n);
      w.put_u64(d.fallback);
    }
    std::vector<std::uint64_t> distinct(m.distinct_.begin(), m.distinct_.end());
    w.put_vector(distinct);
    w.put_vector(m.unigram_order_);
  }
  static models::ngram_lm load(io::binary_reader& r) {
    r.expect_tag("ngram");
    models::ngram_lm m;
    m.order_ = r.get_size("order", models::ngram_lm::max_order);
    m.vocab_ = r.get_size("vocabulary size", std::numeric_limits<text::word_id>::max());
    m.training_tokens_ = r.get_u64("training tokens");
    m.smoothing_ = static_cast<models::ngram_smoothing>(r.get_size("smoothing", 3));
    m.max_sentence_length = r.get_size("maximum sentence length", std::uint64_t{1} << 20);
    if (m.order_ == 0 || m.vocab_ < 3) r.fail("an n-gram model needs order >= 1 and 3 words");
    m.levels_.resize(m.order_ + 1);
    for (std::size_t k = 0; k <= m.order_; ++k) {
      auto& lv = m.levels_[k];
      lv.word = r.get_vector<text::word_id>("words");
      lv.cum = r.get_vector<double>("weights");
      lv.child = r.get_vector<std::uint32_t>("children");
      lv.denom = r.get_vector<double>("denominators");
      lv.lower = r.get_vector<double>("lower-order weights");
      lv.by_weight = r.get_vector<std::uint32_t>("order by weight");
    }
    m.discounts_.resize(m.order_);
    for (auto& d : m.discounts_) {
      d.d1 = r.get_f64("D1"), d.d2 = r.get_f64("D2"), d.d3 = r.get_f64("D3");
      for (auto& n : d.n) n = r.get_u64("count of counts");
      d.fallback = r.get_u64("fallback") != 0;
    }
    const auto distinct = r.get_vector<std::uint64_t>("distinct n-grams");
    m.distinct_.assign(distinct.begin(), distinct.end());
    m.unigram_order_ = r.get_vector<text::word_id>("unigram order");
    check(m, r);
    return m;
  }

 private:
  // the structure every lookup relies on: ranges nest, ids are in the vocabulary
  static void check(const models::ngram_lm& m, io::binary_reader& r) {
    const auto& L = m.levels_;
    if (L[0].word.size() != 1 || L[1].word.size() != m.vocab_) r.fail("malformed trie roots");
    if (m.distinct_.size() != m.order_ || m.unigram_order_.size() != m.vocab_ - 1)
      r.fail("malformed n-gram statistics");
    for (auto w : m.unigram_order_)
      if (w == 0 || w >= m.vocab_) r.fail("a word id outside the vocabulary");
    for (std::size_t k = 0; k <= m.order_; ++k) {
      const auto& lv = L[k];
      const std::size_t n = lv.word.size();
      if (k >= 1 && lv.cum.size() != n) r.fail("weights do not match the words");
      for (auto w : lv.word)
        if (w >= m.vocab_) r.fail("a word id outside the vocabulary");
      if (k < m.order_) {
        if (lv.child.size() != n + 1 || lv.denom.size() != n || lv.lower.size() != n)
          r.fail("malformed trie level");
        if (lv.child.front() != 0 || lv.child.back() != L[k + 1].word.size())
          r.fail("children do not span the next level");
        for (std::size_t i = 0; i < n; ++i) {
          if (lv.child[i] > lv.child[i + 1]) r.fail("children ranges decrease");
          if (!std::isfinite(lv.denom[i]) || !std::isfinite(lv.lower[i]))
            r.fail("non-finite weight");
        }
      }
      if (k >= 2) {  // each parent's children, permuted within the parent's range
        if (lv.by_weight.size() != n) r.fail("malformed order by weight");
        const auto& up = L[k - 1];
        for (std::size_t p = 0; p + 1 < up.child.size(); ++p)
          for (std::size_t i = up.child[p]; i < up.child[p + 1]; ++i)
            if (lv.by_weight[i] < up.child[p] || lv.by_weight[i] >= up.child[p + 1])
              r.fail("order by weight leaves its context");
      }
      for (double c : lv.cum)
        if (!std::isfinite(c)) r.fail("non-finite weight");
    }
  }
};
}  // namespace ouro::inline v0
