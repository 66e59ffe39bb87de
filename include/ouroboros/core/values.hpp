// Strict reading of numbers given as text (command-line options, configuration files) and the
// ranges they must fall in, described in words a person reads. One mechanism for every program
// and configuration file: whole numbers are decimal digits only (no sign, no octal or hex, no
// blank: "010" is ten, "0x14", "-1", "" and "1e3" are refused), real numbers are finite decimal
// numbers (NaN, infinities and hex floats are refused), and a value outside its range is refused
// with a sentence that says what is allowed ("must be greater than 0 and at most 10").
//
//   auto m = ouro::parse_whole(text, {1, 1ull << 32});   // std::nullopt? see `why`
//   if (auto why = ouro::whole_range{1, 100}.check(v); !why.empty()) ...
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include <fmt/format.h>

namespace ouro::inline v0 {

namespace detail {
/// A bound as a person writes it: 100000000 rather than 1e+08, 0.5 rather than 5e-01.
inline std::string show(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}
/// The text of a refused value, quoted and cut to a readable length.
inline std::string quote(std::string_view text) {
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);  // a line break never splits the message
    else
      out += static_cast<char>(c);
  }
  return out + (text.size() > 40 ? "...'" : "'");
}
}  // namespace detail

/// The whole numbers from lo to hi (both included).
struct whole_range {
  std::uint64_t lo = 0;
  std::uint64_t hi = std::numeric_limits<std::uint64_t>::max();

  /// "a whole number from 1 to 100", "a whole number of at least 1", "a whole number of 0 or
  /// more".
  std::string describe() const {
    constexpr auto top = std::numeric_limits<std::uint64_t>::max();
    if (hi == top && lo == 0) return "a whole number of 0 or more";
    if (hi == top) return fmt::format("a whole number of at least {}", lo);
    return fmt::format("a whole number from {} to {}", lo, hi);
  }
  /// Empty when v is in the range, otherwise "must be <describe()>, not <v>".
  std::string check(std::uint64_t v) const {
    if (v >= lo && v <= hi) return {};
    return fmt::format("must be {}, not {}", describe(), v);
  }
};

/// The real numbers between lo and hi, each end included or not; always finite.
struct real_range {
  double lo = -std::numeric_limits<double>::max();
  double hi = std::numeric_limits<double>::max();
  bool lo_open = false;  ///< lo itself is not allowed ("greater than lo")
  bool hi_open = false;  ///< hi itself is not allowed ("less than hi")

  /// [lo, hi], (lo, hi], ... by name.
  static real_range closed(double lo, double hi) { return {lo, hi, false, false}; }
  static real_range at_least(double lo) { return {lo, std::numeric_limits<double>::max()}; }
  static real_range greater_than(double lo) {
    return {lo, std::numeric_limits<double>::max(), true, false};
  }
  static real_range above_to(double lo, double hi) { return {lo, hi, true, false}; }

  /// "a number from 0 to 1", "a number greater than 0 and at most 10", "a number of at least 0".
  std::string describe() const {
    using detail::show;
    const bool no_lo = lo == -std::numeric_limits<double>::max();
    const bool no_hi = hi == std::numeric_limits<double>::max();
    if (no_lo && no_hi) return "a finite number";
    if (no_hi)
      return fmt::format("a number {} {}", lo_open ? "greater than" : "of at least", show(lo));
    if (no_lo) return fmt::format("a number {} {}", hi_open ? "less than" : "of at most", show(hi));
    if (!lo_open && !hi_open) return fmt::format("a number from {} to {}", show(lo), show(hi));
    return fmt::format("a number {} {} and {} {}", lo_open ? "greater than" : "of at least",
                       show(lo), hi_open ? "less than" : "at most", show(hi));
  }
  bool contains(double v) const {
    if (!std::isfinite(v)) return false;
    if (lo_open ? !(v > lo) : !(v >= lo)) return false;
    return hi_open ? v < hi : v <= hi;
  }
  /// Empty when v is in the range, otherwise "must be <describe()>, not <v>".
  std::string check(double v) const {
    if (contains(v)) return {};
    return fmt::format("must be {}, not {}", describe(), v);
  }
};

/// A number read from text, or why it was refused (a sentence without the option's name).
template <class T>
struct parsed {
  std::variant<T, std::string> v;
  bool ok() const { return v.index() == 0; }
  const T& value() const { return std::get<0>(v); }
  const std::string& why() const { return std::get<1>(v); }
};

/// Reads a whole number in `r`: decimal digits only (a leading zero is not octal).
inline parsed<std::uint64_t> parse_whole(std::string_view text, whole_range r = {}) {
  const auto refuse = [&](std::string_view what) -> parsed<std::uint64_t> {
    return {fmt::format("must be {}, not {}{}", r.describe(), detail::quote(text), what)};
  };
  if (text.empty()) return refuse(" (empty)");
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return refuse("");
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return refuse(" (too large)");
    v = v * 10 + d;
  }
  if (!r.check(v).empty()) return refuse("");
  return {v};
}

/// Reads a finite real number in `r`: an optional sign, decimal digits with an optional point
/// and exponent. NaN, infinities, hex floats and blanks are refused.
inline parsed<double> parse_real(std::string_view text, real_range r = {}) {
  const auto refuse = [&](std::string_view what) -> parsed<double> {
    return {fmt::format("must be {}, not {}{}", r.describe(), detail::quote(text), what)};
  };
  if (text.empty()) return refuse(" (empty)");
  bool digit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9')
      digit = true;
    else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E')
      return refuse("");
  }
  if (!digit) return refuse("");
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return refuse("");
  if (!std::isfinite(v) || (errno == ERANGE && std::fabs(v) > 1)) return refuse(" (too large)");
  if (errno == ERANGE) return refuse(" (too small to be told from 0)");
  if (!r.contains(v)) return refuse("");
  return {v};
}

}  // namespace ouro::inline v0
