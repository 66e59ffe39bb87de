// A small binary encoding for checkpoints: fixed-width little-endian integers and IEEE doubles
// and floats, length-prefixed arrays and strings. The reader checks every length against the
// bytes left and names the offset of anything wrong (ouro::data_error), so a truncated or
// corrupt checkpoint is refused, never read past its end.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"

namespace ouro::inline v0::io {

static_assert(std::endian::native == std::endian::little,
              "ouro::io binary checkpoints assume a little-endian machine");

/// Appends values to a byte string.
class binary_writer {
 public:
  template <class T>
  requires std::is_arithmetic_v<T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes_.append(b, sizeof(T));
  }
  void put_u64(std::uint64_t v) { put(v); }
  void put_f64(double v) { put(v); }
  /// A length (uint64) and the elements.
  template <class T>
  requires std::is_arithmetic_v<T>
  void put_array(std::span<const T> v) {
    put_u64(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  template <class T>
  void put_vector(const std::vector<T>& v) {
    put_array(std::span<const T>(v));
  }
  void put_string(std::string_view s) {
    put_u64(s.size());
    bytes_.append(s);
  }
  /// A fixed tag, checked by the reader (names a section, catches misaligned reads).
  void put_tag(std::string_view tag) { put_string(tag); }

  const std::string& bytes() const noexcept { return bytes_; }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

/// Reads values back, with bounds checks (see the file comment).
class binary_reader {
 public:
  binary_reader(std::string_view bytes, std::string name) : b_(bytes), name_(std::move(name)) {}

  template <class T>
  requires std::is_arithmetic_v<T> T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::uint64_t get_u64(const char* what) { return get<std::uint64_t>(what); }
  double get_f64(const char* what) { return get<double>(what); }
  /// A size that must not exceed `max` (a sanity bound against corrupt lengths).
  std::size_t get_size(const char* what, std::uint64_t max) {
    const std::size_t at = at_;
    const auto v = get_u64(what);
    if (v > max)
      throw data_error(
          fmt::format("{}: {} = {} at byte offset {} exceeds {}", name_, what, v, at, max));
    return static_cast<std::size_t>(v);
  }
  template <class T>
  requires std::is_arithmetic_v<T> std::vector<T> get_vector(const char* what) {
    const std::size_t at = at_;
    const auto n = get_u64(what);
    if (n > (b_.size() - at_) / sizeof(T))
      throw data_error(
          fmt::format("{}: {} holds {} elements at byte offset {}, more than the {} "
                      "bytes left",
                      name_, what, n, at, b_.size() - at_));
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n) std::memcpy(v.data(), b_.data() + at_, static_cast<std::size_t>(n) * sizeof(T));
    at_ += static_cast<std::size_t>(n) * sizeof(T);
    return v;
  }
  std::string get_string(const char* what) {
    const auto v = get_vector<char>(what);
    return std::string(v.begin(), v.end());
  }
  void expect_tag(std::string_view tag) {
    const std::size_t at = at_;
    const auto s = get_string("tag");
    if (s != tag)
      throw data_error(fmt::format("{}: expected section '{}' at byte offset {}, found '{}'", name_,
                                   tag, at, s.substr(0, 40)));
  }
  /// Throws unless every byte was read.
  void expect_end() const {
    if (at_ != b_.size())
      throw data_error(
          fmt::format("{}: {} trailing bytes after offset {}", name_, b_.size() - at_, at_));
  }
  /// Throws data_error naming the current offset.
  [[noreturn]] void fail(const std::string& what) const {
    throw data_error(fmt::format("{}: {} (byte offset {})", name_, what, at_));
  }
  std::size_t offset() const noexcept { return at_; }
  std::size_t bytes_left() const noexcept { return b_.size() - at_; }
  const std::string& name() const noexcept { return name_; }

 private:
  void need(std::size_t n, const char* what) const {
    if (b_.size() - at_ < n)
      throw data_error(fmt::format("{}: truncated: {} needs {} bytes at offset {}, {} left", name_,
                                   what, n, at_, b_.size() - at_));
  }
  std::string_view b_;
  std::string name_;
  std::size_t at_ = 0;
};

}  // namespace ouro::inline v0::io
