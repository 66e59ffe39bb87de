// Decoding for ngram_lm: ancestral sampling with temperature, top-k and top-p (nucleus), greedy
// and beam search with a repetition penalty, sentences or continuations of a prompt. See
// docs/ngram.md#decoding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/models/ngram.hpp"

namespace ouro::models {

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

  /// The next token after context window ctx (sampling methods; `seq` is the sequence so far,
  /// for the repetition penalty).
  template <Rng G>
  word_id next(const word_id* ctx, std::span<const word_id> seq, G& g) {
    if (d_.plain_sampling() && d_.repetition_penalty == 1.0) return m_->sample_next(ctx, g);
    m_->distribution(ctx, p_);
    const double inv_t = 1.0 / d_.temperature;
    // scores: log p, penalised, tempered
    idx_.clear();
    for (word_id w = 0; w < p_.size(); ++w) {
      if (!(p_[w] > 0)) continue;
      double s = std::log(p_[w]);
      if (d_.repetition_penalty != 1.0 && std::find(seq.begin(), seq.end(), w) != seq.end())
        s *= d_.repetition_penalty;
      p_[w] = s * inv_t;
      idx_.push_back(w);
    }
    // most likely first; ties by id, so the result does not depend on the sort's stability
    const auto better = [&](word_id a, word_id b) {
      return p_[a] > p_[b] || (p_[a] == p_[b] && a < b);
    };
    std::size_t keep = idx_.size();
    if (d_.top_k > 0 && d_.top_k < keep) {
      std::nth_element(idx_.begin(), idx_.begin() + static_cast<std::ptrdiff_t>(d_.top_k),
                       idx_.end(), better);
      keep = d_.top_k;
    }
    std::sort(idx_.begin(), idx_.begin() + static_cast<std::ptrdiff_t>(keep), better);
    const double top = p_[idx_[0]];
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += std::exp(p_[idx_[i]] - top);
    if (d_.top_p < 1.0) {  // the smallest prefix holding top_p of the kept mass
      double acc = 0;
      std::size_t i = 0;
      while (i < keep && acc < d_.top_p * total) acc += std::exp(p_[idx_[i++]] - top);
      keep = std::max<std::size_t>(i, 1);
      total = acc;
    }
    const double u = uniform01(g) * total;
    double acc = 0;
    for (std::size_t i = 0; i < keep; ++i) {
      acc += std::exp(p_[idx_[i]] - top);
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
  /// top_ = the k best (penalised log p, word) for context ctx, best first, exactly: a word that
  /// no context of order >= 2 has seen has p = c1 w1(w) + c0 / V', so the best of those follow
  /// the unigram order.
  void top_words(const word_id* ctx, std::span<const word_id> seq, std::size_t k) {
    const ngram_lm& m = *m_;
    acc_.resize(m.vocab_size(), 0.0);
    seen_.resize(m.vocab_size(), 0);
    for (word_id w : touched_) acc_[w] = 0.0, seen_[w] = 0;
    touched_.clear();
    double mult = 1.0, c1 = 0.0, c0 = 0.0;
    bool stop = false;
    for (std::size_t order = m.order(); order >= 1 && !stop; --order) {
      const auto node = m.find_context(ctx, order);
      if (node == ngram_lm::npos) continue;
      const auto& up = m.levels_[order - 1];
      if (!(up.denom[node] > 0)) continue;
      const double coef = mult / up.denom[node];
      mult *= up.lower[node];
      if (m.smoothing() == ngram_smoothing::add_k || m.smoothing() == ngram_smoothing::mle)
        stop = true;
      if (order == 1) {
        c1 = coef;
        continue;
      }
      const auto& lv = m.levels_[order];
      double prev = 0;
      for (std::size_t i = up.child[node]; i < up.child[node + 1]; ++i) {
        const word_id w = lv.word[i];
        if (!seen_[w]) seen_[w] = 1, touched_.push_back(w);
        acc_[w] += coef * (lv.cum[i] - prev);
        prev = lv.cum[i];
      }
    }
    c0 = mult;
    const double uni = 1.0 / static_cast<double>(m.vocab_size() - 1);
    const auto& l1 = m.levels_[1];
    const auto w1 = [&](word_id w) { return l1.cum[w] - (w > 0 ? l1.cum[w - 1] : 0.0); };
    const auto score = [&](word_id w, double p) {
      double s = p > 0 ? std::log(p) : -std::numeric_limits<double>::infinity();
      if (d_.repetition_penalty != 1.0 && std::find(seq.begin(), seq.end(), w) != seq.end())
        s *= d_.repetition_penalty;
      return s;
    };
    top_.clear();
    for (word_id w : touched_) top_.push_back({score(w, acc_[w] + c1 * w1(w) + c0 * uni), w});
    // untouched words in unigram order: enough of them to cover penalised ones
    std::size_t extra = k + (d_.repetition_penalty != 1.0 ? seq.size() : 0);
    for (word_id w : m.unigram_order_) {
      if (extra == 0) break;
      if (seen_[w]) continue;
      top_.push_back({score(w, c1 * w1(w) + c0 * uni), w});
      --extra;
    }
    const auto better = [](const std::pair<double, word_id>& a,
                           const std::pair<double, word_id>& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    const std::size_t keep = std::min(k, top_.size());
    std::partial_sort(top_.begin(), top_.begin() + static_cast<std::ptrdiff_t>(keep), top_.end(),
                      better);
    top_.resize(keep);
  }

  const ngram_lm* m_;
  ngram_decoding d_;
  std::vector<double> p_, acc_;
  std::vector<word_id> idx_, touched_;
  std::vector<unsigned char> seen_;
  std::vector<std::pair<double, word_id>> top_;
};

}  // namespace ouro::models
