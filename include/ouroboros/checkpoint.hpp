// Concept Checkpointable: a model or dataset that can be written to and read back from a
// checkpoint bit for bit, so that a resumed run continues exactly where it stopped. Specialise
// ouro::checkpoint_traits<T> (save and load through io::binary_writer and io::binary_reader); the
// reference models and datasets have theirs (matrices: ouroboros/dataset_xtensor.hpp). See
// docs/reliability.md.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

/// Vectors of any Checkpointable type (numbers have their own, packed, form).
template <class T>
requires(!std::is_arithmetic_v<T> && Checkpointable<T>) struct checkpoint_traits<std::vector<T>> {
  static void save(const std::vector<T>& v, io::binary_writer& w) {
    w.put_u64(v.size());
    for (const auto& x : v) checkpoint_traits<T>::save(x, w);
  }
  static std::vector<T> load(io::binary_reader& r) {
    // every element takes at least one byte, which bounds a corrupt count
    const auto n = r.get_size("element count", std::uint64_t{1} << 48);
    if (n > r.bytes_left()) r.fail(fmt::format("{} elements cannot fit in what is left", n));
    std::vector<T> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.push_back(checkpoint_traits<T>::load(r));
    return v;
  }
};

/// A piece of caller state saved with every checkpoint: `save` writes it, `load` reads it back
/// (throwing ouro::data_error when it cannot). The name must be unique within a store.
struct checkpoint_part {
  std::string name;
  std::function<void(io::binary_writer&)> save;
  std::function<void(io::binary_reader&)> load;
};

}  // namespace ouro
