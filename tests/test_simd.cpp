// The AVX-512 code paths (built only when the compiler and this processor support AVX-512F/DQ):
// the vectorised normal generator must give exactly the numbers of the portable one, pass the
// same distribution checks, and the vectorised sums must match a plain sum.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "normal_checks.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"

#if !defined(__AVX512F__) || !defined(__AVX512DQ__)
#error "test_simd must be compiled with AVX-512F and AVX-512DQ enabled"
#endif

using namespace ouro;

TEST_CASE("AVX-512 and portable normal generators give identical numbers", "[simd]") {
  for (std::size_t n : {1, 7, 8, 9, 100, 1001}) {
    default_rng g1(n), g2(n);
    std::vector<double> a(n), b(n);
    detail::normal_blocks_avx512(g1, a.data(), n, 0.0, 1.0);
    detail::normal_blocks_portable(g2, b.data(), n, 0.0, 1.0);
    CHECK(a == b);
    CHECK(g1 == g2);  // and leave the parent engine in the same state
  }
  default_rng g(5);
  std::vector<double> x(2'000'000);
  detail::normal_blocks_avx512(g, x.data(), x.size(), 0.0, 1.0);
  check_standard_normal(x);
}

TEST_CASE("vectorised sums match plain sums", "[simd]") {
  default_rng g(2);
  for (std::size_t n : {0, 1, 5, 8, 15, 16, 17, 100, 1000}) {
    std::vector<double> x(n);
    fill_normal(g, x, 3.0, 2.0);
    double s = 0, q = 0;
    for (double v : x) s += v;
    const double c = n ? s / static_cast<double>(n) : 0.0;
    for (double v : x) q += (v - c) * (v - c);
    CHECK(models::detail::sum8(x) == Approx(s).margin(1e-12));
    CHECK(models::detail::sum_sq_dev8(x, c) == Approx(q).margin(1e-12));
    if (n > 0) {
      // every instruction set's entry gives the same bits
      const auto w8 = models::detail::shifted_sum8_kernel_w8(x.data(), n, x[0]);
      const auto w4 = models::detail::shifted_sum8_kernel_w4(x.data(), n, x[0]);
      const auto w2 = models::detail::shifted_sum8_kernel_w2(x.data(), n, x[0]);
      CHECK((w8.s1 == w2.s1 && w8.s2 == w2.s2 && w4.s1 == w2.s1 && w4.s2 == w2.s2));
      const auto [s1, s2] = models::detail::shifted_sum8(x, x[0]);
      CHECK(x[0] + s1 / static_cast<double>(n) == Approx(c).margin(1e-12));
      CHECK(s2 - s1 * s1 / static_cast<double>(n) == Approx(q).margin(1e-10));
    }
  }
}

TEST_CASE("AVX-512 mixture log-densities match a direct computation", "[simd][gmm]") {
  for (std::size_t d : {3, 5, 16}) {
    default_rng g(d);
    std::vector<double> w{0.3, 0.7}, mu(2 * d);
    fill_normal(g, std::span<double>(mu), 0.0, 2.0);
    std::vector<ouro::matrix> cov(2, ouro::matrix(d));
    for (auto& S : cov) {  // A A' + I: positive definite with correlations
      std::vector<double> a(d * d);
      fill_normal(g, std::span<double>(a), 0.0, 0.5);
      for (std::size_t i = 0; i < d; ++i)
        for (std::size_t j = 0; j < d; ++j) {
          double v = i == j ? 1.0 : 0.0;
          for (std::size_t k = 0; k < d; ++k) v += a[i * d + k] * a[j * d + k];
          S(i, j) = v;
        }
    }
    const models::gmm m(w, mu, cov);
    const auto x = m.sample(300, g);  // 300: more than one block of 256, with a partial one
    const auto lp = m.log_pdf(x);
    for (std::size_t s = 0; s < 300; s += 37) {
      double direct = 0;
      for (std::size_t k = 0; k < 2; ++k) {
        std::vector<double> r(d);
        for (std::size_t i = 0; i < d; ++i) r[i] = x(s, i) - mu[k * d + i];
        ouro::detail::forward_solve(m.cholesky(k), r);
        double q = 0;
        for (double v : r) q += v * v;
        direct += w[k] * std::exp(-0.5 * (d * std::log(2 * M_PI) + m.log_det(k) + q));
      }
      CHECK(lp[s] == Approx(std::log(direct)).epsilon(1e-12));
    }
  }
}

TEST_CASE("AVX-512 EM moments match a direct computation", "[simd][gmm]") {
  // the 4 x 4 register tiles (carried over sub-blocks of 128 points) for dimensions that fill
  // the tiles, leave rows over, and exceed them (d > 16: the plain loops)
  default_rng g(17);
  for (std::size_t d : {3, 4, 7, 16, 20}) {
    const std::size_t n = 300;
    std::vector<double> X(n * d), r(n), c(d), xt;
    fill_normal(g, std::span<double>(X), 1.0, 2.0);
    for (auto& v : r) v = uniform01(g);
    fill_normal(g, std::span<double>(c), 0.5, 1.0);
    const std::size_t ld = models::detail::transpose_points(X.data(), n, d, xt);
    double nk = 0;
    std::vector<double> s1(d, 0.0), s2(d * d, 0.0);
    models::detail::moments_block(xt.data(), ld, n, d, r.data(), c, nk, s1.data(), s2.data());
    double nk_ref = 0;
    for (double v : r) nk_ref += v;
    CHECK(nk == Approx(nk_ref).epsilon(1e-13));
    for (std::size_t i = 0; i < d; ++i) {
      double a = 0;
      for (std::size_t s = 0; s < n; ++s) a += r[s] * (X[s * d + i] - c[i]);
      CHECK(s1[i] == Approx(a).epsilon(1e-12));
      for (std::size_t j = 0; j <= i; ++j) {
        double b = 0;
        for (std::size_t s = 0; s < n; ++s)
          b += r[s] * (X[s * d + i] - c[i]) * (X[s * d + j] - c[j]);
        INFO("d = " << d << ", entry " << i << "," << j);
        CHECK(s2[i * d + j] == Approx(b).epsilon(1e-12));
      }
    }
  }
}
