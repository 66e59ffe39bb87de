// An independent, deliberately plain implementation of interpolated (modified) Kneser-Ney, written
// from Chen & Goodman (1998, section 3) with maps of word vectors, for checking
// ouro::models::ngram_lm. Same conventions: sentences padded with N - 1 <s>, </s> predicted, <s>
// never predicted, the lowest order interpolated with the uniform distribution over the V - 1
// words other than <s>, fixed discounts (0.5, 1, 1.5) / 0.75 where the count-of-counts leave them
// undefined, a context never seen backs off to the lower order.
#pragma once

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "ouroboros/models/corpus.hpp"

namespace ref {

using ouro::text::word_id;
using gram = std::vector<word_id>;

struct kn_reference {
  std::size_t N, V;
  bool modified;
  // c[k]: the counts order k smooths (raw at N, continuation below), for k = 1..N
  std::vector<std::map<gram, double>> c;
  std::vector<std::array<double, 3>> D;
  struct ctx_stats {
    double total = 0, n1 = 0, n2 = 0, n3 = 0;
  };
  std::vector<std::map<gram, ctx_stats>> ctx;  // ctx[k][h], |h| = k - 1

  kn_reference(const ouro::text::corpus& corpus, std::size_t order, std::size_t vocab,
               bool modified_kn = true)
      : N(order), V(vocab), modified(modified_kn), c(order + 1), D(order + 1), ctx(order + 1) {
    std::vector<std::map<gram, double>> raw(N + 1);
    for (std::size_t s = 0; s < corpus.sentences(); ++s) {
      gram padded(N - 1, 0);
      for (word_id w : corpus.sentence(s)) padded.push_back(w);
      padded.push_back(1);
      for (std::size_t i = N - 1; i < padded.size(); ++i)
        for (std::size_t k = 1; k <= N; ++k)
          raw[k][gram(padded.begin() + static_cast<long>(i + 1 - k),
                      padded.begin() + static_cast<long>(i + 1))] += 1;
    }
    c[N] = raw[N];
    for (std::size_t k = 1; k < N; ++k)
      for (const auto& [g, n] : raw[k + 1])
        if (n > 0) c[k][gram(g.begin() + 1, g.end())] += 1;  // one per distinct left word
    for (std::size_t k = 1; k <= N; ++k) {
      double n[5] = {0, 0, 0, 0, 0};
      for (const auto& [g, v] : c[k])
        if (v >= 1 && v <= 4) n[static_cast<int>(v)] += 1;
      if (modified) {
        const double Y = n[1] + 2 * n[2] > 0 ? n[1] / (n[1] + 2 * n[2]) : 0;
        double d1 = n[1] > 0 ? 1 - 2 * Y * n[2] / n[1] : -1;
        double d2 = n[2] > 0 ? 2 - 3 * Y * n[3] / n[2] : -1;
        double d3 = n[3] > 0 ? 3 - 4 * Y * n[4] / n[3] : -1;
        const bool ok = n[1] > 0 && n[2] > 0 && n[3] > 0 && n[4] > 0 && d1 > 0 && d1 < 1 &&
                        d2 > 0 && d2 < 2 && d3 > 0 && d3 < 3;
        D[k] = ok ? std::array<double, 3>{d1, d2, d3} : std::array<double, 3>{0.5, 1.0, 1.5};
      } else {
        const double d = n[1] > 0 && n[2] > 0 ? n[1] / (n[1] + 2 * n[2]) : 0.75;
        D[k] = {d, d, d};
      }
      for (const auto& [g, v] : c[k]) {
        auto& st = ctx[k][gram(g.begin(), g.end() - 1)];
        st.total += v;
        st.n1 += v == 1;
        st.n2 += v == 2;
        st.n3 += v >= 3;
      }
    }
  }

  /// p(w | h) with h the last N - 1 tokens (padded with <s> = 0), oldest first.
  double prob(const gram& h, word_id w) const {
    if (w == 0) return 0.0;
    double p = 1.0 / static_cast<double>(V - 1);
    for (std::size_t k = 1; k <= N; ++k) {
      const gram hk(h.end() - static_cast<long>(k - 1), h.end());
      const auto it = ctx[k].find(hk);
      if (it == ctx[k].end() || it->second.total <= 0) continue;
      const auto& st = it->second;
      gram hw = hk;
      hw.push_back(w);
      const auto cw = c[k].find(hw);
      const double cnt = cw == c[k].end() ? 0.0 : cw->second;
      const double disc = cnt == 0 ? 0 : cnt == 1 ? D[k][0] : cnt == 2 ? D[k][1] : D[k][2];
      const double gamma = (D[k][0] * st.n1 + D[k][1] * st.n2 + D[k][2] * st.n3) / st.total;
      p = std::max(cnt - disc, 0.0) / st.total + gamma * p;
    }
    return p;
  }
};

}  // namespace ref
