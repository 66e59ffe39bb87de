// Concept Checkpointable: a model or dataset that can be written to and read back from a
// checkpoint bit for bit, so that a resumed run continues exactly where it stopped. Specialise
// ouro::checkpoint_traits<T> (save and load through io::binary_writer and io::binary_reader); the
// reference models and datasets have theirs. See docs/reliability.md.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "ouroboros/io/binary.hpp"

namespace ouro {

/// Saves and loads a T; the primary template is empty. load() must refuse malformed input with
/// ouro::data_error (the reader's checks do most of it) and give back exactly what was saved.
template <class T>
struct checkpoint_traits {};

template <class T>
concept Checkpointable = requires(const T& t, io::binary_writer& w, io::binary_reader& r) {
  checkpoint_traits<T>::save(t, w);
  { checkpoint_traits<T>::load(r) } -> std::same_as<T>;
};

/// t as a self-contained byte string (a tag naming the format version, then the object).
template <Checkpointable T>
std::string to_checkpoint(const T& t) {
  io::binary_writer w;
  w.put_tag("ouroboros-checkpoint-1");
  checkpoint_traits<T>::save(t, w);
  return w.take();
}

/// The object saved by to_checkpoint; `name` names the source in error messages.
template <Checkpointable T>
T from_checkpoint(std::string_view bytes, std::string name) {
  io::binary_reader r(bytes, std::move(name));
  r.expect_tag("ouroboros-checkpoint-1");
  T t = checkpoint_traits<T>::load(r);
  r.expect_end();
  return t;
}

/// Vectors of numbers.
template <class T>
requires std::is_arithmetic_v<T>
struct checkpoint_traits<std::vector<T>> {
  static void save(const std::vector<T>& v, io::binary_writer& w) { w.put_vector(v); }
  static std::vector<T> load(io::binary_reader& r) { return r.get_vector<T>("vector"); }
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

}  // namespace ouro
