// ngram_fitter::fit: counting and smoothing for models/ngram.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/models/ngram.hpp"

namespace ouro::inline v0::models {

namespace detail {

/// k-grams stored flat (k word ids each), with two counts each: raw (occurrences as a prediction)
/// and cont (distinct left extensions; the Kneser-Ney continuation count).
struct gram_set {
  std::size_t k = 0;
  std::vector<text::word_id> ids;
  std::vector<std::uint64_t> raw, cont;
  std::size_t size() const { return raw.size(); }
  const text::word_id* at(std::size_t i) const { return ids.data() + i * k; }
};

inline bool less(const text::word_id* a, const text::word_id* b, std::size_t k) {
  return std::lexicographical_compare(a, a + k, b, b + k);
}
inline bool equal(const text::word_id* a, const text::word_id* b, std::size_t k) {
  return std::equal(a, a + k, b);
}

__extension__ typedef unsigned __int128 uint128;

/// The order of the k-grams of `in` (ties by position), through packed integer keys when k ids fit
/// in 64 or 128 bits (the usual case): a sort of contiguous (key, index) pairs.
template <class Key>
void packed_order(const gram_set& in, std::size_t bits, std::vector<std::uint32_t>& idx) {
  const std::size_t k = in.k, n = in.size();
  std::vector<std::pair<Key, std::uint32_t>> keyed(n);
  for (std::size_t i = 0; i < n; ++i) {
    Key v = 0;
    for (std::size_t j = 0; j < k; ++j) v = (v << bits) | in.ids[i * k + j];
    keyed[i] = {v, static_cast<std::uint32_t>(i)};
  }
  std::sort(keyed.begin(), keyed.end());
  for (std::size_t i = 0; i < n; ++i) idx[i] = keyed[i].second;
}

/// Sorts the k-grams of `in` and merges equal ones, adding their counts.
inline gram_set sort_unique(const gram_set& in) {
  const std::size_t k = in.k, n = in.size();
  std::vector<std::uint32_t> idx(n);
  std::size_t bits = 1;
  text::word_id maxid = 0;
  for (auto w : in.ids) maxid = std::max(maxid, w);
  while (bits < 32 && (std::uint64_t{1} << bits) <= maxid) ++bits;
  if (k * bits <= 64) {
    packed_order<std::uint64_t>(in, bits, idx);
  } else if (k * bits <= 128) {
    packed_order<uint128>(in, bits, idx);
  } else {
    std::iota(idx.begin(), idx.end(), 0u);
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return less(in.at(a), in.at(b), k); });
  }
  gram_set out;
  out.k = k;
  for (std::size_t r = 0; r < n; ++r) {
    const auto* g = in.at(idx[r]);
    if (out.size() && equal(out.at(out.size() - 1), g, k)) {
      out.raw.back() += in.raw[idx[r]];
      out.cont.back() += in.cont[idx[r]];
    } else {
      out.ids.insert(out.ids.end(), g, g + k);
      out.raw.push_back(in.raw[idx[r]]);
      out.cont.push_back(in.cont[idx[r]]);
    }
  }
  return out;
}

/// The distinct suffixes of length k - 1 of a sorted set of k-grams: raw counts add up, and each
/// k-gram adds 1 to its suffix's continuation count.
inline gram_set suffixes(const gram_set& s) {
  gram_set t;
  t.k = s.k - 1;
  t.ids.reserve(s.size() * t.k);
  for (std::size_t i = 0; i < s.size(); ++i) {
    t.ids.insert(t.ids.end(), s.at(i) + 1, s.at(i) + s.k);
    t.raw.push_back(s.raw[i]);
    t.cont.push_back(1);
  }
  return sort_unique(t);
}

/// The union of a sorted set of (k)-grams and the distinct prefixes of length k of a sorted set
/// of (k+1)-grams (prefix-only entries get count 0): the entries of trie level k.
inline gram_set with_prefixes(const gram_set& s, const gram_set& up) {
  const std::size_t k = s.k;
  gram_set out;
  out.k = k;
  std::size_t i = 0, j = 0;
  const auto push = [&](const text::word_id* g, std::uint64_t raw, std::uint64_t cont) {
    out.ids.insert(out.ids.end(), g, g + k);
    out.raw.push_back(raw);
    out.cont.push_back(cont);
  };
  while (i < s.size() || j < up.size()) {
    if (j < up.size() && i < s.size() && equal(s.at(i), up.at(j), k)) {
      push(s.at(i), s.raw[i], s.cont[i]);
      ++i;
    } else if (j < up.size() && (i == s.size() || less(up.at(j), s.at(i), k))) {
      push(up.at(j), 0, 0);
    } else {
      push(s.at(i), s.raw[i], s.cont[i]);
      ++i;
      continue;
    }
    // skip the other (k+1)-grams with the same prefix
    const auto* p = up.at(j);
    while (j < up.size() && equal(up.at(j), p, k)) ++j;
  }
  return out;
}

}  // namespace detail

inline ngram_lm ngram_fitter::fit(const text::corpus& c, event_log& log) const {
  using text::word_id;
  namespace nd = detail;
  const std::size_t N = order, V = vocab_size;
  if (N < 1 || N > ngram_lm::max_order)
    throw std::invalid_argument(fmt::format(
        "ouro::models::ngram_fitter: order {} is outside [1, {}]", N, ngram_lm::max_order));
  if (V < 3)
    throw std::invalid_argument(fmt::format(
        "ouro::models::ngram_fitter: vocab_size {} is too small (at least the three markers; use "
        "text::vocabulary::size())",
        V));
  if (V > std::numeric_limits<word_id>::max())
    throw std::invalid_argument("ouro::models::ngram_fitter: vocab_size does not fit a word id");
  if (smoothing == ngram_smoothing::add_k && !(add_k > 0))
    throw std::invalid_argument(
        fmt::format("ouro::models::ngram_fitter: add_k = {} must be positive", add_k));

  // every predicted position's N-gram (the sentence padded with N - 1 <s>)
  nd::gram_set top;
  top.k = N;
  top.ids.reserve((c.token_count() + c.sentences()) * N);
  std::vector<word_id> window(N, ngram_lm::bos);
  for (std::size_t i = 0; i < c.sentences(); ++i) {
    const auto s = c.sentence(i);
    std::fill(window.begin(), window.end(), ngram_lm::bos);
    for (std::size_t t = 0; t <= s.size(); ++t) {
      const word_id w = t < s.size() ? s[t] : ngram_lm::eos;
      if (w >= V || w == ngram_lm::bos)
        throw std::invalid_argument(
            fmt::format("ouro::models::ngram_fitter: sentence {} holds word id {}, {}", i, w,
                        w == ngram_lm::bos ? "<s> (context only, never inside a sentence)"
                                           : fmt::format("outside the vocabulary of {} words", V)));
      std::rotate(window.begin(), window.begin() + 1, window.end());
      window[N - 1] = w;
      top.ids.insert(top.ids.end(), window.begin(), window.end());
      top.raw.push_back(1);
      top.cont.push_back(1);
    }
  }
  ngram_lm m;
  m.order_ = N;
  m.vocab_ = V;
  m.smoothing_ = smoothing;
  m.max_sentence_length = max_sentence_length;
  m.training_tokens_ = top.size();
  if (top.size() == 0)
    log.record("empty training corpus", "the model is uniform over the vocabulary");

  // S_k: the k-grams seen as predictions; E_k: the trie's entries (S_k and the prefixes of E_k+1)
  std::vector<nd::gram_set> S(N + 1), E(N + 1);
  S[N] = nd::sort_unique(top);
  top = {};
  for (std::size_t k = N - 1; k >= 1; --k) S[k] = nd::suffixes(S[k + 1]);
  E[N] = S[N];
  for (std::size_t k = N - 1; k >= 1; --k) E[k] = nd::with_prefixes(S[k], E[k + 1]);
  // level 1 holds every word, so a word's entry is its id
  {
    nd::gram_set all;
    all.k = 1;
    all.ids.resize(V);
    std::iota(all.ids.begin(), all.ids.end(), word_id{0});
    all.raw.assign(V, 0);
    all.cont.assign(V, 0);
    for (std::size_t i = 0; i < E[1].size(); ++i) {
      all.raw[E[1].ids[i]] = E[1].raw[i];
      all.cont[E[1].ids[i]] = E[1].cont[i];
    }
    E[1] = std::move(all);
  }
  m.distinct_.resize(N);
  for (std::size_t k = 1; k <= N; ++k) m.distinct_[k - 1] = S[k].size();

  const bool kn =
      smoothing == ngram_smoothing::modified_kneser_ney || smoothing == ngram_smoothing::kneser_ney;
  // the count each level smooths: Kneser-Ney uses continuation counts below the top order
  const auto count_of = [&](std::size_t k, std::size_t i) -> double {
    return static_cast<double>(kn && k < N ? E[k].cont[i] : E[k].raw[i]);
  };

  m.levels_.resize(N + 1);
  m.levels_[0].word = {ngram_lm::bos};
  m.levels_[0].child = {0, static_cast<std::uint32_t>(V)};
  for (std::size_t k = 1; k <= N; ++k) {
    auto& lv = m.levels_[k];
    lv.word.resize(E[k].size());
    for (std::size_t i = 0; i < E[k].size(); ++i) lv.word[i] = E[k].at(i)[k - 1];
    if (k < N) {  // children in level k + 1: the entries whose prefix is this entry
      lv.child.resize(E[k].size() + 1);
      std::size_t j = 0;
      for (std::size_t e = 0; e < E[k].size(); ++e) {
        lv.child[e] = static_cast<std::uint32_t>(j);
        while (j < E[k + 1].size() && nd::equal(E[k + 1].at(j), E[k].at(e), k)) ++j;
      }
      lv.child[E[k].size()] = static_cast<std::uint32_t>(j);
      if (j != E[k + 1].size())
        throw std::logic_error("ouro::models::ngram_fitter: trie levels do not nest");
    }
  }

  // discounts per order from the count-of-counts
  m.discounts_.resize(N);
  std::vector<std::size_t> fell_back;
  for (std::size_t k = 1; k <= N; ++k) {
    ngram_discounts& d = m.discounts_[k - 1];
    for (std::size_t i = 0; i < E[k].size(); ++i) {
      const double cnt = count_of(k, i);
      if (cnt >= 1 && cnt <= 4) ++d.n[static_cast<std::size_t>(cnt) - 1];
    }
    if (!kn) continue;
    const double n1 = static_cast<double>(d.n[0]), n2 = static_cast<double>(d.n[1]),
                 n3 = static_cast<double>(d.n[2]), n4 = static_cast<double>(d.n[3]);
    if (smoothing == ngram_smoothing::modified_kneser_ney) {
      bool ok = n1 > 0 && n2 > 0 && n3 > 0 && n4 > 0;
      if (ok) {
        const double Y = n1 / (n1 + 2 * n2);
        d.d1 = 1 - 2 * Y * n2 / n1;
        d.d2 = 2 - 3 * Y * n3 / n2;
        d.d3 = 3 - 4 * Y * n4 / n3;
        ok = d.d1 > 0 && d.d1 < 1 && d.d2 > 0 && d.d2 < 2 && d.d3 > 0 && d.d3 < 3;
      }
      if (!ok) {
        d.d1 = 0.5, d.d2 = 1.0, d.d3 = 1.5, d.fallback = true;
        fell_back.push_back(k);
      }
    } else {
      if (n1 > 0 && n2 > 0) {
        d.d1 = d.d2 = d.d3 = n1 / (n1 + 2 * n2);
      } else {
        d.d1 = d.d2 = d.d3 = 0.75, d.fallback = true;
        fell_back.push_back(k);
      }
    }
  }
  if (!fell_back.empty() && m.training_tokens_ > 0) {
    std::string orders;
    for (std::size_t k : fell_back) orders += (orders.empty() ? "" : ", ") + std::to_string(k);
    log.record(fmt::format("Kneser-Ney discounts undefined by the count-of-counts at order{} {}",
                           fell_back.size() > 1 ? "s" : "", orders),
               smoothing == ngram_smoothing::modified_kneser_ney
                   ? "used the fixed discounts 0.5, 1.0, 1.5"
                   : "used the fixed discount 0.75");
  }

  // weights, cumulated within each parent's range, and each context's denominator and weight of
  // the lower order
  const double Vp = static_cast<double>(V - 1);  // predictable words: all but <s>
  for (std::size_t k = 1; k <= N; ++k) {
    auto& lv = m.levels_[k];
    auto& up = m.levels_[k - 1];
    const ngram_discounts& d = m.discounts_[k - 1];
    lv.cum.resize(lv.word.size());
    const std::size_t parents = up.child.size() - 1;
    up.denom.assign(parents, 0.0);
    up.lower.assign(parents, 0.0);
    for (std::size_t p = 0; p < parents; ++p) {
      double T = 0, A = 0;
      for (std::size_t i = up.child[p]; i < up.child[p + 1]; ++i) {
        const double cnt = count_of(k, i);
        double a = cnt;
        if (kn && cnt > 0) a = std::max(cnt - (cnt == 1 ? d.d1 : cnt == 2 ? d.d2 : d.d3), 0.0);
        T += cnt;
        A += a;
        lv.cum[i] = A;
      }
      if (!(T > 0)) continue;  // never seen as a context: the lower order alone
      switch (smoothing) {
        case ngram_smoothing::modified_kneser_ney:
        case ngram_smoothing::kneser_ney:
          up.denom[p] = T;
          up.lower[p] = (T - A) / T;  // the discounted mass: sum of D(c) / T
          break;
        case ngram_smoothing::mle:
          up.denom[p] = T;
          up.lower[p] = 0;
          break;
        case ngram_smoothing::add_k:
          up.denom[p] = T + add_k * Vp;
          up.lower[p] = add_k * Vp / (T + add_k * Vp);
          break;
      }
    }
  }
  // each context's children by weight, heaviest first (ties by word id): the sorted lists of the
  // exact top-k search of beam decoding
  for (std::size_t k = 2; k <= N; ++k) {
    auto& lv = m.levels_[k];
    const auto& up = m.levels_[k - 1];
    lv.by_weight.resize(lv.word.size());
    std::iota(lv.by_weight.begin(), lv.by_weight.end(), std::uint32_t{0});
    const auto weight = [&](std::uint32_t i, std::size_t b) {
      return ngram_lm::entry_weight(lv, i, b);
    };
    for (std::size_t p = 0; p + 1 < up.child.size(); ++p) {
      const std::size_t b = up.child[p], e = up.child[p + 1];
      std::stable_sort(
          lv.by_weight.begin() + static_cast<std::ptrdiff_t>(b),
          lv.by_weight.begin() + static_cast<std::ptrdiff_t>(e),
          [&](std::uint32_t x, std::uint32_t y) { return weight(x, b) > weight(y, b); });
    }
  }
  {
    const auto& l1 = m.levels_[1];
    const auto w1 = [&](word_id w) { return l1.cum[w] - (w > 0 ? l1.cum[w - 1] : 0.0); };
    m.unigram_order_.resize(V - 1);
    std::iota(m.unigram_order_.begin(), m.unigram_order_.end(), word_id{1});
    std::stable_sort(m.unigram_order_.begin(), m.unigram_order_.end(),
                     [&](word_id a, word_id b) { return w1(a) > w1(b); });
  }
  return m;
}

}  // namespace ouro::models
