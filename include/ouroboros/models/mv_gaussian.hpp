// The multivariate Gaussian reference model (full covariance) and its fitters. Datasets are
// xt::xtensor<double, 2> with one sample per row.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/dataset_xtensor.hpp"
#include "ouroboros/models/detail/small_linalg.hpp"
#include "ouroboros/models/gaussian.hpp"

namespace ouro::inline v0::models {

/// N(mean, covariance) in D dimensions. A singular (positive semi-definite) covariance is allowed:
/// the model then samples on its support and its log-density is -inf off it.
class mv_gaussian {
 public:
  using dataset_type = xt::xtensor<double, 2>;
  using vector_type = xt::xtensor<double, 1>;
  using matrix_type = xt::xtensor<double, 2>;

  mv_gaussian() : mv_gaussian(vector_type{0.0}, matrix_type{{1.0}}) {}

  mv_gaussian(vector_type mean, matrix_type cov) : mean_(std::move(mean)), cov_(std::move(cov)) {
    const std::size_t d = mean_.size();
    if (d == 0) throw std::invalid_argument("ouro::models::mv_gaussian: zero dimensions");
    if (cov_.shape()[0] != d || cov_.shape()[1] != d)
      throw std::invalid_argument(fmt::format(
          "ouro::models::mv_gaussian: the covariance is {}x{} but the mean has {} entries",
          cov_.shape()[0], cov_.shape()[1], d));
    ouro::matrix A(d);
    for (std::size_t i = 0; i < d; ++i) {
      if (!std::isfinite(mean_(i)))
        throw std::invalid_argument("ouro::models::mv_gaussian: the mean is not finite");
      for (std::size_t j = 0; j < d; ++j) {
        const double v = cov_(i, j);
        if (!std::isfinite(v) || std::abs(v - cov_(j, i)) > 1e-12 * (1 + std::abs(v)))
          throw std::invalid_argument(fmt::format(
              "ouro::models::mv_gaussian: the covariance is not finite and symmetric at ({}, {})",
              i, j));
        A(i, j) = 0.5 * (v + cov_(j, i));
      }
    }
    if (ouro::detail::cholesky(A, factor_)) {
      singular_ = false;
      log_det_ = 0;
      for (std::size_t i = 0; i < d; ++i) log_det_ += 2 * std::log(factor_(i, i));
    } else {
      // F = V diag(sqrt(max(w, 0))): F F^T = A, valid for semi-definite A
      std::vector<double> w;
      ouro::matrix V;
      ouro::detail::sym_eigen(A, w, V);
      const double scale = std::max(1.0, std::abs(*std::max_element(w.begin(), w.end())));
      for (double& x : w)
        if (x < -1e-9 * scale)
          throw std::invalid_argument(fmt::format(
              "ouro::models::mv_gaussian: the covariance has a negative eigenvalue {}", x));
      factor_ = ouro::matrix(d);
      for (std::size_t i = 0; i < d; ++i)
        for (std::size_t j = 0; j < d; ++j)
          factor_(i, j) = V(i, j) * std::sqrt(std::max(w[j], 0.0));
      singular_ = true;
      log_det_ = -std::numeric_limits<double>::infinity();
    }
  }

  std::size_t dim() const noexcept { return mean_.size(); }
  const vector_type& mean() const noexcept { return mean_; }
  const matrix_type& covariance() const noexcept { return cov_; }
  bool singular() const noexcept { return singular_; }
  double log_det() const noexcept { return log_det_; }
  /// Trace of the covariance: the total variance.
  double total_variance() const noexcept {
    double t = 0;
    for (std::size_t i = 0; i < dim(); ++i) t += cov_(i, i);
    return t;
  }

  template <Rng G>
  dataset_type sample(std::size_t n, G& g) const {
    const std::size_t d = dim();
    dataset_type x = dataset_type::from_shape({n, d});
    std::vector<double> z(d);
    double* out = x.data();
    for (std::size_t r = 0; r < n; ++r, out += d) {
      fill_standard_normal(g, std::span<double>(z));
      for (std::size_t i = 0; i < d; ++i) {
        double s = mean_(i);
        for (std::size_t k = 0; k < d; ++k) s += factor_(i, k) * z[k];
        out[i] = s;
      }
    }
    return x;
  }

  /// Total log-likelihood of the rows of x.
  double log_likelihood(const dataset_type& x) const {
    const std::size_t d = dim(), n = x.shape()[0];
    if (n == 0) return 0.0;
    if (x.shape()[1] != d)
      throw std::invalid_argument(fmt::format(
          "ouro::models::mv_gaussian: data have {} columns but the model has {} dimensions",
          x.shape()[1], d));
    if (singular_) return -std::numeric_limits<double>::infinity();
    std::vector<double> r(d);
    double q = 0;
    for (std::size_t s = 0; s < n; ++s) {
      for (std::size_t i = 0; i < d; ++i) r[i] = x(s, i) - mean_(i);
      ouro::detail::forward_solve(factor_, r);
      for (double v : r) q += v * v;
    }
    return -0.5 * (static_cast<double>(n) *
                       (static_cast<double>(d) * std::log(2 * std::numbers::pi) + log_det_) +
                   q);
  }

 private:
  vector_type mean_;
  matrix_type cov_;
  ouro::matrix factor_;
  bool singular_ = false;
  double log_det_ = 0;
};

/// Fits an mv_gaussian by the sample mean and the sample covariance with divisor
/// Estimator::divisor(M). The optional variance floor raises every eigenvalue of the fitted
/// covariance below it to it (recorded as an event); with no floor a singular covariance is kept
/// (recorded) and the model samples on its support.
template <class Estimator = unbiased>
struct mv_gaussian_fitter {
  using model_type = mv_gaussian;
  std::optional<double> variance_floor{};

  /// The scatter matrix of the rows of x about mu, divided by div.
  static ouro::matrix scatter(const xt::xtensor<double, 2>& x, const xt::xtensor<double, 1>& mu,
                              double div) {
    const std::size_t m = x.shape()[0], d = x.shape()[1];
    ouro::matrix S(d);
    std::vector<double> r(d);
    for (std::size_t s = 0; s < m; ++s) {
      for (std::size_t i = 0; i < d; ++i) r[i] = x(s, i) - mu(i);
      for (std::size_t i = 0; i < d; ++i)
        for (std::size_t j = 0; j <= i; ++j) S(i, j) += r[i] * r[j];
    }
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j <= i; ++j) S(j, i) = S(i, j) = S(i, j) / div;
    return S;
  }

  template <Rng G>
  mv_gaussian fit(const xt::xtensor<double, 2>& x, G&, event_log& log) const {
    const std::size_t m = x.shape()[0], d = x.shape()[1];
    if (m == 0 || d == 0)
      throw std::invalid_argument("ouro::models::mv_gaussian_fitter: cannot fit an empty dataset");
    xt::xtensor<double, 1> mu = xt::zeros<double>({d});
    for (std::size_t s = 0; s < m; ++s)
      for (std::size_t i = 0; i < d; ++i) mu(i) += x(s, i);
    for (std::size_t i = 0; i < d; ++i) mu(i) /= static_cast<double>(m);
    double div = Estimator::divisor(m);
    if (div <= 0) {
      log.record(fmt::format("{} sample(s): the {} covariance is undefined", m, Estimator::name),
                 "used the maximum-likelihood covariance (divisor M)");
      div = static_cast<double>(m);
    }
    ouro::matrix S = scatter(x, mu, div);
    const auto finite = [](const auto& v) {
      return std::all_of(v.begin(), v.end(), [](double t) { return std::isfinite(t); });
    };
    if (!finite(mu) || !finite(S.a)) {
      // NaN or infinite data are refused; finite data so spread that the sums overflow are
      // summed again divided by a power of two (exactly); a covariance beyond the largest double
      // is scaled down, with an event
      double big = 0;
      for (double v : x) {
        if (!std::isfinite(v))
          throw std::invalid_argument(
              "ouro::models::mv_gaussian_fitter: the data contain NaN or infinite values");
        big = std::max(big, std::abs(v));
      }
      const int e = std::ilogb(big) + 2;
      const xt::xtensor<double, 2> y = x * std::ldexp(1.0, -e);
      xt::xtensor<double, 1> my = xt::zeros<double>({d});
      for (std::size_t s = 0; s < m; ++s)
        for (std::size_t i = 0; i < d; ++i) my(i) += y(s, i);
      for (std::size_t i = 0; i < d; ++i) mu(i) = std::ldexp(my(i) / static_cast<double>(m), e);
      S = scatter(y, my / static_cast<double>(m), div);
      double top = 0;
      for (double v : S.a) top = std::max(top, std::abs(v));
      // room for the sums of sampling and likelihoods: entries at most max / (4 d)
      const double room = std::numeric_limits<double>::max() / (4.0 * static_cast<double>(d));
      int k = 2 * e;
      if (top > 0 && std::ldexp(top, std::min(k, 2100)) > room) {
        k = std::ilogb(room) - std::ilogb(top) - 1;
        log.record(fmt::format("the covariance overflows double precision (data of magnitude "
                               "{:.3g})",
                               big),
                   "scaled down to fit in a double");
      }
      for (double& v : S.a) v = std::ldexp(v, k);
    }
    ouro::matrix L;
    const bool pd = ouro::detail::cholesky(S, L);
    if (variance_floor) {
      std::vector<double> w;
      ouro::matrix V;
      ouro::detail::sym_eigen(S, w, V);
      bool raised = false;
      for (double& v : w)
        if (v < *variance_floor) v = *variance_floor, raised = true;
      if (raised) {
        log.record("covariance eigenvalue below the floor",
                   fmt::format("raised to the floor {}", *variance_floor));
        for (std::size_t i = 0; i < d; ++i)
          for (std::size_t j = 0; j < d; ++j) {
            double t = 0;
            for (std::size_t k = 0; k < d; ++k) t += V(i, k) * w[k] * V(j, k);
            S(i, j) = t;
          }
        for (std::size_t i = 0; i < d; ++i)
          for (std::size_t j = 0; j < i; ++j) S(i, j) = S(j, i);
      }
    } else if (!pd) {
      log.record("singular covariance",
                 "kept: no variance floor configured; samples lie on the support");
    }
    xt::xtensor<double, 2> cov = xt::xtensor<double, 2>::from_shape({d, d});
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) cov(i, j) = S(i, j);
    return mv_gaussian(std::move(mu), std::move(cov));
  }
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
/// The mean and the covariance, exactly.
template <>
struct checkpoint_traits<models::mv_gaussian> {
  static void save(const models::mv_gaussian& m, io::binary_writer& w) {
    w.put_tag("mv_gaussian");
    const auto& mu = m.mean();
    w.put_array(std::span<const double>(mu.data(), mu.size()));
    checkpoint_traits<xt::xtensor<double, 2>>::save(m.covariance(), w);
  }
  static models::mv_gaussian load(io::binary_reader& r) {
    r.expect_tag("mv_gaussian");
    const auto mu = r.get_vector<double>("mean");
    auto cov = checkpoint_traits<xt::xtensor<double, 2>>::load(r);
    models::mv_gaussian::vector_type mean =
        models::mv_gaussian::vector_type::from_shape({mu.size()});
    std::copy(mu.begin(), mu.end(), mean.data());
    try {
      return models::mv_gaussian(std::move(mean), std::move(cov));
    } catch (const std::invalid_argument& e) {
      r.fail(e.what());
    }
  }
};
}  // namespace ouro::inline v0
