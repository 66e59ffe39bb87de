// The categorical (discrete) reference model over K states, and its empirical-frequency fitter.
// Resampling M draws and refitting is the Wright-Fisher model of population genetics.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"

namespace ouro::inline v0::models {

/// A distribution over the states 0 .. K-1, sampled in O(1) per draw through Walker's alias table
/// (Vose's construction). Probabilities may be zero (lost states).
class categorical {
 public:
  using dataset_type = std::vector<std::uint32_t>;

  categorical() : categorical(std::vector<double>{1.0}) {}

  /// `weights` are non-negative and finite with a positive sum; they are normalised to sum to 1.
  explicit categorical(std::vector<double> weights) : p_(std::move(weights)) {
    if (p_.empty()) throw std::invalid_argument("ouro::models::categorical: no states given");
    if (p_.size() > std::numeric_limits<std::uint32_t>::max())
      throw std::invalid_argument("ouro::models::categorical: more than 2^32 - 1 states");
    double sum = 0;
    for (std::size_t i = 0; i < p_.size(); ++i) {
      if (!std::isfinite(p_[i]) || p_[i] < 0)
        throw std::invalid_argument(fmt::format(
            "ouro::models::categorical: weight {} of state {} is negative or not finite", p_[i],
            i));
      sum += p_[i];
    }
    if (!(sum > 0)) throw std::invalid_argument("ouro::models::categorical: the weights sum to 0");
    for (double& v : p_) v /= sum;
    build_alias();
  }

  std::size_t states() const noexcept { return p_.size(); }
  const std::vector<double>& probs() const noexcept { return p_; }
  double prob(std::size_t i) const { return p_.at(i); }

  /// One draw: a uniform column, then a biased coin between the column and its alias.
  template <Rng G>
  std::uint32_t draw(G& g) const {
    const std::uint64_t u = random_bits64(g);
    const __uint128_t m = static_cast<__uint128_t>(u) * p_.size();
    const auto col = static_cast<std::uint32_t>(m >> 64);
    const auto frac = static_cast<std::uint64_t>(m);  // the rest of u: uniform within the column
    return frac < threshold_[col] ? col : alias_[col];
  }

  template <Rng G>
  dataset_type sample(std::size_t n, G& g) const {
    dataset_type x(n);
    for (auto& v : x) v = draw(g);
    return x;
  }

  /// Sum of log p(x_i); -inf when a sample falls on a state of probability zero.
  double log_likelihood(const dataset_type& x) const {
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] >= p_.size())
        throw std::out_of_range(fmt::format(
            "ouro::models::categorical: sample {} is state {} but the model has {} states", i, x[i],
            p_.size()));
      s += std::log(p_[x[i]]);
    }
    return s;
  }

  friend bool operator==(const categorical& a, const categorical& b) { return a.p_ == b.p_; }

 private:
  void build_alias() {
    const std::size_t k = p_.size();
    threshold_.assign(k, 0);
    alias_.assign(k, 0);
    std::vector<double> scaled(k);
    std::vector<std::uint32_t> small, large;
    for (std::size_t i = 0; i < k; ++i) {
      scaled[i] = p_[i] * static_cast<double>(k);
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
    }
    constexpr double two64 = 18446744073709551616.0;
    const auto to_threshold = [&](double q) -> std::uint64_t {
      if (q >= 1.0) return std::numeric_limits<std::uint64_t>::max();
      return static_cast<std::uint64_t>(q * two64);
    };
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back(), l = large.back();
      small.pop_back();
      threshold_[s] = to_threshold(scaled[s]);
      alias_[s] = l;
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // what is left has probability 1 within rounding
    for (auto i : large) threshold_[i] = std::numeric_limits<std::uint64_t>::max(), alias_[i] = i;
    for (auto i : small) threshold_[i] = std::numeric_limits<std::uint64_t>::max(), alias_[i] = i;
  }

  friend struct ouro::checkpoint_traits<categorical>;
  std::vector<double> p_;
  std::vector<std::uint64_t> threshold_;
  std::vector<std::uint32_t> alias_;
};

/// Fits a categorical model by empirical frequencies, optionally with add-k smoothing:
/// p_i = (count_i + k) / (M + K k). `states` is K; 0 takes K from the previous model (warm start)
/// or from the largest state seen.
struct categorical_fitter {
  using model_type = categorical;
  std::size_t states = 0;
  double pseudocount = 0.0;

  template <Rng G>
  categorical fit(const std::vector<std::uint32_t>& x, G&, event_log& log) const {
    std::size_t k = states;
    if (k == 0)
      for (auto v : x) k = std::max<std::size_t>(k, std::size_t{v} + 1);
    return fit_k(x, k, log);
  }
  template <Rng G>
  categorical fit(const std::vector<std::uint32_t>& x, const categorical& previous, G&,
                  event_log& log) const {
    return fit_k(x, states == 0 ? previous.states() : states, log);
  }

 private:
  categorical fit_k(const std::vector<std::uint32_t>& x, std::size_t k, event_log& log) const {
    if (!(pseudocount >= 0) || !std::isfinite(pseudocount))
      throw std::invalid_argument(
          fmt::format("ouro::models::categorical_fitter: pseudocount = {} must be finite and >= 0",
                      pseudocount));
    if (k == 0) throw std::invalid_argument("ouro::models::categorical_fitter: no states");
    std::vector<double> c(k, pseudocount);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] >= k)
        throw std::out_of_range(fmt::format(
            "ouro::models::categorical_fitter: sample {} is state {} but there are {} states", i,
            x[i], k));
      c[x[i]] += 1.0;
    }
    double total = 0;
    for (double v : c) total += v;
    if (total == 0) {
      log.record("no samples and no pseudocount", "fitted the uniform distribution");
      std::fill(c.begin(), c.end(), 1.0);
    }
    return categorical(std::move(c));
  }
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
/// The probabilities, exactly (the alias table is rebuilt from them).
template <>
struct checkpoint_traits<models::categorical> {
  static void save(const models::categorical& m, io::binary_writer& w) {
    w.put_tag("categorical");
    w.put_vector(m.probs());
  }
  static models::categorical load(io::binary_reader& r) {
    r.expect_tag("categorical");
    auto p = r.get_vector<double>("probabilities");
    for (double v : p)
      if (!(v >= 0) || !std::isfinite(v)) r.fail("a probability is negative or not finite");
    try {
      models::categorical m(p);  // validates (and renormalises: the exact values are put back)
      m.p_ = std::move(p);
      m.build_alias();
      return m;
    } catch (const std::invalid_argument& e) {
      r.fail(e.what());
    }
  }
};
}  // namespace ouro::inline v0
