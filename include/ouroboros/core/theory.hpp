// Closed-form expectations for the 1-D Gaussian and the categorical (Wright-Fisher) collapse
// (derivations in docs/theory.md).
//
// Conventions: the truth is N(0, 1); every fit uses M samples; n >= 1 counts the fits, so n = 1 is
// the model fitted on real data (generation 0) and generation g has n = g + 1. A function returns
// std::nullopt where no closed form is known (e.g. the unbiased estimator under accumulate).
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace ouro::inline v0::theory {

enum class estimator { mle, unbiased };
enum class regime { replace, accumulate };

/// Digamma psi(x) for x > 0: recurrence up to x >= 12, then the asymptotic series.
inline double digamma(double x) {
  if (!(x > 0)) throw std::domain_error("ouro::theory::digamma: x must be positive");
  double r = 0;
  while (x < 12) {
    r -= 1 / x;
    x += 1;
  }
  const double f = 1 / (x * x);
  return r + std::log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

namespace detail {
inline void check_m(std::size_t M, estimator e) {
  if (M < 2 || (e == estimator::unbiased && M < 2))
    throw std::domain_error("ouro::theory: need M >= 2 samples per fit");
}
/// Gamma(M/2) / Gamma((M-1)/2), through lgamma for large M.
inline double gamma_ratio(std::size_t M) {
  const double m = static_cast<double>(M);
  return std::exp(std::lgamma(m / 2) - std::lgamma((m - 1) / 2));
}
}  // namespace detail

/// E[sigma_1] for one fit: E[sqrt(chi2_{M-1} / divisor)].
inline double std_factor(std::size_t M, estimator e) {
  detail::check_m(M, e);
  const double d = e == estimator::unbiased ? static_cast<double>(M) - 1 : static_cast<double>(M);
  return std::sqrt(2.0 / d) * detail::gamma_ratio(M);
}

/// E[sigma_n^2].
inline std::optional<double> expected_variance(std::size_t M, std::size_t n, estimator e,
                                               regime r = regime::replace) {
  detail::check_m(M, e);
  const double m = static_cast<double>(M);
  if (r == regime::replace)
    return e == estimator::unbiased ? 1.0 : std::pow((m - 1) / m, static_cast<double>(n));
  if (e == estimator::unbiased) return std::nullopt;
  double p = 1;
  for (std::size_t k = 1; k <= n; ++k) {
    const double kk = static_cast<double>(k);
    p *= 1 - 1 / (kk * kk * m);
  }
  return p;
}

/// lim_{n -> inf} E[sigma_n^2] under accumulate with the MLE: sin(pi / sqrt M) / (pi / sqrt M).
inline double accumulate_variance_limit(std::size_t M) {
  const double a = std::numbers::pi / std::sqrt(static_cast<double>(M));
  return std::sin(a) / a;
}

/// E[sigma_n] = c^n (replace).
inline std::optional<double> expected_std(std::size_t M, std::size_t n, estimator e,
                                          regime r = regime::replace) {
  if (r != regime::replace) return std::nullopt;
  return std::pow(std_factor(M, e), static_cast<double>(n));
}

/// E[log sigma_n^2] = n (psi((M-1)/2) - log(divisor/2)) (replace).
inline std::optional<double> expected_log_variance(std::size_t M, std::size_t n, estimator e,
                                                   regime r = regime::replace) {
  detail::check_m(M, e);
  if (r != regime::replace) return std::nullopt;
  const double m = static_cast<double>(M);
  const double d = e == estimator::unbiased ? m - 1 : m;
  return static_cast<double>(n) * (digamma((m - 1) / 2) - std::log(d / 2));
}

/// E[mu_n] = 0 (the mean is a martingale).
inline std::optional<double> expected_mean(std::size_t, std::size_t, estimator,
                                           regime r = regime::replace) {
  if (r != regime::replace) return std::nullopt;
  return 0.0;
}

/// E[(mu_n - mu_0)^2]: n / M (unbiased), 1 - ((M-1)/M)^n (MLE) (replace).
inline std::optional<double> expected_mean_sq_error(std::size_t M, std::size_t n, estimator e,
                                                    regime r = regime::replace) {
  detail::check_m(M, e);
  if (r != regime::replace) return std::nullopt;
  const double m = static_cast<double>(M), nn = static_cast<double>(n);
  return e == estimator::unbiased ? nn / m : 1 - std::pow((m - 1) / m, nn);
}

/// E[W2^2] to N(0, 1) = E[mu_n^2] + E[sigma_n^2] - 2 E[sigma_n] + 1 (replace).
inline std::optional<double> expected_w2_sq(std::size_t M, std::size_t n, estimator e,
                                            regime r = regime::replace) {
  if (r != regime::replace) return std::nullopt;
  return *expected_mean_sq_error(M, n, e) + *expected_variance(M, n, e) -
         2 * *expected_std(M, n, e) + 1;
}

/// The closed form for a metric of the gaussian_collapse example, by name.
inline std::optional<double> expected(std::string_view metric, std::size_t M, std::size_t n,
                                      estimator e, regime r) {
  if (metric == "mean") return expected_mean(M, n, e, r);
  if (metric == "variance") return expected_variance(M, n, e, r);
  if (metric == "std") return expected_std(M, n, e, r);
  if (metric == "log_variance") return expected_log_variance(M, n, e, r);
  if (metric == "mean_sq_error") return expected_mean_sq_error(M, n, e, r);
  if (metric == "w2_sq") return expected_w2_sq(M, n, e, r);
  return std::nullopt;
}

/// Mixing fresh real data (Bertrand et al. 2024), 1-D Gaussian, truth N(0, 1): every generation
/// after the first fits on r = round(alpha M) new real draws and M - r draws of the previous fit
/// (regime::mix with real_source_kind::fresh). With s = M - r and the divisor d (M - 1 unbiased,
/// M MLE), the expectations a_n = E[sigma_n^2] and b_n = E[mu_n^2] after n fits follow exactly
///   a_n = ((r + s a_{n-1}) (M - 1) / M + (s r / M) b_{n-1}) / d,
///   b_n = (r + s a_{n-1}) / M^2 + (s / M)^2 b_{n-1},
/// from a_1 = (M - 1) / d, b_1 = 1 / M (the first fit is on M real draws): the fitted variance of
/// the mixed sample includes the spread between its real and synthetic parts (the b term). For any
/// r >= 1 the recursion contracts to a fixed point (its matrix has spectral radius below 1): the
/// error stays bounded; with r = 0 (alpha M < 1/2) it is the replace regime.
struct mix_moments {
  double variance;     ///< E[sigma_n^2]
  double mean_square;  ///< E[mu_n^2] (the squared error of the mean; the true mean is 0)
};
inline mix_moments expected_mix_fresh(std::size_t M, std::size_t n, estimator e, double alpha) {
  detail::check_m(M, e);
  if (!(alpha >= 0 && alpha <= 1))
    throw std::domain_error("ouro::theory: the real fraction must lie in [0, 1]");
  if (n == 0) throw std::domain_error("ouro::theory: n counts fits, from 1");
  const double m = static_cast<double>(M);
  const double r = static_cast<double>(std::llround(alpha * m)), s = m - r;
  const double d = e == estimator::unbiased ? m - 1 : m;
  double a = (m - 1) / d, b = 1 / m;
  for (std::size_t k = 2; k <= n; ++k) {
    const double a2 = ((r + s * a) * (m - 1) / m + s * r / m * b) / d;
    const double b2 = (r + s * a) / (m * m) + (s / m) * (s / m) * b;
    a = a2;
    b = b2;
  }
  return {a, b};
}

/// Kernel density estimates (Kazdan et al. 2024), truth N(0, 1), M new points per generation;
/// the KDE's variance is the kept points' variance (dividing by their number N) plus h^2. With
/// Silverman's rule h^2 = 1.06^2 s^2 N^(-2/5) (s^2 dividing by N - 1) the fitted variance is
/// V = S (1 + k_N), k_N = 1.06^2 N/(N - 1) N^(-2/5), S the points' variance; with a fixed h,
/// V = S + h^2. Replace: M draws of the previous KDE (variance V) give E[S] = (M - 1)/M V, so
///   E[V_n] = ((M - 1)/M + 1.06^2 M^(-2/5))^n        (Silverman: grows geometrically),
///   E[V_n] = (M - 1)/M E[V_{n-1}] + h^2 -> M h^2    (fixed h),
/// after n fits. `h` empty: Silverman's rule.
inline double kde_replace_variance(std::size_t M, std::size_t n, std::optional<double> h) {
  if (M < 2 || n == 0) throw std::domain_error("ouro::theory: need M >= 2 and n >= 1");
  const double m = static_cast<double>(M);
  if (!h) return std::pow((m - 1) / m + 1.06 * 1.06 * std::pow(m, -0.4), static_cast<double>(n));
  double v = 1;  // the truth's variance
  for (std::size_t k = 1; k <= n; ++k) v = (m - 1) / m * v + *h * *h;
  return v;
}

/// The same under accumulate: generation k (k fits) keeps all N_k = k M points, the real ones and
/// M draws of each earlier KDE. Adding M draws of KDE_k (mean its points' mean, variance V_k) to
/// N points of variance S_k gives N' = N + M points with
///   E[S_{k+1}] = (N E[S_k] + (M - 1 + N/N') E[V_k]) / N',
/// within-batch plus between-batch, from E[S_1] = (M - 1)/M; and E[V_k] = (1 + k_{N_k}) E[S_k]
/// (Silverman on all N_k points) or E[S_k] + h^2. `h` empty: Silverman's rule.
inline double kde_accumulate_variance(std::size_t M, std::size_t n, std::optional<double> h) {
  if (M < 2 || n == 0) throw std::domain_error("ouro::theory: need M >= 2 and n >= 1");
  const double m = static_cast<double>(M);
  auto fitted = [&](double S, double N) {
    return h ? S + *h * *h : S * (1 + 1.06 * 1.06 * N / (N - 1) * std::pow(N, -0.4));
  };
  double S = (m - 1) / m, N = m;
  for (std::size_t k = 1; k < n; ++k) {
    const double N2 = N + m;
    S = (N * S + (m - 1 + N / N2) * fitted(S, N)) / N2;
    N = N2;
  }
  return fitted(S, N);
}

/// Wright-Fisher: E[H_n] = H_0 (1 - 1/M)^n, H = 1 - sum p_i^2, after n resamplings of M draws
/// (generation g of categorical_collapse has n = g + 1, H_0 the truth's heterozygosity).
inline double expected_heterozygosity(double h0, std::size_t M, std::size_t n) {
  if (M == 0) throw std::domain_error("ouro::theory: need M >= 1");
  return h0 * std::pow(1 - 1 / static_cast<double>(M), static_cast<double>(n));
}

/// Wright-Fisher: state i is eventually fixed with probability p_i (its initial frequency).
inline double fixation_probability(double p_i) {
  return p_i;
}

/// Least squares with a fixed design relabelled by each generation's model (Dohmatob, Feng &
/// Kempe 2024; Gerstgrasser et al. 2024): T rows of d inputs with independent N(0, 1) entries,
/// drawn once per replicate and kept; labels x.w + N(0, sigma^2). After n fits, each on the
/// previous fit's labels of the same inputs (regime replace),
///   E||w_n - w*||^2 = sigma^2 d n / (T - d - 1),
/// since every fit adds an independent error of covariance sigma^2 (X'X)^-1 and
/// E tr((X'X)^-1) = d / (T - d - 1) (inverse Wishart). Needs T > d + 1.
inline double regression_replace_error(double sigma, std::size_t d, std::size_t T, std::size_t n) {
  if (T <= d + 1) throw std::domain_error("ouro::theory: the regression laws need T > d + 1");
  return sigma * sigma * static_cast<double>(d) * static_cast<double>(n) /
         static_cast<double>(T - d - 1);
}

/// The same when every fit uses all data so far (regime accumulate: the real rows and every
/// generation's relabelled rows): E||w_n - w*||^2 = sigma^2 d / (T - d - 1) * sum_{i=1}^{n} 1/i^2,
/// bounded by pi^2/6 times one fit's error: no collapse.
inline double regression_accumulate_error(double sigma, std::size_t d, std::size_t T,
                                          std::size_t n) {
  double s = 0;
  for (std::size_t i = 1; i <= n; ++i) s += 1.0 / (static_cast<double>(i) * static_cast<double>(i));
  return regression_replace_error(sigma, d, T, 1) * s;
}

}  // namespace ouro::inline v0::theory
