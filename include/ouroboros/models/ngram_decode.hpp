// Decoding for ngram_lm: ancestral sampling with temperature, top-k and top-p (nucleus), greedy
// and beam search with a repetition penalty, sentences or continuations of a prompt. See
// docs/ngram.md#decoding.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/models/ngram.hpp"

namespace ouro::inline v0::models {

/// How tokens are chosen. The defaults are plain ancestral sampling, which costs O(N log V) per
/// token; temperature != 1, top_k or top_p < 1 need the whole next-token distribution (O(N V) per
/// token); beam search (beams >= 1; 1 is greedy) keeps the `beams` best partial sequences by log
/// probability, with candidates found exactly from the context's seen continuations and the
/// unigram order (not a pass over the vocabulary).
struct ngram_decoding {
  enum class method { sample, beam };
  method how = method::sample;
  double temperature = 1.0;         ///< p^(1/T), renormalised (sampling)
  std::size_t top_k = 0;            ///< keep the k most likely words; 0 = all (sampling)
  double top_p = 1.0;               ///< keep the smallest set of most likely words of mass >= top_p
  std::size_t beams = 5;            ///< beam width (beam search; the paper used 5)
  double repetition_penalty = 1.0;  ///< >= 1: log p of a word already in the sequence times this

  void validate() const {
    if (!(temperature > 0) || !std::isfinite(temperature))
      throw std::invalid_argument(
          fmt::format("ngram_decoding: temperature {} must be positive and finite", temperature));
    if (!(top_p > 0 && top_p <= 1))
      throw std::invalid_argument(fmt::format("ngram_decoding: top_p {} is outside (0, 1]", top_p));
    if (how == method::beam && beams == 0)
      throw std::invalid_argument("ngram_decoding: beams must be at least 1");
    if (!(repetition_penalty >= 1) || !std::isfinite(repetition_penalty))
      throw std::invalid_argument(fmt::format(
          "ngram_decoding: repetition_penalty {} must be >= 1 and finite", repetition_penalty));
  }
  bool plain_sampling() const { return temperature == 1.0 && top_k == 0 && top_p >= 1.0; }
};

/// Generates text from an ngram_lm with an ngram_decoding. Holds scratch buffers: one per thread.
class ngram_generator {
 public:
  using word_id = text::word_id;

  ngram_generator(const ngram_lm& m, ngram_decoding d) : m_(&m), d_(d) { d_.validate(); }

  /// Words the ordered search may read for one token before it gives up for a pass over the
  /// vocabulary (a flat distribution). Results do not depend on it beyond the order of ties.
  std::size_t read_budget = 1024;

  /// The next token after context window ctx (sampling methods; `seq` is the sequence so far,
  /// for the repetition penalty).
  template <Rng G>
  word_id next(const word_id* ctx, std::span<const word_id> seq, G& g) {
    const bool penalise = d_.repetition_penalty != 1.0;
    if (d_.plain_sampling() && !penalise) return m_->sample_next(ctx, g);
    if (d_.temperature != 1.0) return next_dense(ctx, seq, g);
    // temperature 1: the words in decreasing order of (penalised) probability, read only as far
    // as needed (the normaliser is known: only the sentence's own words change weight); a flat
    // distribution that needs more than sparse_budget words goes to the dense path
    double Z = 1.0;
    if (penalise) {
      distinct_.assign(seq.begin(), seq.end());
      std::sort(distinct_.begin(), distinct_.end());
      distinct_.erase(std::unique(distinct_.begin(), distinct_.end()), distinct_.end());
      for (word_id w : distinct_) {
        const double p = m_->prob_ctx(ctx, w);
        if (p > 0) Z += std::pow(p, d_.repetition_penalty) - p;
      }
    }
    const double u = uniform01(g);
    enum_begin(ctx, seq);
    double a = 0, acc = 0;
    word_id w = ngram_lm::eos;
    kept_.clear();
    const bool whole = d_.top_k == 0 && d_.top_p >= 1.0;
    while (kept_.size() < sparse_budget) {
      if ((d_.top_k && kept_.size() >= d_.top_k) || (!whole && acc >= d_.top_p * Z)) {
        // the kept words are the candidates: draw among them
        const double v = u * acc;
        double run = 0;
        for (const auto& [weight, word] : kept_)
          if ((run += weight) > v) return word;
        return kept_.back().second;
      }
      if (!enum_next(a, w)) break;
      kept_.push_back({a, w});
      acc += a;
      if (whole && acc > u * Z) return w;  // the draw falls on this word
    }
    if (!over_budget_ && kept_.size() < sparse_budget &&
        !kept_.empty()) {  // every word read: rounding
      const double v = u * acc;
      double run = 0;
      for (const auto& [weight, word] : kept_)
        if ((run += weight) > v) return word;
      return kept_.back().second;
    }
    return next_dense(ctx, seq, g);
  }

  /// The dense path: a pass over the vocabulary per token (temperature != 1 needs every word's
  /// weight for the normaliser). Top-k and top-p select in O(V) expected time.
  template <Rng G>
  word_id next_dense(const word_id* ctx, std::span<const word_id> seq, G& g) {
    m_->distribution(ctx, p_);
    const double inv_t = 1.0 / d_.temperature;
    const bool penalise = d_.repetition_penalty != 1.0;
    idx_.clear();
    if (d_.temperature == 1.0) {  // the weights are the (penalised) probabilities themselves
      for (word_id w = 0; w < p_.size(); ++w) {
        if (!(p_[w] > 0)) continue;
        if (penalise && std::find(seq.begin(), seq.end(), w) != seq.end())
          p_[w] = std::pow(p_[w], d_.repetition_penalty);
        idx_.push_back(w);
      }
    } else {
      double top = -std::numeric_limits<double>::infinity();
      for (word_id w = 0; w < p_.size(); ++w) {
        if (!(p_[w] > 0)) continue;
        double s = std::log(p_[w]);
        if (penalise && std::find(seq.begin(), seq.end(), w) != seq.end())
          s *= d_.repetition_penalty;
        p_[w] = s * inv_t;
        top = std::max(top, p_[w]);
        idx_.push_back(w);
      }
      for (word_id w : idx_) p_[w] = std::exp(p_[w] - top);  // weights, the largest 1
    }
    if (idx_.empty()) return ngram_lm::eos;
    // heavier first; ties by id, so the selection does not depend on the algorithm's order
    const auto heavier = [&](word_id a, word_id b) {
      return p_[a] > p_[b] || (p_[a] == p_[b] && a < b);
    };
    std::size_t keep = idx_.size();
    if (d_.top_k > 0 && d_.top_k < keep) {
      std::nth_element(idx_.begin(), idx_.begin() + static_cast<std::ptrdiff_t>(d_.top_k),
                       idx_.end(), heavier);
      keep = d_.top_k;
    }
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += p_[idx_[i]];
    if (d_.top_p < 1.0) {
      // the nucleus without a full sort: the weights' bit patterns order them, so a histogram of
      // their exponents finds the bin where the mass reaches top_p, a second one of that bin's
      // leading mantissa bits narrows it, and only the last, small group is sorted
      const double target = d_.top_p * total;
      const auto bits = [&](word_id w) { return std::bit_cast<std::uint64_t>(p_[w]); };
      std::size_t n_in = 0;  // idx_[0, n_in): in the nucleus
      double above = 0;
      edge_words_.assign(idx_.begin(), idx_.begin() + static_cast<std::ptrdiff_t>(keep));
      for (int level = 0; level < 2 && !edge_words_.empty(); ++level) {
        // bin 0 heaviest: level 0 by exponent (weights <= 1), level 1 by 10 mantissa bits
        const auto bin_of = [&](word_id w) -> std::size_t {
          return level == 0 ? 1023 - std::min<std::uint64_t>(bits(w) >> 52, 1023)
                            : 1023 - ((bits(w) >> 42) & 1023);
        };
        bin_mass_.assign(1024, 0.0);
        for (word_id w : edge_words_) bin_mass_[bin_of(w)] += p_[w];
        std::size_t edge = 0;
        while (edge + 1 < bin_mass_.size() && above + bin_mass_[edge] < target)
          above += bin_mass_[edge++];
        std::size_t n_edge = 0;
        for (word_id w : edge_words_) {
          const std::size_t b = bin_of(w);
          if (b < edge)
            idx_[n_in++] = w;
          else if (b == edge)
            edge_words_[n_edge++] = w;
        }
        edge_words_.resize(n_edge);
      }
      std::sort(edge_words_.begin(), edge_words_.end(), heavier);
      for (std::size_t i = 0; i < edge_words_.size() && above < target; ++i) {
        above += p_[edge_words_[i]];
        idx_[n_in++] = edge_words_[i];
      }
      keep = std::max<std::size_t>(n_in, 1);
      total = 0;
      for (std::size_t i = 0; i < keep; ++i) total += p_[idx_[i]];
    }
    const double u = uniform01(g) * total;
    double acc = 0;
    for (std::size_t i = 0; i < keep; ++i) {
      acc += p_[idx_[i]];
      if (u < acc) return idx_[i];
    }
    return idx_[keep - 1];
  }

  /// A sentence (words without markers) after `prompt`, up to max_words words in all.
  template <Rng G>
  void sentence(G& g, std::vector<word_id>& out, std::span<const word_id> prompt = {},
                std::size_t max_words = 0) {
    const std::size_t cap = max_words ? max_words : m_->max_sentence_length;
    out.assign(prompt.begin(), prompt.end());
    if (d_.how == ngram_decoding::method::beam) {
      // the first word is drawn, or every sentence without a prompt would be the same
      std::array<word_id, ngram_lm::max_order> ctx;
      m_->fill_context(out, ctx);
      if (out.empty() && cap > 0) {
        const word_id w = m_->sample_next(ctx.data(), g);
        if (w == ngram_lm::eos) return;
        out.push_back(w);
      }
      const auto cont = beam_search(out, cap - std::min(cap, out.size()), true);
      for (word_id w : cont) {
        if (w == ngram_lm::eos) break;
        out.push_back(w);
      }
      return;
    }
    std::array<word_id, ngram_lm::max_order> ctx;
    m_->fill_context(out, ctx);
    while (out.size() < cap) {
      const word_id w = next(ctx.data(), out, g);
      if (w == ngram_lm::eos) break;
      out.push_back(w);
      m_->push(ctx, w);
    }
  }

  /// `tokens` tokens continuing `prompt` (the words of the current sentence so far), across
  /// sentence ends: after a `</s>` (kept in the output) the next token starts a new sentence.
  template <Rng G>
  std::vector<word_id> continuation(G& g, std::span<const word_id> prompt, std::size_t tokens) {
    if (d_.how == ngram_decoding::method::beam) {
      std::vector<word_id> sent(prompt.begin(), prompt.end());
      return beam_search(sent, tokens, false);
    }
    std::vector<word_id> out, sent(prompt.begin(), prompt.end());
    std::array<word_id, ngram_lm::max_order> ctx;
    m_->fill_context(sent, ctx);
    while (out.size() < tokens) {
      const word_id w = next(ctx.data(), sent, g);
      out.push_back(w);
      if (w == ngram_lm::eos || sent.size() >= m_->max_sentence_length) {
        sent.clear();
        m_->fill_context(sent, ctx);
      } else {
        sent.push_back(w);
        m_->push(ctx, w);
      }
    }
    return out;
  }

  /// The k most likely next words after context window ctx, best first, with their log
  /// probabilities (penalised for the words of `seq`), exactly and without a pass over the
  /// vocabulary. The reference is valid until the next call.
  const std::vector<std::pair<double, word_id>>& best(const word_id* ctx,
                                                      std::span<const word_id> seq, std::size_t k) {
    top_words(ctx, seq, k);
    return top_;
  }

  /// Beam search: the `tokens`-token continuation (with `stop_at_eos`, until `</s>`) of the
  /// sentence prefix `prefix` with the highest total log probability (repetition-penalised) among
  /// those the beam keeps. Deterministic.
  std::vector<word_id> beam_search(std::span<const word_id> prefix, std::size_t tokens,
                                   bool stop_at_eos) {
    struct hyp {
      std::vector<word_id> out;   // generated tokens
      std::vector<word_id> sent;  // the current sentence (for the context and the penalty)
      double score = 0;
      bool done = false;
    };
    const std::size_t B = d_.how == ngram_decoding::method::beam ? d_.beams : 1;
    std::vector<hyp> beam{hyp{{}, {prefix.begin(), prefix.end()}, 0.0, false}};
    struct cand {
      double score;
      std::size_t from;
      word_id w;
    };
    std::vector<cand> cands;
    std::array<word_id, ngram_lm::max_order> ctx;
    for (std::size_t step = 0; step < tokens; ++step) {
      cands.clear();
      bool any = false;
      for (std::size_t h = 0; h < beam.size(); ++h) {
        if (beam[h].done) {
          cands.push_back({beam[h].score, h, ngram_lm::eos});
          continue;
        }
        any = true;
        m_->fill_context(beam[h].sent, ctx);
        top_words(ctx.data(), beam[h].sent, B);
        for (const auto& [s, w] : top_) cands.push_back({beam[h].score + s, h, w});
      }
      if (!any) break;
      const auto better = [](const cand& a, const cand& b) {
        return a.score > b.score ||
               (a.score == b.score && (a.from < b.from || (a.from == b.from && a.w < b.w)));
      };
      const std::size_t keep = std::min(B, cands.size());
      std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(keep),
                        cands.end(), better);
      std::vector<hyp> next;
      for (std::size_t i = 0; i < keep; ++i) {
        const hyp& from = beam[cands[i].from];
        hyp h = from;
        if (!from.done) {
          h.score = cands[i].score;
          h.out.push_back(cands[i].w);
          if (cands[i].w == ngram_lm::eos) {
            if (stop_at_eos) h.done = true;
            h.sent.clear();
          } else if (h.sent.size() + 1 >= m_->max_sentence_length) {
            h.sent.clear();
          } else {
            h.sent.push_back(cands[i].w);
          }
        }
        next.push_back(std::move(h));
      }
      beam = std::move(next);
    }
    return beam.front().out;
  }

 private:
  /// top_ = the k best (penalised log p, word) for context ctx, best first, exactly.
  void top_words(const word_id* ctx, std::span<const word_id> seq, std::size_t k) {
    top_.clear();
    enum_begin(ctx, seq);
    double a = 0;
    word_id w = 0;
    while (top_.size() < k && enum_next(a, w))
      top_.push_back({a > 0 ? std::log(a) : -std::numeric_limits<double>::infinity(), w});
    if (!over_budget_) return;
    // a flat distribution: select from all the weights instead (O(V)), then take logs of the k
    top_.clear();
    m_->distribution(ctx, p_);
    for (word_id v = 1; v < p_.size(); ++v) {
      if (!(p_[v] > 0)) continue;
      double a = p_[v];
      if (d_.repetition_penalty != 1.0 && std::find(seq.begin(), seq.end(), v) != seq.end())
        a = std::pow(a, d_.repetition_penalty);
      top_.push_back({a, v});
    }
    const auto better = [](const std::pair<double, word_id>& x,
                           const std::pair<double, word_id>& y) {
      return x.first > y.first || (x.first == y.first && x.second < y.second);
    };
    const std::size_t keep = std::min(k, top_.size());
    std::partial_sort(top_.begin(), top_.begin() + static_cast<std::ptrdiff_t>(keep), top_.end(),
                      better);
    top_.resize(keep);
    for (auto& t : top_) t.first = std::log(t.first);
  }

  // The words in decreasing order of weight a(w) = p(w), or p(w)^penalty for the sentence's own
  // words, exactly, by the threshold algorithm: p(w) = sum over the used orders of
  // coef_k weight_k(w) + c0 / V', and each order's weights are read from a list sorted heaviest
  // first (the context's children; the unigram order for order 1). No unread word can weigh more
  // than the sum of the coefficients times the weights at the lists' current positions, so a read
  // word is emitted once it weighs at least that. Usually a few dozen reads, not V.
  void enum_begin(const word_id* ctx, std::span<const word_id> seq) {
    const ngram_lm& m = *m_;
    ctx_ = ctx;
    seq_ = seq;
    seen_.resize(m.vocab_size(), 0);
    for (word_id w : touched_) seen_[w] = 0;
    touched_.clear();
    heap_.clear();
    lists_.clear();
    next_unread_ = 1;
    reads_ = 0;
    over_budget_ = false;
    double mult = 1.0;
    for (std::size_t order = m.order(); order >= 1; --order) {
      const auto node = m.fitted_context(ctx, order);
      if (node == ngram_lm::npos) continue;
      const auto& up = m.levels_[order - 1];
      const double coef = mult / up.denom[node];
      mult *= up.lower[node];
      if (order == 1)
        lists_.push_back({nullptr, 0, m.unigram_order_.size(), 0, coef});
      else
        lists_.push_back(
            {&m.levels_[order], up.child[node], up.child[node + 1], up.child[node], coef});
      if (m.smoothing() == ngram_smoothing::add_k || m.smoothing() == ngram_smoothing::mle) break;
    }
    c0_ = mult / static_cast<double>(m.vocab_size() - 1);
  }

  /// The next word in decreasing order of weight (ties: the order read); false when every word
  /// of positive weight has been emitted.
  bool enum_next(double& a, word_id& w) {
    const ngram_lm& m = *m_;
    const auto& l1 = m.levels_[1];
    const auto weight_at = [&](const ta_list& L) -> double {
      if (L.pos >= L.end) return 0.0;
      if (!L.lv) {
        const word_id u = m.unigram_order_[L.pos];
        return l1.cum[u] - (u > 0 ? l1.cum[u - 1] : 0.0);
      }
      return ngram_lm::entry_weight(*L.lv, L.lv->by_weight[L.pos], L.base);
    };
    const auto heap_less = [](const std::pair<double, word_id>& x,
                              const std::pair<double, word_id>& y) {
      return x.first < y.first || (x.first == y.first && x.second > y.second);
    };
    const bool unigram_list = !lists_.empty() && !lists_.back().lv;
    while (true) {
      double threshold = c0_;
      bool left = false;
      for (const auto& L : lists_) {
        threshold += L.coef * weight_at(L);
        left = left || L.pos < L.end;
      }
      if (!left && !unigram_list) {
        // every unread word weighs c0 or less (penalised): read them in id order, emitting the
        // heap's top whenever it weighs at least c0
        while (next_unread_ < m.vocab_size() && seen_[next_unread_]) ++next_unread_;
        if (next_unread_ < m.vocab_size() && (heap_.empty() || heap_.front().first < c0_)) {
          if (++reads_ > read_budget) return over_budget_ = true, false;
          consider(next_unread_);
          continue;
        }
      }
      // (a relative 1e-12 below the bound counts as reaching it: the bound and a word's probability
      // are the same sum in exact arithmetic when they tie, e.g. on words seen at no order)
      if (!heap_.empty() && (heap_.front().first >= threshold * (1 - 1e-12) || !left)) {
        std::pop_heap(heap_.begin(), heap_.end(), heap_less);
        a = heap_.back().first;
        w = heap_.back().second;
        heap_.pop_back();
        if (!(a > 0)) return false;
        return true;
      }
      if (!left) return false;
      if ((reads_ += lists_.size()) > read_budget) return over_budget_ = true, false;
      for (auto& L : lists_)
        if (L.pos < L.end) {
          consider(L.lv ? L.lv->word[L.lv->by_weight[L.pos]] : m.unigram_order_[L.pos]);
          ++L.pos;
        }
    }
  }

  /// Weighs word w (once) onto the heap.
  void consider(word_id w) {
    if (seen_[w]) return;
    seen_[w] = 1;
    touched_.push_back(w);
    double a = m_->prob_ctx(ctx_, w);
    if (d_.repetition_penalty != 1.0 && a > 0 &&
        std::find(seq_.begin(), seq_.end(), w) != seq_.end())
      a = std::pow(a, d_.repetition_penalty);
    heap_.push_back({a, w});
    std::push_heap(heap_.begin(), heap_.end(),
                   [](const std::pair<double, word_id>& x, const std::pair<double, word_id>& y) {
                     return x.first < y.first || (x.first == y.first && x.second > y.second);
                   });
  }

  static constexpr std::size_t sparse_budget = 64;  // words emitted by the sparse path at most
  std::size_t reads_ = 0;
  bool over_budget_ = false;
  const ngram_lm* m_;
  ngram_decoding d_;
  std::vector<double> p_, bin_mass_;
  std::vector<word_id> edge_words_;
  std::vector<word_id> idx_, touched_;
  std::vector<unsigned char> seen_;
  struct ta_list {
    const ngram_lm::level* lv;  // nullptr: the unigram order
    std::size_t pos, end, base;
    double coef;
  };
  std::vector<ta_list> lists_;
  std::vector<std::pair<double, word_id>> heap_, kept_;
  std::vector<word_id> distinct_;
  const word_id* ctx_ = nullptr;
  std::span<const word_id> seq_;
  double c0_ = 0;
  word_id next_unread_ = 1;
  std::vector<std::pair<double, word_id>> top_;
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0::sample {

/// A sampler of synthetic text from an ngram_lm for collapse_loop. Asked for n sentences, it
/// produces text of about as many words as n real sentences hold: sentences are generated until
/// their words reach n * words_per_sentence (0: exactly n sentences). Mode `sentences` draws whole
/// sentences from `<s>`; mode `continuation` continues prompts of `prompt_words` tokens taken
/// one after another (from a random start) from the real text `prompts` (its sentences joined,
/// each followed by `</s>`) with `continuation_tokens` tokens each, as the paper did with 64 and
/// 64; the generated tokens only are kept, cut into sentences at `</s>` (a continuation's last
/// sentence is cut at its end).
struct ngram_text {
  enum class mode { sentences, continuation };
  double words_per_sentence = 0;
  models::ngram_decoding decoding{};
  mode how = mode::sentences;
  std::shared_ptr<const text::corpus> prompts;
  std::size_t prompt_words = 64, continuation_tokens = 64;

  template <Rng G>
  text::corpus operator()(const models::ngram_lm& m, std::size_t n, G& g, event_log& log) const {
    models::ngram_generator gen(m, decoding);
    text::corpus out;
    const bool by_words = words_per_sentence > 0;
    const auto target = static_cast<std::size_t>(
        std::llround(static_cast<double>(n) * (by_words ? words_per_sentence : 1.0)));
    // a collapsed model may produce (almost) only sentence ends: stop once the tokens generated
    // (words and sentence ends) reach twice the words asked for
    const std::size_t max_tokens = 2 * target + 1000;
    bool warned = false;
    const auto done = [&] {
      if (!by_words) return out.sentences() >= target;
      if (out.token_count() >= target) return true;
      if (out.token_count() + out.sentences() < max_tokens) return false;
      if (!warned)
        log.record(fmt::format("synthetic text reached only {} of {} words in {} sentences",
                               out.token_count(), target, out.sentences()),
                   "trained on it as it is");
      warned = true;
      return true;
    };
    std::vector<text::word_id> s;
    if (how == mode::sentences) {
      while (!done()) {
        gen.sentence(g, s);
        out.add_sentence(s);
      }
      return out;
    }
    if (!prompts || prompts->token_count() == 0)
      throw std::invalid_argument("ouro::sample::ngram_text: continuation mode needs prompts");
    std::vector<text::word_id> stream;
    stream.reserve(prompts->token_count() + prompts->sentences());
    for (std::size_t i = 0; i < prompts->sentences(); ++i) {
      const auto p = prompts->sentence(i);
      stream.insert(stream.end(), p.begin(), p.end());
      stream.push_back(models::ngram_lm::eos);
    }
    std::size_t pos = uniform_index(g, stream.size());
    std::vector<text::word_id> prefix;
    while (!done()) {
      // the prompt's last, unfinished sentence is the context of the continuation
      prefix.clear();
      for (std::size_t i = 0; i < prompt_words; ++i) {
        const auto w = stream[(pos + i) % stream.size()];
        if (w == models::ngram_lm::eos)
          prefix.clear();
        else
          prefix.push_back(w);
      }
      pos = (pos + prompt_words) % stream.size();
      s.clear();
      for (auto w : gen.continuation(g, prefix, continuation_tokens)) {
        if (w == models::ngram_lm::eos) {
          out.add_sentence(s);
          s.clear();
        } else {
          s.push_back(w);
        }
      }
      if (!s.empty()) out.add_sentence(s);
    }
    return out;
  }
};

}  // namespace ouro::inline v0::sample
