// The reference models' fitters as Python objects hold (ouroboros.models), shared by the
// bindings of the models and of the loop of named parts.
#pragma once

#include <optional>
#include <string>

#include "bindings.hpp"
#include "ouroboros/core/engine.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"

namespace ouro_py {

ouro::default_rng stream_of(const py::object& rng);
std::vector<double> to_vector(const py::handle& x, const char* what);
xt::xtensor<double, 2> to_rows(const py::handle& x);

/// Runs a C++ constructor or fit; its std::invalid_argument becomes ValueError.
template <class F>
auto checked(F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

/// GaussianFitter: the estimator by name and an optional variance floor.
struct gaussian_fitter_py {
  std::string estimator = "unbiased";
  std::optional<double> floor;
  ouro::models::gaussian fit(const py::object& data, const py::object& rng) const {
    const auto x = to_vector(data, "data");
    auto g = stream_of(rng);
    ouro::event_log log;
    return checked([&] {
      return estimator == "mle"
                 ? ouro::models::gaussian_fitter<ouro::models::mle>{floor}.fit(x, g, log)
                 : ouro::models::gaussian_fitter<ouro::models::unbiased>{floor}.fit(x, g, log);
    });
  }
};

/// GMMFitter: EM's settings.
struct gmm_fitter_py {
  std::size_t components = 2;
  std::string covariance = "full", init = "kmeans";
  double reg_covar = 1e-6, tol = 1e-5;
  std::size_t max_iter = 2000, n_init = 1;
  ouro::models::gmm fit(const py::object& data, const py::object& rng) const {
    const auto x = to_rows(data);
    auto g = stream_of(rng);
    ouro::event_log log;
    const auto cov = covariance == "diagonal"    ? ouro::models::covariance_type::diagonal
                     : covariance == "spherical" ? ouro::models::covariance_type::spherical
                                                 : ouro::models::covariance_type::full;
    py::gil_scoped_release release;
    auto run = [&](auto init_kind) {
      return ouro::models::gmm_fitter<decltype(init_kind)>{.components = components,
                                                           .covariance = cov,
                                                           .reg_covar = reg_covar,
                                                           .tol = tol,
                                                           .max_iter = max_iter,
                                                           .n_init = n_init}
          .fit(x, g, log);
    };
    return checked([&] {
      return init == "random" ? run(ouro::models::init::random_responsibilities{})
                              : run(ouro::models::init::kmeans{});
    });
  }
};

}  // namespace ouro_py
