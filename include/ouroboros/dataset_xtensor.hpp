// dataset_traits for xtensor containers: one sample per row (the first axis).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "ouroboros/concepts/dataset.hpp"
#include "ouroboros/xtensor_compat.hpp"

namespace ouro {

namespace detail {
template <class X>
struct xtensor_rows {
  static std::size_t size(const X& d) noexcept { return d.dimension() == 0 ? 0 : d.shape()[0]; }
  static std::size_t row_len(const X& d) noexcept {
    std::size_t l = 1;
    for (std::size_t a = 1; a < d.dimension(); ++a) l *= d.shape()[a];
    return l;
  }
  static X with_rows(const X& like, std::size_t rows) {
    auto shape = like.shape();
    shape[0] = rows;
    return X::from_shape(shape);
  }
  static X concat(const X& a, const X& b) {
    if (size(a) == 0) return b;
    if (size(b) == 0) return a;
    X r = with_rows(a, size(a) + size(b));
    std::copy(a.data(), a.data() + a.size(), r.data());
    std::copy(b.data(), b.data() + b.size(), r.data() + a.size());
    return r;
  }
  static X subset(const X& d, std::span<const std::size_t> idx) {
    X r = with_rows(d, idx.size());
    const std::size_t l = row_len(d);
    for (std::size_t i = 0; i < idx.size(); ++i)
      std::copy(d.data() + idx[i] * l, d.data() + (idx[i] + 1) * l, r.data() + i * l);
    return r;
  }
  static void append(X& a, const X& b) { a = concat(a, b); }
  static auto sample(const X& d, std::size_t i) { return xt::view(d, i); }
};
}  // namespace detail

/// Rows of a row-major xt::xtensor are samples.
template <class T, std::size_t N, xt::layout_type L>
requires(L == xt::layout_type::row_major) struct dataset_traits<xt::xtensor<T, N, L>>
    : detail::xtensor_rows<xt::xtensor<T, N, L>> {
};

/// Rows of a row-major xt::xarray are samples.
template <class T, xt::layout_type L>
requires(L == xt::layout_type::row_major) struct dataset_traits<xt::xarray<T, L>>
    : detail::xtensor_rows<xt::xarray<T, L>> {
};

}  // namespace ouro
