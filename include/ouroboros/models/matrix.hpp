// ouro::matrix: a small dense square matrix (row-major, d x d in a flat vector), the type of the
// covariance matrices of the Gaussian models (models::gmm, models::mv_gaussian) and their metrics.
//
//   ouro::matrix s = ouro::matrix::identity(2);
//   s(0, 1) = s(1, 0) = 0.5;
//   ouro::models::gmm g({1.0}, {0.0, 0.0}, {s});
#pragma once

#include <cstddef>
#include <vector>

namespace ouro::inline v0 {

/// A d x d matrix of doubles, row-major: m(i, j) is a[i * d + j].
struct matrix {
  std::size_t d = 0;      ///< rows and columns
  std::vector<double> a;  ///< the d * d entries, row by row
  matrix() = default;
  /// The d x d zero matrix.
  explicit matrix(std::size_t n) : d(n), a(n * n, 0.0) {}
  double& operator()(std::size_t i, std::size_t j) { return a[i * d + j]; }
  double operator()(std::size_t i, std::size_t j) const { return a[i * d + j]; }
  /// The d x d identity.
  static matrix identity(std::size_t n) {
    matrix m(n);
    for (std::size_t i = 0; i < n; ++i) m(i, i) = 1.0;
    return m;
  }
  friend bool operator==(const matrix&, const matrix&) = default;
};

}  // namespace ouro::inline v0
