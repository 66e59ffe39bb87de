// The GMM experiment of Shumailov et al. (the program gmm_collapse): each generation fits a
// Gaussian mixture by EM to samples of the previous generation's mixture; generation 0 to real
// 2-D data. See ouroboros/experiments/common.hpp and docs/gmm.md.
#pragma once

#include <chrono>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/metrics.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/models/figures.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/metrics/gmm.hpp"

namespace ouro::inline v0::experiments {

/// gmm_collapse's settings, with its defaults (the paper's notebook: k-means initialisation,
/// tol 1e-5, max_iter 2000, reg_covar 1e-6).
struct gmm_settings : common_settings {
  std::size_t components = 2;       ///< mixture components K
  std::string covariance = "full";  ///< full, diagonal or spherical
  double reg_covar = 1e-6;          ///< added to every covariance diagonal
  std::string init = "kmeans";      ///< kmeans, random or warm_start
  double tol = 1e-5;                ///< EM stops when the mean log-likelihood changes less
  std::size_t max_iter = 2000;      ///< EM iterations at most
  std::size_t n_init = 1;           ///< EM restarts; the best lower bound is kept
  std::string truth = "blob";       ///< blob (2-D N(0, I)) or two (two unit blobs at (+-2, 0))
  double truncate = 0;              ///< drop draws below the model's Q-quantile of density
  gmm_settings() {
    samples = {500, 1000};
    generations = 2000;
    replicates = 8;
  }
};

/// The true mixture the settings name.
inline models::gmm gmm_truth(const std::string& name) {
  if (name == "two")
    return models::gmm({0.5, 0.5}, {-2.0, 0.0, 2.0, 0.0},
                       {matrix::identity(2), matrix::identity(2)});
  return models::gmm({1.0}, {0.0, 0.0}, {matrix::identity(2)});
}

/// The generations whose model (replicate 0) gmm_collapse keeps as snapshots: 0, 50, 100, 150,
/// 200, 350, 1000, 2000 (those below G) and the last.
inline std::set<std::size_t> gmm_snapshot_generations(std::size_t G) {
  std::set<std::size_t> at;
  for (std::size_t g : {0, 50, 100, 150, 200, 350, 1000, 2000})
    if (g < G) at.insert(g);
  at.insert(G - 1);
  return at;
}

namespace detail {
template <class Init, class Regime, class KL, class Tail>
auto gmm_loop(const gmm_settings& s, const models::gmm& truth, const KL& kl, const Tail& tail,
              Regime regime) {
  const auto cov = s.covariance == "diagonal"    ? models::covariance_type::diagonal
                   : s.covariance == "spherical" ? models::covariance_type::spherical
                                                 : models::covariance_type::full;
  const models::gmm_fitter<Init> fit{.components = s.components,
                                     .covariance = cov,
                                     .reg_covar = s.reg_covar,
                                     .tol = s.tol,
                                     .max_iter = s.max_iter,
                                     .n_init = s.n_init};
  return collapse_loop{fit,
                       sample::density_truncation{s.truncate},
                       regime,
                       metrics::total_variance{},
                       metrics::component_std{},
                       metrics::l2_distance{truth},
                       metrics::l2_distance_to_first{},
                       kl,
                       metrics::mean_norm{},
                       tail};
}
}  // namespace detail

/// Throws config_error (starting with the setting's name) for settings the experiment refuses.
inline void check(const gmm_settings& s) {
  detail::check_common(s);
  if (s.components < 1 || s.components > 1000)
    throw config_error(fmt::format("components: {} is outside [1, 1000]", s.components));
  if (s.covariance != "full" && s.covariance != "diagonal" && s.covariance != "spherical")
    throw config_error(
        fmt::format("covariance: '{}' is not one of full, diagonal and spherical", s.covariance));
  if (!(s.reg_covar >= 0 && s.reg_covar < 1e300))
    throw config_error(fmt::format("reg_covar: {} must be a finite number >= 0", s.reg_covar));
  if (s.init != "kmeans" && s.init != "random" && s.init != "warm_start")
    throw config_error(
        fmt::format("init: '{}' is not one of kmeans, random and warm_start", s.init));
  if (!(s.tol >= 0 && s.tol < 1e300))
    throw config_error(fmt::format("tol: {} must be a finite number >= 0", s.tol));
  if (s.max_iter < 1 || s.max_iter > 1'000'000)
    throw config_error(fmt::format("max_iter: {} is outside [1, 1000000]", s.max_iter));
  if (s.n_init < 1 || s.n_init > 1000)
    throw config_error(fmt::format("n_init: {} is outside [1, 1000]", s.n_init));
  if (s.truth != "blob" && s.truth != "two")
    throw config_error(fmt::format("truth: '{}' is neither blob nor two", s.truth));
  if (!(s.truncate >= 0 && s.truncate <= 0.99))
    throw config_error(fmt::format("truncate: {} is outside [0, 0.99]", s.truncate));
  for (std::size_t M : s.samples)
    if (s.components > M)
      throw config_error(fmt::format(
          "components: {} is more than samples {}: a mixture needs at least one point per "
          "component",
          s.components, M));
}

/// The metrics of gmm_collapse, in order.
inline std::vector<std::string> gmm_metric_names() {
  return {"total_variance",       "component_std", "l2_distance",
          "l2_distance_to_first", "kl_to_truth",   "kl_to_truth_se",
          "heldout_loglik",       "mean_norm",     "tail_mass"};
}

/// Runs gmm_collapse: one run per M. When `snapshots` is given, replicate 0's model at
/// gmm_snapshot_generations(G) is appended to it (the program writes them into the results and
/// draws their contours).
inline results gmm_collapse(const gmm_settings& s, const run_setup& setup = {},
                            std::vector<models::gmm_snapshot>* snapshots = nullptr) {
  check(s);
  const models::gmm truth = gmm_truth(s.truth);
  // a fixed held-out real sample for heldout_loglik and kl_to_truth, the same for every run
  default_rng held_rng = make_stream(s.seed, 0, 0, stream_role::user);
  const auto heldout = truth.sample(2000, held_rng);
  // the metrics' fixed parts (the truth's 99% density level from 200,000 draws) are set up once,
  // before the clock starts, like the held-out sample
  const auto tail_mass = metrics::tail_mass_gmm::make(truth);
  const auto kl = metrics::kl_to_truth_mc::on_heldout(truth, heldout);

  results res;
  res.experiment = "gmm_collapse";
  res.config = {{"truth", s.truth},
                {"components", static_cast<std::int64_t>(s.components)},
                {"covariance", s.covariance},
                {"reg_covar", s.reg_covar},
                {"init", s.init},
                {"tol", s.tol},
                {"max_iter", static_cast<std::int64_t>(s.max_iter)},
                {"n_init", static_cast<std::int64_t>(s.n_init)},
                {"truncate", s.truncate}};
  detail::add_common_config(res, s);
  const auto snap_at = gmm_snapshot_generations(s.generations);

  const auto t0 = std::chrono::steady_clock::now();
  auto run_all = [&](auto init) {
    with_regime(s.regime_choice(), [&](auto regime) {
      const auto loop = detail::gmm_loop<decltype(init)>(s, truth, kl, tail_mass, regime);
      for (std::size_t M : s.samples) {
        if (detail::interrupted(res)) break;
        const run_options opt = detail::options_for(s, M, setup);
        res.runs.push_back(loop.run(from_truth(truth), opt,
                                    [&](std::size_t g, std::span<const models::gmm* const> ms) {
                                      if (snapshots && snap_at.count(g) && ms[0])
                                        snapshots->push_back({opt.label, g, *ms[0]});
                                    }));
      }
    });
  };
  if (s.init == "random")
    run_all(models::init::random_responsibilities{});
  else if (s.init == "warm_start")
    run_all(models::init::warm_start{});
  else
    run_all(models::init::kmeans{});
  res.seconds = detail::seconds_since(t0);
  return res;
}

/// The contour figure of gmm_collapse: the snapshots' densities (rows: runs; columns:
/// generations), as `dir`/gmm_model_collapse_results.png.
inline io::plot_status gmm_contours(const std::vector<models::gmm_snapshot>& snapshots,
                                    const std::filesystem::path& dir) {
  return models::plot_gmm_contours(snapshots, dir / "gmm_model_collapse_results.png",
                                   "GMM model collapse: density contours of replicate 0 (rows: "
                                   "runs; columns: generations)");
}

/// The summary figure of gmm_collapse (gmm_sample_size_comparison.png).
inline io::figure_options gmm_figure() {
  io::figure_options f;
  f.title = "GMM collapse by sample size: mean over replicates with 95% band";
  f.panels = {{"total_variance", "total variance", true},
              {"l2_distance", "L2 distance to the truth", true}};
  f.panel_width = 700;
  f.panel_height = 500;
  return f;
}

}  // namespace ouro::inline v0::experiments
