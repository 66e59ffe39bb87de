// Dense linear algebra for the small symmetric matrices of Gaussian models (D up to a few dozen):
// Cholesky, triangular solves and a Jacobi eigen-decomposition. Plain loops are faster than a BLAS
// call at these sizes and keep the header light.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "ouroboros/models/matrix.hpp"

namespace ouro::inline v0::detail {

/// P = the inverse of a lower-triangular matrix with a positive diagonal (also lower triangular),
/// reusing P's storage.
inline void lower_inverse_into(const matrix& L, matrix& P) {
  const std::size_t d = L.d;
  P.d = d;
  P.a.assign(d * d, 0.0);
  for (std::size_t j = 0; j < d; ++j) {
    P(j, j) = 1.0 / L(j, j);
    for (std::size_t i = j + 1; i < d; ++i) {
      double s = 0;
      for (std::size_t k = j; k < i; ++k) s += L(i, k) * P(k, j);
      P(i, j) = -s / L(i, i);
    }
  }
}

/// Inverse of a lower-triangular matrix with a positive diagonal (also lower triangular).
inline matrix lower_inverse(const matrix& L) {
  matrix P;
  lower_inverse_into(L, P);
  return P;
}

/// Lower Cholesky factor L (A = L L^T). Returns false when A is not positive definite.
inline bool cholesky(const matrix& A, matrix& L) {
  const std::size_t d = A.d;
  L.d = d;
  L.a.assign(d * d, 0.0);  // reuses L's storage
  for (std::size_t j = 0; j < d; ++j) {
    double s = A(j, j);
    for (std::size_t k = 0; k < j; ++k) s -= L(j, k) * L(j, k);
    if (!(s > 0) || !std::isfinite(s)) return false;
    const double ljj = std::sqrt(s);
    L(j, j) = ljj;
    for (std::size_t i = j + 1; i < d; ++i) {
      double t = A(i, j);
      for (std::size_t k = 0; k < j; ++k) t -= L(i, k) * L(j, k);
      L(i, j) = t / ljj;
    }
  }
  return true;
}

/// Solves L y = b in place (L lower triangular).
inline void forward_solve(const matrix& L, std::vector<double>& b) {
  for (std::size_t i = 0; i < L.d; ++i) {
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= L(i, k) * b[k];
    b[i] = s / L(i, i);
  }
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: A = V diag(w) V^T,
/// eigenvectors in the columns of V.
inline void sym_eigen(const matrix& A, std::vector<double>& w, matrix& V) {
  const std::size_t d = A.d;
  matrix M = A;
  V = matrix(d);
  for (std::size_t i = 0; i < d; ++i) V(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (std::size_t i = 0; i < d; ++i) {
      diag += M(i, i) * M(i, i);
      for (std::size_t j = i + 1; j < d; ++j) off += M(i, j) * M(i, j);
    }
    if (off <= 1e-30 * diag || off == 0) break;
    for (std::size_t p = 0; p < d; ++p)
      for (std::size_t q = p + 1; q < d; ++q) {
        if (M(p, q) == 0) continue;
        const double theta = (M(q, q) - M(p, p)) / (2 * M(p, q));
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < d; ++k) {
          const double mkp = M(k, p), mkq = M(k, q);
          M(k, p) = c * mkp - s * mkq;
          M(k, q) = s * mkp + c * mkq;
        }
        for (std::size_t k = 0; k < d; ++k) {
          const double mpk = M(p, k), mqk = M(q, k);
          M(p, k) = c * mpk - s * mqk;
          M(q, k) = s * mpk + c * mqk;
        }
        for (std::size_t k = 0; k < d; ++k) {
          const double vkp = V(k, p), vkq = V(k, q);
          V(k, p) = c * vkp - s * vkq;
          V(k, q) = s * vkp + c * vkq;
        }
      }
  }
  w.assign(d, 0.0);
  for (std::size_t i = 0; i < d; ++i) w[i] = M(i, i);
}

/// Symmetric square root of a positive semi-definite matrix (negative eigenvalues from rounding
/// are clipped to zero).
inline matrix sym_sqrt(const matrix& A) {
  std::vector<double> w;
  matrix V;
  sym_eigen(A, w, V);
  matrix R(A.d);
  for (std::size_t i = 0; i < A.d; ++i)
    for (std::size_t j = 0; j < A.d; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < A.d; ++k) s += V(i, k) * std::sqrt(std::max(w[k], 0.0)) * V(j, k);
      R(i, j) = s;
    }
  return R;
}

inline matrix matmul(const matrix& A, const matrix& B) {
  matrix C(A.d);
  for (std::size_t i = 0; i < A.d; ++i)
    for (std::size_t k = 0; k < A.d; ++k)
      for (std::size_t j = 0; j < A.d; ++j) C(i, j) += A(i, k) * B(k, j);
  return C;
}

}  // namespace ouro::detail
