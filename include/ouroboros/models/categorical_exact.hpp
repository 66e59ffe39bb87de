// The exact fast path of the categorical model: the frequency fitter reads a training set only
// through its counts per state, and the counts of M draws from p are Multinomial(M, p). Drawing
// them as conditional binomials (state i gets Binomial(M - counts so far, p_i / mass left)) gives
// the same distribution of every fitted model at a cost of O(K log M) instead of O(M).
//
// - category_counts: the dataset (one count per state). Pooling adds counts, so accumulate and
//   mixing fresh real data work; a subset of samples cannot be taken (config_error), which refuses
//   accumulate_subsample and mix with a fixed real subset.
// - exact_categorical, exact_categorical_fitter: the model and the frequency fitter on counts, with
//   the same add-k smoothing and events as categorical_fitter; the metrics of
//   ouroboros/models/metrics/categorical.hpp take either model.
// See docs/theory.md#the-exact-path.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/dataset.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/categorical.hpp"

namespace ouro::inline v0::models {

/// A training set of states kept as its counts: counts[i] samples are state i.
struct category_counts {
  std::vector<std::uint64_t> counts;
  std::uint64_t total() const noexcept {
    std::uint64_t t = 0;
    for (auto c : counts) t += c;
    return t;
  }
  /// The counts of a set of samples over `states` states (0: as many as the largest state seen).
  static category_counts of(std::span<const std::uint32_t> x, std::size_t states = 0) {
    category_counts c;
    std::size_t k = states;
    if (k == 0)
      for (auto v : x) k = std::max<std::size_t>(k, std::size_t{v} + 1);
    c.counts.assign(k, 0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] >= k)
        throw std::out_of_range(fmt::format(
            "ouro::models::category_counts: sample {} is state {} but there are {} states", i, x[i],
            k));
      ++c.counts[x[i]];
    }
    return c;
  }
  friend bool operator==(const category_counts&, const category_counts&) = default;
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
namespace detail {
template <class>
inline constexpr bool counts_no_samples = false;
}
/// Pooling adds counts; a subset cannot be taken (config_error); single samples cannot be read.
template <>
struct dataset_traits<models::category_counts> {
  using dataset = models::category_counts;
  static std::size_t size(const dataset& d) noexcept { return static_cast<std::size_t>(d.total()); }
  static void append(dataset& a, const dataset& b) {
    if (a.counts.size() < b.counts.size()) a.counts.resize(b.counts.size(), 0);
    for (std::size_t i = 0; i < b.counts.size(); ++i) a.counts[i] += b.counts[i];
  }
  static dataset concat(const dataset& a, const dataset& b) {
    dataset r = a;
    append(r, b);
    return r;
  }
  static dataset subset(const dataset&, std::span<const std::size_t>) {
    throw config_error(
        "the exact categorical path keeps only each training set's counts per state, so it "
        "cannot take a subset of samples: the regimes accumulate_subsample and mix with a fixed "
        "real subset have no exact form; use the sampled path (models::categorical)");
  }
  template <class I>
  static std::uint32_t sample(const dataset&, I) {
    static_assert(detail::counts_no_samples<I>,
                  "ouro::models::category_counts holds counts, not samples: a sampler or metric "
                  "that reads single samples needs the sampled path (models::categorical).");
    return 0;
  }
};
}  // namespace ouro::inline v0

namespace ouro::inline v0::models {

/// A categorical distribution whose sample(n, rng) returns the counts of n draws
/// (Multinomial(n, p), by conditional binomials in state order; the last state with positive
/// probability takes what is left).
class exact_categorical {
 public:
  using dataset_type = category_counts;

  exact_categorical() = default;
  explicit exact_categorical(std::vector<double> weights) : c_(std::move(weights)) {}
  explicit exact_categorical(categorical c) : c_(std::move(c)) {}

  std::size_t states() const noexcept { return c_.states(); }
  const std::vector<double>& probs() const noexcept { return c_.probs(); }
  double prob(std::size_t i) const { return c_.prob(i); }
  /// The same distribution, sampled draw by draw.
  const categorical& distribution() const noexcept { return c_; }

  template <Rng G>
  category_counts sample(std::size_t n, G& g) const {
    const auto& p = c_.probs();
    category_counts out;
    out.counts.assign(p.size(), 0);
    std::size_t last = p.size();
    while (last > 0 && p[last - 1] == 0) --last;
    std::uint64_t left = n;
    double mass = 1.0;  // the probability of the states not yet drawn
    for (std::size_t i = 0; i + 1 < last && left > 0; ++i) {
      if (p[i] == 0) continue;
      const double q = mass > 0 ? std::min(p[i] / mass, 1.0) : 1.0;
      const std::uint64_t k = binomial(g, left, q);
      out.counts[i] = k;
      left -= k;
      mass -= p[i];
    }
    if (last > 0) out.counts[last - 1] += left;
    return out;
  }

  /// Sum over states of count_i log p_i (-inf when a state of probability 0 has a count).
  double log_likelihood(const category_counts& d) const {
    const auto& p = c_.probs();
    if (d.counts.size() > p.size())
      for (std::size_t i = p.size(); i < d.counts.size(); ++i)
        if (d.counts[i] > 0)
          throw std::out_of_range(fmt::format(
              "ouro::models::exact_categorical: the data count state {} but the model has {} "
              "states",
              i, p.size()));
    double s = 0;
    for (std::size_t i = 0; i < d.counts.size(); ++i)
      if (d.counts[i] > 0) s += static_cast<double>(d.counts[i]) * std::log(p[i]);
    return s;
  }

  friend bool operator==(const exact_categorical&, const exact_categorical&) = default;

 private:
  categorical c_;
};

/// categorical_fitter on counts: p_i = (count_i + k) / (M + K k). `states` is K; 0 takes K from
/// the previous model (warm start) or from the counts.
struct exact_categorical_fitter {
  using model_type = exact_categorical;
  std::size_t states = 0;
  double pseudocount = 0.0;

  template <Rng G>
  exact_categorical fit(const category_counts& d, G&, event_log& log) const {
    return fit_k(d, states == 0 ? d.counts.size() : states, log);
  }
  template <Rng G>
  exact_categorical fit(const category_counts& d, const exact_categorical& previous, G&,
                        event_log& log) const {
    return fit_k(d, states == 0 ? previous.states() : states, log);
  }

 private:
  exact_categorical fit_k(const category_counts& d, std::size_t k, event_log& log) const {
    if (!(pseudocount >= 0) || !std::isfinite(pseudocount))
      throw std::invalid_argument(fmt::format(
          "ouro::models::exact_categorical_fitter: pseudocount = {} must be finite and >= 0",
          pseudocount));
    if (k == 0) throw std::invalid_argument("ouro::models::exact_categorical_fitter: no states");
    std::vector<double> c(k, pseudocount);
    for (std::size_t i = 0; i < d.counts.size(); ++i) {
      if (d.counts[i] == 0) continue;
      if (i >= k)
        throw std::out_of_range(fmt::format(
            "ouro::models::exact_categorical_fitter: the data count state {} but there are {} "
            "states",
            i, k));
      c[i] += static_cast<double>(d.counts[i]);
    }
    double total = 0;
    for (double v : c) total += v;
    if (total == 0) {
      log.record("no samples and no pseudocount", "fitted the uniform distribution");
      std::fill(c.begin(), c.end(), 1.0);
    }
    return exact_categorical(std::move(c));
  }
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
template <>
struct checkpoint_traits<models::category_counts> {
  static void save(const models::category_counts& d, io::binary_writer& w) {
    w.put_tag("category_counts");
    w.put_vector(d.counts);
  }
  static models::category_counts load(io::binary_reader& r) {
    r.expect_tag("category_counts");
    models::category_counts d;
    d.counts = r.get_vector<std::uint64_t>("counts");
    std::uint64_t t = 0;
    for (auto c : d.counts) {
      if (c > std::numeric_limits<std::uint64_t>::max() - t) r.fail("the counts overflow");
      t += c;
    }
    return d;
  }
};
template <>
struct checkpoint_traits<models::exact_categorical> {
  static void save(const models::exact_categorical& m, io::binary_writer& w) {
    w.put_tag("exact_categorical");
    checkpoint_traits<models::categorical>::save(m.distribution(), w);
  }
  static models::exact_categorical load(io::binary_reader& r) {
    r.expect_tag("exact_categorical");
    return models::exact_categorical(checkpoint_traits<models::categorical>::load(r));
  }
};
}  // namespace ouro::inline v0
