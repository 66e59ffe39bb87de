// A loop composed from the library's parts by name and run in C++ with the GIL released
// (ouroboros.loop): a reference model and its fitter (ouroboros.models), a sampler, a regime and
// the library's metrics for that model, chosen by name at run time.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "models_py.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/kde.hpp"
#include "ouroboros/models/metrics/categorical.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"
#include "ouroboros/models/metrics/gmm.hpp"
#include "stepped_run.hpp"

namespace ouro_py {

namespace {

/// The library's metrics of one model type chosen by name: one vector metric whose values are
/// those of the chosen metrics, in the order given.
template <class M, class... X>
struct named_metrics {
  std::vector<std::variant<X...>> chosen;
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& x : chosen) n.push_back(std::visit([](const auto& m) { return m.name(); }, x));
    return n;
  }
  template <class S>
  std::vector<double> operator()(const ouro::generation_context<M, S>& c) const {
    std::vector<double> v;
    v.reserve(chosen.size());
    for (const auto& x : chosen)
      v.push_back(std::visit([&](const auto& m) { return static_cast<double>(m(c)); }, x));
    return v;
  }
};

/// Picks the metrics named in `names` among `all` (each a metric object with name()).
template <class Named, class... X>
Named pick(const std::vector<std::string>& names, const std::string& model, X... all) {
  Named out;
  std::string known;
  ((known += (known.empty() ? "" : ", ") + all.name()), ...);
  if (names.empty())
    throw ouro::config_error(fmt::format("metrics: give at least one of {}", known));
  for (const auto& n : names) {
    bool found = false;
    (
        [&] {
          if (!found && all.name() == n) {
            out.chosen.emplace_back(all);
            found = true;
          }
        }(),
        ...);
    if (!found)
      throw ouro::config_error(fmt::format(
          "metrics: '{}' is not a metric of the {} model (its metrics: {})", n, model, known));
  }
  return out;
}

/// Runs the loop of `fitter`, `sampler` and the regime of `s` on `truth`, one run per M.
template <class Model, class Fitter, class Sampler, class Metrics>
ouro::results run_named(const Model& truth, const Fitter& fitter, const Sampler& sampler,
                        const Metrics& metrics, const ouro::experiments::common_settings& s,
                        const ouro::experiments::run_setup& setup, const std::string& name) {
  ouro::results res;
  res.experiment = name;
  res.config = s.regime_choice().to_params();
  res.config.emplace_back("generations", static_cast<std::int64_t>(s.generations));
  res.config.emplace_back("replicates", static_cast<std::int64_t>(s.replicates));
  const auto t0 = std::chrono::steady_clock::now();
  ouro::with_regime(s.regime_choice(), [&](auto regime) {
    const ouro::collapse_loop loop{fitter, sampler, regime, metrics};
    for (std::size_t M : s.samples) {
      if (ouro::experiments::detail::interrupted(res)) break;
      res.runs.push_back(
          loop.run(ouro::from_truth(truth), ouro::experiments::detail::options_for(s, M, setup)));
    }
  });
  res.seconds = ouro::experiments::detail::seconds_since(t0);
  return res;
}

/// What a named loop does with its parts: every run to the end, or a stepped run of the first
/// sample size.
struct named_action {
  const ouro::experiments::common_settings* s;
  const ouro::experiments::run_setup* setup;
  std::string name;
  bool stepped = false;
  ouro::results results;
  std::unique_ptr<stepped_run> run;

  template <class Model, class Fitter, class Sampler, class Metrics>
  void operator()(const Model& truth, const Fitter& fitter, const Sampler& sampler,
                  const Metrics& metrics) {
    if (!stepped) {
      results = run_named(truth, fitter, sampler, metrics, *s, *setup, name);
      return;
    }
    ouro::with_regime(s->regime_choice(), [&](auto regime) {
      using L = decltype(ouro::collapse_loop{fitter, sampler, regime, metrics});
      using Src = decltype(ouro::from_truth(truth));
      run = std::make_unique<stepped_run_of<L, Src>>(
          L{fitter, sampler, regime, metrics}, ouro::from_truth(truth),
          ouro::experiments::detail::options_for(*s, s->samples[0], *setup));
    });
  }
};

/// The sampler by name: None or "ancestral", or ("truncate", q) where the model has densities.
double truncation_of(const py::object& sampler, bool has_density, const std::string& model) {
  if (sampler.is_none()) return 0;
  if (py::isinstance<py::str>(sampler) && sampler.cast<std::string>() == "ancestral") return 0;
  if ((py::isinstance<py::tuple>(sampler) || py::isinstance<py::list>(sampler)) &&
      py::len(sampler) == 2 && py::isinstance<py::str>(sampler[py::int_(0)]) &&
      sampler[py::int_(0)].cast<std::string>() == "truncate") {
    if (!has_density)
      throw ouro::config_error(fmt::format(
          "sampler: truncation needs a model with densities of its samples; the {} model has "
          "'ancestral' only",
          model));
    const double q = cast_setting<double>("sampler", sampler[py::int_(1)]);
    if (!(q >= 0 && q <= 0.99))
      throw ouro::config_error(fmt::format("sampler: truncate q = {} is outside [0, 0.99]", q));
    return q;
  }
  throw py::type_error("sampler: give None, 'ancestral' or ('truncate', q)");
}

}  // namespace

void bind_named_loop(py::module_& m) {
  namespace om = ouro::models;
  namespace mt = ouro::metrics;
  m.def(
      "_loop",
      [](const py::object& model, const py::object& fit, const std::vector<std::string>& metrics,
         const py::object& sampler, const py::dict& settings, unsigned threads,
         const std::string& keep, bool progress, const std::string& name, bool stepped) {
        using S = ouro::experiments::common_settings;
        const S s = settings_from<S>("loop", common_fields<S>(), settings);
        ouro::experiments::detail::check_common(s);
        if (stepped && s.samples.size() != 1)
          throw ouro::config_error("samples: a stepped run takes one sample size");
        const run_control c = control_from(name, threads, keep, progress);
        py_results out;
        const auto wrong_fit = [&](const char* model_name, const char* fitter) {
          return py::type_error(
              fmt::format("fit: a {} model needs ouroboros.models.{}, not {}", model_name, fitter,
                          std::string(py::str(py::type::of(fit).attr("__name__")))));
        };
        const auto setup = c.setup();
        named_action act{&s, &setup, name, stepped, {}, {}};
        const auto run = [&](auto&& f) {
          {
            py::gil_scoped_release release;
            f();
          }
          raise_if_interrupted(c);
        };
        if (py::isinstance<om::gaussian>(model)) {
          if (!py::isinstance<gaussian_fitter_py>(fit))
            throw wrong_fit("Gaussian", "GaussianFitter");
          const auto truth = model.cast<om::gaussian>();
          const auto f = fit.cast<gaussian_fitter_py>();
          (void)truncation_of(sampler, false, "Gaussian");
          using named = named_metrics<om::gaussian, mt::mean, mt::variance, mt::std_dev,
                                      mt::log_variance, mt::mean_sq_error, mt::w2_sq>;
          const auto chosen = pick<named>(
              metrics, "Gaussian", mt::mean{}, mt::variance{}, mt::std_dev{}, mt::log_variance{},
              mt::mean_sq_error{truth.mean()}, mt::w2_sq{truth.mean(), truth.variance()});
          run([&] {
            if (f.estimator == "mle")
              act(truth, om::gaussian_fitter<om::mle>{f.floor}, ouro::sample::ancestral{}, chosen);
            else
              act(truth, om::gaussian_fitter<om::unbiased>{f.floor}, ouro::sample::ancestral{},
                  chosen);
          });
        } else if (py::isinstance<om::categorical>(model)) {
          if (!py::isinstance<om::categorical_fitter>(fit))
            throw wrong_fit("Categorical", "CategoricalFitter");
          const auto truth = model.cast<om::categorical>();
          const auto f = fit.cast<om::categorical_fitter>();
          (void)truncation_of(sampler, false, "Categorical");
          using named =
              named_metrics<om::categorical, mt::heterozygosity, mt::entropy, mt::support_size>;
          const auto chosen = pick<named>(metrics, "Categorical", mt::heterozygosity{},
                                          mt::entropy{}, mt::support_size{});
          run([&] { act(truth, f, ouro::sample::ancestral{}, chosen); });
        } else if (py::isinstance<om::kde>(model)) {
          if (!py::isinstance<om::kde_fitter>(fit)) throw wrong_fit("KDE", "KDEFitter");
          const auto truth = model.cast<om::kde>();
          const auto f = fit.cast<om::kde_fitter>();
          (void)truncation_of(sampler, false, "KDE");
          using named = named_metrics<om::kde, mt::kde_variance, mt::kde_l2_to_normal>;
          const auto chosen =
              pick<named>(metrics, "KDE", mt::kde_variance{}, mt::kde_l2_to_normal{0.0, 1.0});
          run([&] { act(truth, f, ouro::sample::ancestral{}, chosen); });
        } else if (py::isinstance<om::gmm>(model)) {
          if (!py::isinstance<gmm_fitter_py>(fit)) throw wrong_fit("GMM", "GMMFitter");
          const auto truth = model.cast<om::gmm>();
          const auto f = fit.cast<gmm_fitter_py>();
          const double q = truncation_of(sampler, true, "GMM");
          for (std::size_t M : s.samples)
            if (f.components > M)
              throw ouro::config_error(fmt::format(
                  "samples: {} is fewer than the fitter's {} components", M, f.components));
          using named = named_metrics<om::gmm, mt::total_variance, mt::component_std,
                                      mt::l2_distance, mt::l2_distance_to_first, mt::mean_norm>;
          const auto chosen =
              pick<named>(metrics, "GMM", mt::total_variance{}, mt::component_std{},
                          mt::l2_distance{truth}, mt::l2_distance_to_first{}, mt::mean_norm{});
          const auto cov = f.covariance == "diagonal"    ? om::covariance_type::diagonal
                           : f.covariance == "spherical" ? om::covariance_type::spherical
                                                         : om::covariance_type::full;
          auto go = [&](auto init) {
            const om::gmm_fitter<decltype(init)> fitter{.components = f.components,
                                                        .covariance = cov,
                                                        .reg_covar = f.reg_covar,
                                                        .tol = f.tol,
                                                        .max_iter = f.max_iter,
                                                        .n_init = f.n_init};
            act(truth, fitter, ouro::sample::density_truncation{q}, chosen);
          };
          run([&] {
            if (f.init == "random")
              go(om::init::random_responsibilities{});
            else
              go(om::init::kmeans{});
          });
        } else {
          throw py::type_error(fmt::format(
              "model: give a model of ouroboros.models (Gaussian, Categorical, KDE or GMM), not "
              "{}; a model of your own runs in ouroboros.collapse",
              std::string(py::str(py::type::of(model).attr("__name__")))));
        }
        if (stepped) return py::cast(std::move(act.run));
        out.res = std::move(act.results);
        return py::cast(std::move(out));
      },
      py::arg("model"), py::arg("fit"), py::arg("metrics"), py::arg("sampler"), py::arg("settings"),
      py::arg("threads"), py::arg("keep"), py::arg("progress"), py::arg("name"),
      py::arg("stepped") = false);
}

}  // namespace ouro_py
