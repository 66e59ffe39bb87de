// The Gaussian mixture reference model: K weights, means and covariances (full, diagonal or
// spherical) in any dimension, with cached Cholesky factors. Datasets are
// xt::xtensor<double, 2>, one point per row. The EM fitter is in ouroboros/models/gmm_em.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/dataset_xtensor.hpp"
#include "ouroboros/models/detail/gmm_kernels.hpp"
#include "ouroboros/models/detail/small_linalg.hpp"

namespace ouro::inline v0::models {

/// How a mixture component's covariance is parameterised.
enum class covariance_type {
  full,       ///< any symmetric positive-definite matrix
  diagonal,   ///< a diagonal matrix
  spherical,  ///< a multiple of the identity
};

inline std::string_view to_string(covariance_type c) noexcept {
  switch (c) {
    case covariance_type::full:
      return "full";
    case covariance_type::diagonal:
      return "diagonal";
    case covariance_type::spherical:
      return "spherical";
  }
  return "?";
}

/// How the last EM fit went (carried by the model it produced; empty for a model built by hand).
struct em_report {
  bool fitted = false;     ///< false: the model was not produced by EM
  bool converged = false;  ///< |change of the mean log-likelihood| fell below tol
  std::size_t iterations = 0;
  double lower_bound = 0;   ///< mean log-likelihood per point at the last E-step
  std::size_t restart = 0;  ///< which of the n_init restarts was kept
};

/// A mixture of K Gaussians in D dimensions. Components of weight 0 are allowed (they are never
/// sampled and add nothing to the density). Covariances must be positive definite.
class gmm {
 public:
  using dataset_type = xt::xtensor<double, 2>;

  gmm() : gmm({1.0}, {0.0}, {ouro::matrix::identity(1)}) {}

  /// weights: K non-negative values (normalised here); means: K*D values, component-major;
  /// covariances: K symmetric positive-definite D x D matrices.
  gmm(std::vector<double> weights, std::vector<double> means, std::vector<ouro::matrix> covariances,
      covariance_type type = covariance_type::full)
      : w_(std::move(weights)), mu_(std::move(means)), cov_(std::move(covariances)), type_(type) {
    check(w_, mu_, cov_);
    derive(true);
  }

  /// Replaces the weights, means and covariances by ones of the same K and D, reusing the
  /// model's storage (EM calls it every iteration). The same checks as the constructor: on
  /// std::invalid_argument the model is unchanged. The covariance type and the EM report stay.
  void set_parameters(std::span<const double> weights, std::span<const double> means,
                      std::span<const ouro::matrix> covariances) {
    if (weights.size() != w_.size() || covariances.size() != w_.size())
      throw std::invalid_argument(fmt::format(
          "ouro::models::gmm::set_parameters: {} weights and {} covariances for a mixture of {}",
          weights.size(), covariances.size(), w_.size()));
    check(weights, means, covariances);
    thread_local ouro::matrix L;
    for (std::size_t j = 0; j < covariances.size(); ++j)
      if (!ouro::detail::cholesky(covariances[j], L)) not_positive_definite(j);
    w_.assign(weights.begin(), weights.end());
    mu_.assign(means.begin(), means.end());
    for (std::size_t j = 0; j < covariances.size(); ++j) {
      cov_[j].d = covariances[j].d;
      cov_[j].a.assign(covariances[j].a.begin(), covariances[j].a.end());
    }
    derive(false);
  }

  std::size_t components() const noexcept { return w_.size(); }
  std::size_t dim() const noexcept { return d_; }
  covariance_type type() const noexcept { return type_; }
  const std::vector<double>& weights() const noexcept { return w_; }
  double weight(std::size_t k) const { return w_.at(k); }
  /// Mean of component k (D values).
  std::span<const double> mean(std::size_t k) const { return {mu_.data() + k * d_, d_}; }
  const std::vector<double>& means() const noexcept { return mu_; }
  const ouro::matrix& covariance(std::size_t k) const { return cov_.at(k); }
  const std::vector<ouro::matrix>& covariances() const noexcept { return cov_; }
  const ouro::matrix& cholesky(std::size_t k) const { return chol_.at(k); }
  double log_det(std::size_t k) const { return log_det_.at(k); }
  const em_report& report() const noexcept { return report_; }
  void set_report(const em_report& r) noexcept { report_ = r; }

  /// The mixture's mean and covariance (law of total variance).
  std::vector<double> overall_mean() const {
    std::vector<double> m(d_, 0.0);
    for (std::size_t k = 0; k < w_.size(); ++k)
      for (std::size_t i = 0; i < d_; ++i) m[i] += w_[k] * mu_[k * d_ + i];
    return m;
  }
  ouro::matrix overall_covariance() const {
    const auto m = overall_mean();
    ouro::matrix s(d_);
    for (std::size_t k = 0; k < w_.size(); ++k)
      for (std::size_t i = 0; i < d_; ++i)
        for (std::size_t j = 0; j < d_; ++j)
          s(i, j) += w_[k] * (cov_[k](i, j) + (mu_[k * d_ + i] - m[i]) * (mu_[k * d_ + j] - m[j]));
    return s;
  }

  /// n independent draws: a component by its weight, then mean + L z.
  template <Rng G>
  dataset_type sample(std::size_t n, G& g) const {
    dataset_type x = dataset_type::from_shape({n, d_});
    std::vector<double> cum(w_.size());
    double acc = 0;
    for (std::size_t k = 0; k < w_.size(); ++k) cum[k] = (acc += w_[k]);
    std::vector<std::uint32_t> comp(n);
    const std::size_t K = w_.size();
    std::vector<double> uniforms(n);
    fill_uniform01(g, std::span<double>(uniforms));
    for (std::size_t s = 0; s < n; ++s) {
      auto& c = comp[s];
      const double u = uniforms[s] * acc;
      // the first k with u < cum[k] (or K - 1): never an empty component, since u < cum[k] and
      // u >= cum[k - 1] imply w_k > 0. As cum is nondecreasing, that k is the number of
      // j < K - 1 with u >= cum[j]: counted without branches for a few components (a branch
      // on a random draw is mispredicted half the time)
      std::size_t k = 0;
      if (K <= 16)
        for (std::size_t j = 0; j + 1 < K; ++j) k += !(u < cum[j]);
      else
        while (k + 1 < K && !(u < cum[k])) ++k;
      c = static_cast<std::uint32_t>(k);
    }
    std::vector<double> z(n * d_);
    fill_standard_normal(g, std::span<double>(z));
    double* out = x.data();
    if (d_ == 2) {  // the paper's case, unrolled (the same operations as the loop below)
      for (std::size_t s = 0; s < n; ++s) {
        const std::size_t k = comp[s];
        const auto& L = chol_[k];
        const double z0 = z[2 * s], z1 = z[2 * s + 1];
        out[2 * s] = mu_[2 * k] + L(0, 0) * z0;
        out[2 * s + 1] = (mu_[2 * k + 1] + L(1, 0) * z0) + L(1, 1) * z1;
      }
      return x;
    }
    for (std::size_t s = 0; s < n; ++s) {
      const std::size_t k = comp[s];
      const auto& L = chol_[k];
      const double* zs = z.data() + s * d_;
      for (std::size_t i = 0; i < d_; ++i) {
        double v = mu_[k * d_ + i];
        for (std::size_t j = 0; j <= i; ++j) v += L(i, j) * zs[j];
        out[s * d_ + i] = v;
      }
    }
    return x;
  }

#if defined(__AVX512F__)
  /// Calls f.template operator()<D>() for the runtime dimension d in [1, 16].
  template <class F>
  static void with_dimension(std::size_t d, F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((d == I + 1 ? (f.template operator()<I + 1>(), true) : false) || ...);
    }
    (std::make_index_sequence<16>{});
  }
  /// q[s] = base - |P (x_s - m)|^2 / 2 for points transposed (D rows ld apart), eight points per
  /// vector, unrolled for the dimension so that the centred coordinates stay in registers (the
  /// operations and their order are those of a loop over the runtime dimension). P: D x D,
  /// row-major. Lanes beyond cnt are computed and dropped.
  template <std::size_t D>
  static void quad_forms_avx512(const double* xt, std::size_t ld, std::size_t cnt, const double* m,
                                const double* P, double base, double* q) {
    for (std::size_t s0 = 0; s0 < cnt; s0 += 8) {
      __m512d xv[D];
      for (std::size_t j = 0; j < D; ++j)
        xv[j] = _mm512_sub_pd(_mm512_loadu_pd(xt + j * ld + s0), _mm512_set1_pd(m[j]));
      __m512d qv = _mm512_setzero_pd();
      for (std::size_t i = 0; i < D; ++i) {
        __m512d y = _mm512_mul_pd(_mm512_set1_pd(P[i * D]), xv[0]);
        for (std::size_t j = 1; j <= i; ++j)
          y = _mm512_fmadd_pd(_mm512_set1_pd(P[i * D + j]), xv[j], y);
        qv = _mm512_fmadd_pd(y, y, qv);
      }
      // base - q / 2, stored straight (a partial last vector through a mask)
      const __m512d o = _mm512_fnmadd_pd(_mm512_set1_pd(0.5), qv, _mm512_set1_pd(base));
      if (s0 + 8 <= cnt)
        _mm512_storeu_pd(q + s0, o);
      else
        _mm512_mask_storeu_pd(q + s0, static_cast<__mmask8>((1u << (cnt - s0)) - 1), o);
    }
  }
#endif

  /// log(w_k) + log N(x_s | mu_k, S_k) for every point s and component k, into `out` laid out
  /// component-major (out[k * n + s]).
  void component_log_densities(const dataset_type& x, std::vector<double>& out) const {
    check_dims(x);
    component_log_densities(x.data(), x.shape()[0], out);
  }

  /// The same for n points stored row-major at `xs` (D values each).
  void component_log_densities(const double* xs_all, std::size_t n,
                               std::vector<double>& out) const {
    out.resize(n * w_.size());
    const double c = static_cast<double>(d_) * std::log(2 * std::numbers::pi);
    const std::size_t K = w_.size();
    if (d_ == 2) {  // the paper's case, unrolled
      for (std::size_t k = 0; k < K; ++k) {
        double* o = out.data() + k * n;
        if (w_[k] == 0) {
          std::fill(o, o + n, -std::numeric_limits<double>::infinity());
          continue;
        }
        const auto& P = prec_chol_[k];
        const double* m = mu_.data() + k * d_;
        const double base = log_w_[k] - 0.5 * (c + log_det_[k]);
        ouro::detail::gmm_kernels::run_log_density_d2(
            xs_all, n, {m[0], m[1], P(0, 0), P(1, 0), P(1, 1), base}, o);
      }
      return;
    }
    // blocks of B points transposed once to D x B for every component (rows LD = B + 8 apart:
    // a stride of a power of two would put the D rows in the same few cache sets)
    constexpr std::size_t B = 256, LD = B + 8;
    thread_local std::vector<double> xt;
    xt.resize(d_ * LD);
    for (std::size_t b0 = 0; b0 < n; b0 += B) {
      const std::size_t cnt = std::min(B, n - b0);
      for (std::size_t s = 0; s < cnt; ++s)
        for (std::size_t j = 0; j < d_; ++j) xt[j * LD + s] = xs_all[(b0 + s) * d_ + j];
      log_densities_transposed(xt.data(), LD, cnt, out.data() + b0, n);
    }
  }

  /// The same for `cnt` points given transposed (coordinate j of point s at xt[j * ld + s],
  /// ld >= cnt rounded up to a multiple of 8; D != 2), into out[k * stride + s].
  void log_densities_transposed(const double* xt, std::size_t ld, std::size_t cnt, double* out,
                                std::size_t stride) const {
    const double c = static_cast<double>(d_) * std::log(2 * std::numbers::pi);
    constexpr std::size_t B = 256, LD = B + 8;
    thread_local std::vector<double> xc, q;
    xc.resize(d_ * LD);
    q.resize(std::max(cnt, B));
    for (std::size_t k = 0; k < w_.size(); ++k) {
      double* o = out + k * stride;
      if (w_[k] == 0) {
        std::fill(o, o + cnt, -std::numeric_limits<double>::infinity());
        continue;
      }
      const auto& P = prec_chol_[k];
      const double* m = mu_.data() + k * d_;
      const double base = log_w_[k] - 0.5 * (c + log_det_[k]);
      double* qq = q.data();
#if defined(__AVX512F__)
      if (d_ <= 16) {  // eight points per vector, centred in registers
        with_dimension(d_, [&]<std::size_t D>() {
          quad_forms_avx512<D>(xt, ld, cnt, m, P.a.data(), base, o);
        });
        continue;
      }
#endif
      // blocks of B points centred (D x B), so the triangular products run over points
      for (std::size_t b0 = 0; b0 < cnt; b0 += B) {
        const std::size_t nb = std::min(B, cnt - b0);
        for (std::size_t j = 0; j < d_; ++j) {
          const double* tj = xt + j * ld + b0;
          double* cj = xc.data() + j * LD;
          const double mj = m[j];
          for (std::size_t s = 0; s < nb; ++s) cj[s] = tj[s] - mj;
        }
        std::fill(qq, qq + nb, 0.0);
        for (std::size_t i = 0; i < d_; ++i) {
          double y[B];
          for (std::size_t s = 0; s < nb; ++s) y[s] = 0;
          for (std::size_t j = 0; j <= i; ++j) {
            const double p = P(i, j);
            const double* xj = xc.data() + j * LD;
            for (std::size_t s = 0; s < nb; ++s) y[s] += p * xj[s];
          }
          for (std::size_t s = 0; s < nb; ++s) qq[s] += y[s] * y[s];
        }
        for (std::size_t s = 0; s < nb; ++s) o[b0 + s] = base - 0.5 * qq[s];
      }
    }
  }

  /// log p(x_s) for every point (log-sum-exp over components).
  std::vector<double> log_pdf(const dataset_type& x) const {
    std::vector<double> lc, out;
    component_log_densities(x, lc);
    log_sum_exp_columns(lc, x.shape()[0], w_.size(), out);
    return out;
  }

  /// Responsibilities p(k | x_s), laid out [s][k].
  xt::xtensor<double, 2> responsibilities(const dataset_type& x) const {
    const std::size_t n = x.shape()[0], K = w_.size();
    std::vector<double> lc, lp;
    component_log_densities(x, lc);
    log_sum_exp_columns(lc, n, K, lp);
    xt::xtensor<double, 2> r = xt::xtensor<double, 2>::from_shape({n, K});
    for (std::size_t s = 0; s < n; ++s)
      for (std::size_t k = 0; k < K; ++k) r(s, k) = std::exp(lc[k * n + s] - lp[s]);
    return r;
  }

  /// Total log-likelihood of the rows of x.
  double log_likelihood(const dataset_type& x) const {
    double s = 0;
    for (double v : log_pdf(x)) s += v;
    return s;
  }

  /// out[s] = log sum_k exp(lc[k * n + s]), stable (the maximum is taken out first). With `resp`,
  /// also writes the responsibilities exp(lc[k * n + s] - out[s]) there, from the same exps.
  /// Vectorised over points (detail/gmm_kernels.hpp); the instruction set does not change the
  /// bits.
  static void log_sum_exp_columns(const std::vector<double>& lc, std::size_t n, std::size_t K,
                                  std::vector<double>& out, std::vector<double>* resp = nullptr) {
    out.resize(n);
    if (resp) resp->resize(n * K);
    if (K == 1) {  // log exp(l) = l; responsibility 1 (what the general path gives, for less)
      for (std::size_t s = 0; s < n; ++s) {
        out[s] = lc[s];
        if (resp) (*resp)[s] = lc[s] != -std::numeric_limits<double>::infinity() ? 1.0 : 0.0;
      }
      return;
    }
    ouro::detail::gmm_kernels::run_lse_points(lc.data(), n, K, out.data(),
                                              resp ? resp->data() : nullptr);
  }

  /// sum_s log sum_k exp(lc[k * n + s]) and the responsibilities (as log_sum_exp_columns gives
  /// them), for EM: the logarithms are taken of products of the per-point sums, one per chunk of
  /// points, which changes the total only by rounding.
  static double log_sum_exp_total(const std::vector<double>& lc, std::size_t n, std::size_t K,
                                  std::vector<double>& resp) {
    resp.resize(n * K);
    return ouro::detail::gmm_kernels::run_lse_total(lc.data(), n, K, resp.data());
  }

 private:
  /// The constructor's checks of K, D, the weights and the means (nothing is changed).
  static void check(std::span<const double> w, std::span<const double> mu,
                    std::span<const ouro::matrix> cov) {
    const std::size_t k = w.size();
    if (k == 0) throw std::invalid_argument("ouro::models::gmm: no components");
    if (cov.size() != k)
      throw std::invalid_argument(
          fmt::format("ouro::models::gmm: {} weights but {} covariance matrices", k, cov.size()));
    const std::size_t d = cov[0].d;
    if (d == 0 || mu.size() != k * d)
      throw std::invalid_argument(fmt::format(
          "ouro::models::gmm: {} mean values for {} components in {} dimensions", mu.size(), k, d));
    double total = 0;
    for (std::size_t j = 0; j < k; ++j) {
      if (!(w[j] >= 0) || !std::isfinite(w[j]))
        throw std::invalid_argument(
            fmt::format("ouro::models::gmm: weight {} of component {} is invalid", w[j], j));
      total += w[j];
    }
    if (!(total > 0)) throw std::invalid_argument("ouro::models::gmm: the weights sum to 0");
    for (double v : mu)
      if (!std::isfinite(v)) throw std::invalid_argument("ouro::models::gmm: a mean is not finite");
    for (const auto& S : cov)
      if (S.d != d || S.a.size() != d * d)
        throw std::invalid_argument("ouro::models::gmm: covariances of different sizes");
  }
  [[noreturn]] static void not_positive_definite(std::size_t j) {
    throw std::invalid_argument(fmt::format(
        "ouro::models::gmm: the covariance of component {} is not positive definite", j));
  }
  /// Normalises the checked weights and computes the Cholesky factors, their inverses, the log
  /// determinants and log weights (reusing their storage); `may_fail`: the covariances were not
  /// checked to be positive definite yet.
  void derive(bool may_fail) {
    const std::size_t k = w_.size();
    d_ = cov_[0].d;
    double total = 0;
    for (double v : w_) total += v;
    for (double& v : w_) v /= total;
    chol_.resize(k);
    prec_chol_.resize(k);
    log_det_.resize(k);
    log_w_.resize(k);
    for (std::size_t j = 0; j < k; ++j) {
      if (!ouro::detail::cholesky(cov_[j], chol_[j]) && may_fail) not_positive_definite(j);
      log_det_[j] = 0;
      for (std::size_t i = 0; i < d_; ++i) log_det_[j] += 2 * std::log(chol_[j](i, i));
      ouro::detail::lower_inverse_into(chol_[j], prec_chol_[j]);
      log_w_[j] = std::log(w_[j]);  // -inf for an empty component
    }
  }

  void check_dims(const dataset_type& x) const {
    if (x.shape()[1] != d_)
      throw std::invalid_argument(
          fmt::format("ouro::models::gmm: data have {} columns but the model has {} dimensions",
                      x.shape()[1], d_));
  }

  friend struct ouro::checkpoint_traits<gmm>;
  std::vector<double> w_, mu_;
  std::vector<ouro::matrix> cov_, chol_, prec_chol_;
  std::vector<double> log_det_, log_w_;
  std::size_t d_ = 0;
  covariance_type type_ = covariance_type::full;
  em_report report_{};
};

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
/// Weights, means, covariances (exactly: the derived factors are recomputed from them), the
/// covariance type and the EM report.
template <>
struct checkpoint_traits<models::gmm> {
  static void save(const models::gmm& m, io::binary_writer& w) {
    w.put_tag("gmm");
    w.put_u64(m.dim());
    w.put_u64(static_cast<std::uint64_t>(m.type()));
    w.put_vector(m.weights());
    w.put_vector(m.means());
    for (std::size_t k = 0; k < m.components(); ++k) w.put_vector(m.covariance(k).a);
    const auto& rep = m.report();
    w.put_u64(rep.fitted);
    w.put_u64(rep.converged);
    w.put_u64(rep.iterations);
    w.put_f64(rep.lower_bound);
    w.put_u64(rep.restart);
  }
  static models::gmm load(io::binary_reader& r) {
    r.expect_tag("gmm");
    const auto d = r.get_size("dimensions", 1u << 16);
    const auto type = r.get_size("covariance type", 2);
    auto w = r.get_vector<double>("weights");
    auto mu = r.get_vector<double>("means");
    if (d == 0 || w.empty() || mu.size() != w.size() * d)
      r.fail("the weights, means and dimension of a mixture do not agree");
    std::vector<ouro::matrix> cov;
    for (std::size_t k = 0; k < w.size(); ++k) {
      ouro::matrix S;
      S.a = r.get_vector<double>("covariance");
      S.d = d;
      if (S.a.size() != d * d) r.fail("a covariance of the wrong size");
      cov.push_back(std::move(S));
    }
    models::em_report rep;
    rep.fitted = r.get_u64("fitted") != 0;
    rep.converged = r.get_u64("converged") != 0;
    rep.iterations = r.get_u64("iterations");
    rep.lower_bound = r.get_f64("lower bound");
    rep.restart = r.get_u64("restart");
    try {
      models::gmm m(w, std::move(mu), std::move(cov), static_cast<models::covariance_type>(type));
      m.w_ = w;  // the saved weights exactly, not renormalised
      for (std::size_t k = 0; k < w.size(); ++k) m.log_w_[k] = std::log(w[k]);
      m.set_report(rep);
      return m;
    } catch (const std::invalid_argument& e) {
      r.fail(e.what());
    }
  }
};
}  // namespace ouro::inline v0
