// The reference models as Python objects (ouroboros.models): parameters as numpy arrays,
// sample(n, rng), log_likelihood(x), and fitters whose fit(data, rng) returns the next model, so
// that they drop into ouroboros.collapse as Python models do. `rng` is a numpy Generator (one
// 64-bit draw of it seeds the C++ stream of the call), an int seed, or None (seed 0).
#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "models_py.hpp"
#include "ouroboros/core/engine.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/kde.hpp"

namespace ouro_py {

using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// The C++ stream of one call: from a numpy Generator, an int seed, or None.
ouro::default_rng stream_of(const py::object& rng) {
  if (rng.is_none()) return ouro::default_rng(0);
  if (py::isinstance<py::int_>(rng) && !py::isinstance<py::bool_>(rng))
    return ouro::default_rng(cast_setting<std::uint64_t>("rng", rng));
  if (py::hasattr(rng, "integers"))
    return ouro::default_rng(
        rng.attr("integers")(
               0, py::int_(py::reinterpret_steal<py::object>(PyLong_FromUnsignedLongLong(~0ULL))),
               py::arg("dtype") = "uint64", py::arg("endpoint") = true)
            .cast<std::uint64_t>());
  throw py::type_error("rng: give a numpy.random.Generator, an int seed or None");
}

std::vector<double> to_vector(const py::handle& x, const char* what) {
  darray a = darray::ensure(x);
  if (!a || a.ndim() != 1)
    throw py::value_error(fmt::format("{}: give a 1-D array of numbers", what));
  return {a.data(), a.data() + a.size()};
}

py::array_t<double> from_vector(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

std::vector<std::uint32_t> to_states(const py::handle& x, std::size_t K) {
  darray a = darray::ensure(x);
  if (!a || a.ndim() != 1) throw py::value_error("data: give a 1-D array of state indices");
  std::vector<std::uint32_t> s(static_cast<std::size_t>(a.size()));
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double v = a.data()[i];
    if (!(v >= 0 && v == std::floor(v) && (K == 0 || v < static_cast<double>(K)) &&
          v < 4294967295.0))
      throw py::value_error(fmt::format("data: value {} at position {} is not a state index{}", v,
                                        i, K ? fmt::format(" in [0, {})", K) : std::string()));
    s[i] = static_cast<std::uint32_t>(v);
  }
  return s;
}

xt::xtensor<double, 2> to_rows(const py::handle& x) {
  darray a = darray::ensure(x);
  if (!a || a.ndim() != 2) throw py::value_error("data: give an (n, d) array of numbers");
  xt::xtensor<double, 2> t = xt::xtensor<double, 2>::from_shape(
      {static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1))});
  std::copy(a.data(), a.data() + a.size(), t.data());
  return t;
}

py::array_t<double> from_rows(const xt::xtensor<double, 2>& t) {
  py::array_t<double> a(
      {static_cast<py::ssize_t>(t.shape()[0]), static_cast<py::ssize_t>(t.shape()[1])});
  std::copy(t.data(), t.data() + t.size(), a.mutable_data());
  return a;
}

/// Finite values only (a fit or a KDE of NaN or infinities is refused), at least one.
std::vector<double> finite_values(const py::handle& x, const char* what) {
  auto v = to_vector(x, what);
  if (v.empty()) throw py::value_error(fmt::format("{}: give at least one value", what));
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw py::value_error(
          fmt::format("{}: value {} at position {} is not finite", what, v[i], i));
  return v;
}

ouro::models::kde make_kde(const py::handle& points, double h) {
  if (!(h > 0 && std::isfinite(h)))
    throw py::value_error("h: the bandwidth must be a finite number > 0");
  return ouro::models::kde{finite_values(points, "points"), h};
}

void bind_models(py::module_& m) {
  namespace om = ouro::models;
  auto sub = m.def_submodule("models", "The reference models (ouroboros.models).");

  py::class_<om::gaussian>(sub, "Gaussian", "N(mean, variance) in one dimension.")
      .def(py::init([](double mean, double variance) {
             return checked([&] { return om::gaussian(mean, variance); });
           }),
           py::arg("mean") = 0.0, py::arg("variance") = 1.0)
      .def_property_readonly("mean", &om::gaussian::mean)
      .def_property_readonly("variance", &om::gaussian::variance)
      .def_property_readonly("sd", &om::gaussian::sd)
      .def(
          "sample",
          [](const om::gaussian& g, std::size_t n, const py::object& rng) {
            auto s = stream_of(rng);
            return from_vector(g.sample(n, s));
          },
          py::arg("n"), py::arg("rng") = py::none(), "n draws, a 1-D array.")
      .def(
          "log_likelihood",
          [](const om::gaussian& g, const py::object& x) {
            return g.log_likelihood(to_vector(x, "x"));
          },
          py::arg("x"), "The total log-likelihood of the values x.")
      .def(py::pickle([](const om::gaussian& g) { return py::make_tuple(g.mean(), g.variance()); },
                      [](const py::tuple& t) {
                        return om::gaussian(t[0].cast<double>(), t[1].cast<double>());
                      }))
      .def("__repr__", [](const om::gaussian& g) {
        return fmt::format("Gaussian(mean={}, variance={})", g.mean(), g.variance());
      });

  py::class_<gaussian_fitter_py>(sub, "GaussianFitter",
                                 "Fits N(mean, variance): estimator 'unbiased' (divide by n-1) "
                                 "or 'mle' (divide by n); an optional variance floor.")
      .def(py::init([](const std::string& estimator, std::optional<double> floor) {
             if (estimator != "unbiased" && estimator != "mle")
               throw py::value_error(
                   fmt::format("estimator: '{}' is neither unbiased nor mle", estimator));
             if (floor && !(*floor > 0 && std::isfinite(*floor)))
               throw py::value_error("variance_floor: must be a finite number > 0, or None");
             return gaussian_fitter_py{estimator, floor};
           }),
           py::arg("estimator") = "unbiased", py::arg("variance_floor") = py::none())
      .def("fit", &gaussian_fitter_py::fit, py::arg("data"), py::arg("rng") = py::none(),
           "The Gaussian fitted to the 1-D array data.");

  py::class_<om::categorical>(sub, "Categorical", "A categorical distribution over K states.")
      .def(py::init([](const py::object& probs) {
             return checked([&] { return om::categorical(to_vector(probs, "probs")); });
           }),
           py::arg("probs"))
      .def_property_readonly("probs",
                             [](const om::categorical& c) { return from_vector(c.probs()); })
      .def(
          "sample",
          [](const om::categorical& c, std::size_t n, const py::object& rng) {
            auto s = stream_of(rng);
            const auto x = c.sample(n, s);
            py::array_t<std::int64_t> a(static_cast<py::ssize_t>(x.size()));
            std::copy(x.begin(), x.end(), a.mutable_data());
            return a;
          },
          py::arg("n"), py::arg("rng") = py::none(), "n state indices.")
      .def(
          "log_likelihood",
          [](const om::categorical& c, const py::object& x) {
            return c.log_likelihood(to_states(x, c.probs().size()));
          },
          py::arg("x"))
      .def(py::pickle(
          [](const om::categorical& c) { return py::make_tuple(c.probs()); },
          [](const py::tuple& t) { return om::categorical(t[0].cast<std::vector<double>>()); }));

  py::class_<om::categorical_fitter>(sub, "CategoricalFitter",
                                     "Fits the frequencies of K states (add-k smoothing with a "
                                     "pseudocount).")
      .def(py::init([](std::size_t states, double pseudocount) {
             if (!(pseudocount >= 0 && pseudocount <= 1e12))
               throw py::value_error("pseudocount: must be a number in [0, 1e12]");
             return om::categorical_fitter{states, pseudocount};
           }),
           py::arg("states"), py::arg("pseudocount") = 0.0)
      .def(
          "fit",
          [](const om::categorical_fitter& f, const py::object& data, const py::object& rng) {
            auto g = stream_of(rng);
            ouro::event_log log;
            const auto x = to_states(data, f.states);
            return checked([&] { return f.fit(x, g, log); });
          },
          py::arg("data"), py::arg("rng") = py::none());

  py::class_<om::kde>(sub, "KDE", "A 1-D Gaussian kernel density estimate: points and bandwidth h.")
      .def(py::init([](const py::object& points, double h) { return make_kde(points, h); }),
           py::arg("points"), py::arg("h"))
      .def_property_readonly("points", [](const om::kde& k) { return from_vector(k.points); })
      .def_readonly("h", &om::kde::h)
      .def(
          "sample",
          [](const om::kde& k, std::size_t n, const py::object& rng) {
            auto s = stream_of(rng);
            return from_vector(k.sample(n, s));
          },
          py::arg("n"), py::arg("rng") = py::none())
      .def(py::pickle([](const om::kde& k) { return py::make_tuple(k.points, k.h); },
                      [](const py::tuple& t) {
                        if (t.size() != 2) throw py::value_error("KDE: not a pickled KDE state");
                        return make_kde(t[0], t[1].cast<double>());
                      }));

  py::class_<om::kde_fitter>(sub, "KDEFitter",
                             "Keeps the points; bandwidth None (Silverman's rule) or a fixed h.")
      .def(py::init([](std::optional<double> h) {
             if (h && !(*h > 0 && std::isfinite(*h)))
               throw py::value_error("bandwidth: must be a finite number > 0, or None");
             return om::kde_fitter{h};
           }),
           py::arg("bandwidth") = py::none())
      .def(
          "fit",
          [](const om::kde_fitter& f, const py::object& data, const py::object& rng) {
            auto g = stream_of(rng);
            ouro::event_log log;
            const auto x = finite_values(data, "data");
            return checked([&] { return f.fit(x, g, log); });
          },
          py::arg("data"), py::arg("rng") = py::none());

  py::class_<om::gmm>(sub, "GMM",
                      "A Gaussian mixture: weights (K), means (K, d), covariances (K, d, d).")
      .def(py::init([](const py::object& weights, const py::object& means,
                       const py::object& covariances) {
             const auto w = to_vector(weights, "weights");
             darray mu = darray::ensure(means), cv = darray::ensure(covariances);
             if (!mu || mu.ndim() != 2 || static_cast<std::size_t>(mu.shape(0)) != w.size())
               throw py::value_error("means: give a (K, d) array, one row per weight");
             const auto d = static_cast<std::size_t>(mu.shape(1));
             if (!cv || cv.ndim() != 3 || static_cast<std::size_t>(cv.shape(0)) != w.size() ||
                 static_cast<std::size_t>(cv.shape(1)) != d ||
                 static_cast<std::size_t>(cv.shape(2)) != d)
               throw py::value_error("covariances: give a (K, d, d) array");
             std::vector<ouro::matrix> covs;
             for (std::size_t k = 0; k < w.size(); ++k) {
               ouro::matrix c(d);
               std::copy(cv.data() + k * d * d, cv.data() + (k + 1) * d * d, c.a.begin());
               for (std::size_t i = 0; i < d; ++i)
                 for (std::size_t j = 0; j < i; ++j)
                   if (!(std::abs(c(i, j) - c(j, i)) <=
                         1e-12 * std::max({1.0, std::abs(c(i, j)), std::abs(c(j, i))})))
                     throw py::value_error(fmt::format(
                         "covariances: matrix {} is not symmetric (entry ({}, {}) is {}, ({}, {}) "
                         "is {})",
                         k, i, j, c(i, j), j, i, c(j, i)));
               covs.push_back(std::move(c));
             }
             return checked([&] {
               return om::gmm(w, std::vector<double>(mu.data(), mu.data() + mu.size()),
                              std::move(covs));
             });
           }),
           py::arg("weights"), py::arg("means"), py::arg("covariances"))
      .def_property_readonly("weights", [](const om::gmm& g) { return from_vector(g.weights()); })
      .def_property_readonly("means",
                             [](const om::gmm& g) {
                               py::array_t<double> a({static_cast<py::ssize_t>(g.components()),
                                                      static_cast<py::ssize_t>(g.dim())});
                               std::copy(g.means().begin(), g.means().end(), a.mutable_data());
                               return a;
                             })
      .def_property_readonly("covariances",
                             [](const om::gmm& g) {
                               const auto K = static_cast<py::ssize_t>(g.components()),
                                          d = static_cast<py::ssize_t>(g.dim());
                               py::array_t<double> a({K, d, d});
                               for (std::size_t k = 0; k < g.components(); ++k)
                                 std::copy(g.covariance(k).a.begin(), g.covariance(k).a.end(),
                                           a.mutable_data() + k * static_cast<std::size_t>(d * d));
                               return a;
                             })
      .def(
          "sample",
          [](const om::gmm& g, std::size_t n, const py::object& rng) {
            auto s = stream_of(rng);
            return from_rows(g.sample(n, s));
          },
          py::arg("n"), py::arg("rng") = py::none(), "n draws, an (n, d) array.")
      .def(
          "log_likelihood",
          [](const om::gmm& g, const py::object& x) { return g.log_likelihood(to_rows(x)); },
          py::arg("x"))
      .def(py::pickle(
          [](const om::gmm& g) {
            std::vector<double> covs;
            for (const auto& c : g.covariances()) covs.insert(covs.end(), c.a.begin(), c.a.end());
            return py::make_tuple(g.weights(), g.means(), covs, g.dim());
          },
          [](const py::tuple& t) {
            if (t.size() != 4) throw py::value_error("GMM: not a pickled GMM state");
            const auto w = t[0].cast<std::vector<double>>();
            const auto mu = t[1].cast<std::vector<double>>();
            const auto d = cast_setting<std::size_t>("GMM dimension", t[3]);
            const auto flat = t[2].cast<std::vector<double>>();
            if (d < 1 || d > 4096 || w.empty() || mu.size() != w.size() * d ||
                flat.size() != w.size() * d * d)
              throw py::value_error("GMM: not a pickled GMM state (the sizes do not fit)");
            std::vector<ouro::matrix> covs;
            for (std::size_t at = 0; at + d * d <= flat.size(); at += d * d) {
              ouro::matrix c(d);
              std::copy(flat.begin() + static_cast<std::ptrdiff_t>(at),
                        flat.begin() + static_cast<std::ptrdiff_t>(at + d * d), c.a.begin());
              covs.push_back(std::move(c));
            }
            return checked([&] { return om::gmm(w, mu, std::move(covs)); });
          }));

  py::class_<gmm_fitter_py>(sub, "GMMFitter",
                            "EM for a Gaussian mixture (k-means or random initialisation).")
      .def(py::init([](std::size_t components, const std::string& covariance, double reg_covar,
                       double tol, std::size_t max_iter, std::size_t n_init,
                       const std::string& init) {
             if (covariance != "full" && covariance != "diagonal" && covariance != "spherical")
               throw py::value_error("covariance: give full, diagonal or spherical");
             if (init != "kmeans" && init != "random")
               throw py::value_error("init: give kmeans or random");
             if (components < 1 || max_iter < 1 || n_init < 1)
               throw py::value_error("components, max_iter and n_init must be at least 1");
             if (!(reg_covar >= 0 && std::isfinite(reg_covar)) || !(tol >= 0 && std::isfinite(tol)))
               throw py::value_error("reg_covar and tol must be finite numbers >= 0");
             return gmm_fitter_py{components, covariance, init, reg_covar, tol, max_iter, n_init};
           }),
           py::arg("components") = 2, py::arg("covariance") = "full", py::arg("reg_covar") = 1e-6,
           py::arg("tol") = 1e-5, py::arg("max_iter") = 2000, py::arg("n_init") = 1,
           py::arg("init") = "kmeans")
      .def("fit", &gmm_fitter_py::fit, py::arg("data"), py::arg("rng") = py::none(),
           "The mixture fitted by EM to the (n, d) array data (the GIL is released).");
}

}  // namespace ouro_py
