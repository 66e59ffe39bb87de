// Regimes: how generation g's training set is built from real data, past data and fresh synthetic
// data (RegimeFor). See docs/regimes.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/regime.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/core/results.hpp"

namespace ouro::inline v0 {
namespace detail {
/// k distinct indices from [0, n), uniformly, by a partial Fisher-Yates shuffle (k <= n).
template <Rng G>
std::vector<std::size_t> choose_without_replacement(std::size_t n, std::size_t k, G& g) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  for (std::size_t i = 0; i < k; ++i) std::swap(p[i], p[i + uniform_index(g, n - i)]);
  p.resize(k);
  return p;
}
/// The accumulated pool of a replicate: its real data, then M_g new synthetic draws per generation.
template <class D>
struct pool_state {
  D pool{};
  bool started = false;
};
template <class D, class Ctx>
void grow_pool(pool_state<D>& s, Ctx& ctx) {
  if (!s.started) {
    s.pool = ctx.real();
    s.started = true;
  }
  dataset_append(s.pool, ctx.synthetic(ctx.samples()));
}
}  // namespace detail

namespace regime {

/// Generation g trains on M_g fresh draws from model g-1 only (the paper's main setting).
struct replace {
  template <class D>
  struct state {};

  template <class D, class Ctx>
  D next(state<D>&, Ctx& ctx) const {
    return ctx.synthetic(ctx.samples());
  }
  static constexpr std::string_view name() noexcept { return "replace"; }
};

/// Generation g trains on the real data plus every synthetic draw made so far: each generation adds
/// M_g draws from model g-1 to the pool. Memory grows linearly with the generation.
struct accumulate {
  template <class D>
  using state = detail::pool_state<D>;

  template <class D, class Ctx>
  D next(state<D>& s, Ctx& ctx) const {
    detail::grow_pool(s, ctx);
    return s.pool;
  }
  static constexpr std::string_view name() noexcept { return "accumulate"; }
};

/// Like accumulate, but each generation trains on a fixed budget of samples drawn uniformly without
/// replacement from everything accumulated so far (budget 0 means M_g).
struct accumulate_subsample {
  std::size_t budget = 0;

  template <class D>
  using state = detail::pool_state<D>;

  template <class D, class Ctx>
  D next(state<D>& s, Ctx& ctx) const {
    detail::grow_pool(s, ctx);
    const std::size_t n = dataset_size(s.pool);
    const std::size_t k = std::min(n, budget == 0 ? ctx.samples() : budget);
    const auto idx = detail::choose_without_replacement(n, k, ctx.rng());
    return dataset_subset(s.pool, idx);
  }
  static constexpr std::string_view name() noexcept { return "accumulate_subsample"; }
};

/// Where the real part of a mixed training set comes from.
enum class real_source_kind {
  fixed,  ///< a fixed random subset of the replicate's real data, the same in every generation
  fresh,  ///< new draws from the real-data source in every generation
};

/// Each generation trains on round(real_fraction * M_g) real samples and the rest drawn from model
/// g-1. real_fraction = 0 is `replace`; real_fraction = 1 trains on real data only.
struct mix {
  double real_fraction = 0.1;
  real_source_kind source = real_source_kind::fixed;

  template <class D>
  struct state {
    std::vector<std::size_t> order;  // a fixed random order of the real data (source fixed)
  };

  void validate() const {
    if (!(real_fraction >= 0.0 && real_fraction <= 1.0))
      throw std::invalid_argument(
          fmt::format("ouro::regime::mix: real_fraction = {} is outside [0, 1]", real_fraction));
  }

  template <class D, class Ctx>
  D next(state<D>& s, Ctx& ctx) const {
    const std::size_t m = ctx.samples();
    const auto n_real =
        static_cast<std::size_t>(std::llround(real_fraction * static_cast<double>(m)));
    D synth = ctx.synthetic(m - std::min(n_real, m));
    if (n_real == 0) return synth;
    D real_part;
    if (source == real_source_kind::fresh) {
      real_part = ctx.fresh_real(n_real);
    } else {
      const std::size_t n = dataset_size(ctx.real());
      if (s.order.size() != n) s.order = detail::choose_without_replacement(n, n, ctx.rng());
      std::vector<std::size_t> idx(n_real);
      for (std::size_t i = 0; i < n_real; ++i) idx[i] = s.order[i % n];
      if (n_real > n)
        ctx.log().record(fmt::format("mix needs {} real samples but only {} exist", n_real, n),
                         "reused real samples cyclically");
      real_part = dataset_subset(ctx.real(), idx);
    }
    dataset_append(real_part, synth);
    return real_part;
  }
  static constexpr std::string_view name() noexcept { return "mix"; }
};

/// A regime chosen at run time (a command line, a configuration file): its name and settings.
/// with_regime(choice, f) calls f with the regime object; params() lists the settings as they
/// are written into the results.
struct choice {
  std::string name = "replace";  ///< replace, accumulate, accumulate_subsample or mix
  double real_fraction = 0.1;    ///< mix
  real_source_kind source = real_source_kind::fixed;  ///< mix
  std::size_t budget = 0;                             ///< accumulate_subsample (0: M_g)

  static constexpr std::string_view names[] = {"replace", "accumulate", "accumulate_subsample",
                                               "mix"};
  /// Throws config_error naming the choices when `name` is not a regime.
  void validate() const {
    for (auto n : names)
      if (n == name) {
        if (name == "mix" && !(real_fraction >= 0.0 && real_fraction <= 1.0))
          throw config_error(
              fmt::format("regime mix: real_fraction = {} is outside [0, 1]", real_fraction));
        return;
      }
    throw config_error(fmt::format(
        "unknown regime \"{}\" (replace, accumulate, accumulate_subsample or mix)", name));
  }
  /// The settings as written into the results: regime, and real_fraction and real_source (mix) or
  /// budget (accumulate_subsample).
  params to_params() const {
    params p{{"regime", name}};
    if (name == "mix") {
      p.emplace_back("real_fraction", real_fraction);
      p.emplace_back("real_source",
                     std::string(source == real_source_kind::fresh ? "fresh" : "fixed"));
    }
    if (name == "accumulate_subsample") p.emplace_back("budget", static_cast<std::int64_t>(budget));
    return p;
  }
};

}  // namespace regime

/// Calls f with the regime object that `c` names (after c.validate()) and returns what f returns;
/// f is instantiated for every regime type.
template <class F>
decltype(auto) with_regime(const regime::choice& c, F&& f) {
  c.validate();
  if (c.name == "accumulate") return f(regime::accumulate{});
  if (c.name == "accumulate_subsample") return f(regime::accumulate_subsample{c.budget});
  if (c.name == "mix") return f(regime::mix{c.real_fraction, c.source});
  return f(regime::replace{});
}

/// Regime states of the reference regimes.
template <class D>
struct checkpoint_traits<regime::replace::state<D>> {
  static void save(const regime::replace::state<D>&, io::binary_writer&) {}
  static regime::replace::state<D> load(io::binary_reader&) { return {}; }
};
template <Checkpointable D>
struct checkpoint_traits<detail::pool_state<D>> {
  static void save(const detail::pool_state<D>& s, io::binary_writer& w) {
    w.put<std::uint8_t>(s.started);
    if (s.started) checkpoint_traits<D>::save(s.pool, w);
  }
  static detail::pool_state<D> load(io::binary_reader& r) {
    detail::pool_state<D> s;
    s.started = r.get<std::uint8_t>("pool started") != 0;
    if (s.started) s.pool = checkpoint_traits<D>::load(r);
    return s;
  }
};
template <class D>
struct checkpoint_traits<regime::mix::state<D>> {
  static void save(const regime::mix::state<D>& s, io::binary_writer& w) {
    w.put_vector(std::vector<std::uint64_t>(s.order.begin(), s.order.end()));
  }
  static regime::mix::state<D> load(io::binary_reader& r) {
    const auto v = r.get_vector<std::uint64_t>("mix order");
    regime::mix::state<D> s;
    s.order.assign(v.begin(), v.end());
    return s;
  }
};

}  // namespace ouro::inline v0
