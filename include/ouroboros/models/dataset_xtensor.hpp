// dataset_traits for xtensor containers: one sample per row (the first axis); checkpoint_traits
// for row-major matrices.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/dataset.hpp"
#include "ouroboros/models/xtensor_compat.hpp"

namespace ouro::inline v0 {

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

/// Row-major matrices of numbers.
template <class T>
requires std::is_arithmetic_v<T>
struct checkpoint_traits<xt::xtensor<T, 2>> {
  static void save(const xt::xtensor<T, 2>& m, io::binary_writer& w) {
    w.put_u64(m.shape()[0]);
    w.put_u64(m.shape()[1]);
    w.put_array(std::span<const T>(m.data(), m.size()));
  }
  static xt::xtensor<T, 2> load(io::binary_reader& r) {
    const auto rows = r.get_size("rows", std::uint64_t{1} << 40);
    const auto cols = r.get_size("columns", std::uint64_t{1} << 40);
    const auto v = r.get_vector<T>("matrix");
    // (checked by division: the product of two corrupt sizes may wrap around)
    if ((cols == 0 ? rows != 0 && !v.empty() : rows != v.size() / cols) || rows * cols != v.size())
      r.fail(fmt::format("a {} x {} matrix holds {} values", rows, cols, v.size()));
    auto m = xt::xtensor<T, 2>::from_shape({rows, cols});
    std::copy(v.begin(), v.end(), m.data());
    return m;
  }
};

}  // namespace ouro::inline v0
