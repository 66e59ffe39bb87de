// Runtime choice of the instruction set for the vector kernels of the mixture models (log-sum-exp,
// 2-D densities and moments, normal variates). A program built for the x86-64 baseline runs them
// with AVX-512 or AVX2 where the processor has it. The kernels perform the same operations in the
// same order on every path, with no fused multiply-add, so the choice never changes a result: the
// same seed gives the same bits on every x86-64 processor. See docs/reliability.md.
#pragma once

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
/// 1 where kernels are compiled for several x86 instruction sets and chosen at run time.
#define OURO_SIMD_DISPATCH 1
#else
#define OURO_SIMD_DISPATCH 0
#endif

/// Forces inlining (vector helpers are inlined into each instruction set's kernel, so that they are
/// compiled for it).
#define OURO_INLINE [[gnu::always_inline]] inline

// No contraction of a * b + c into a fused multiply-add inside the kernels (it would round
// differently on processors that have one). clang decides where the expression is written, GCC
// per function.
#if defined(__clang__)
#define OURO_NO_CONTRACT _Pragma("clang fp contract(off)")
#define OURO_NO_CONTRACT_ATTR
#elif defined(__GNUC__)
#define OURO_NO_CONTRACT
#define OURO_NO_CONTRACT_ATTR , optimize("fp-contract=off")
#else
#define OURO_NO_CONTRACT
#define OURO_NO_CONTRACT_ATTR
#endif

#if OURO_SIMD_DISPATCH
/// Attributes of a kernel entry compiled for the baseline, AVX2 or AVX-512 (F and DQ).
#define OURO_KERNEL_BASE __attribute__((noinline OURO_NO_CONTRACT_ATTR))
#define OURO_KERNEL_AVX2 __attribute__((noinline, target("avx2") OURO_NO_CONTRACT_ATTR))
#define OURO_KERNEL_AVX512 \
  __attribute__((noinline, target("avx512f,avx512dq") OURO_NO_CONTRACT_ATTR))
#else
#define OURO_KERNEL_BASE __attribute__((noinline OURO_NO_CONTRACT_ATTR))
#endif

/// Defines the entry points of a kernel `name<W>` (a template on the vector width, always
/// inlined): name_w2, name_w4 and name_w8, each compiled for its instruction set (only name_w2
/// where there is no dispatch), and run_name, which calls the one simd_active() selects.
#if OURO_SIMD_DISPATCH
#define OURO_DISPATCH_KERNEL(name, ret, params, args) \
  OURO_KERNEL_BASE inline ret name##_w2 params {      \
    return name<2> args;                              \
  }                                                   \
  OURO_KERNEL_AVX2 inline ret name##_w4 params {      \
    return name<4> args;                              \
  }                                                   \
  OURO_KERNEL_AVX512 inline ret name##_w8 params {    \
    return name<8> args;                              \
  }                                                   \
  inline ret run_##name params {                      \
    switch (ouro::simd_active()) {                    \
      case ouro::simd_level::avx512:                  \
        return name##_w8 args;                        \
      case ouro::simd_level::avx2:                    \
        return name##_w4 args;                        \
      default:                                        \
        return name##_w2 args;                        \
    }                                                 \
  }
#else
#define OURO_DISPATCH_KERNEL(name, ret, params, args) \
  OURO_KERNEL_BASE inline ret name##_w2 params {      \
    return name<2> args;                              \
  }                                                   \
  inline ret run_##name params {                      \
    return name##_w2 args;                            \
  }
#endif

namespace ouro::inline v0 {

/// The instruction sets the vector kernels can run with, in increasing order.
enum class simd_level {
  baseline = 0,  ///< the compile target's own (SSE2 on x86-64): two doubles per vector
  avx2 = 1,      ///< AVX2: four doubles per vector
  avx512 = 2,    ///< AVX-512 F and DQ: eight doubles per vector
};

inline std::string_view to_string(simd_level l) noexcept {
  switch (l) {
    case simd_level::baseline:
      return "baseline";
    case simd_level::avx2:
      return "avx2";
    case simd_level::avx512:
      return "avx512";
  }
  return "?";
}

/// The best level this processor (and operating system) supports.
inline simd_level simd_detected() noexcept {
#if OURO_SIMD_DISPATCH
  static const simd_level level = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
      return simd_level::avx512;
    if (__builtin_cpu_supports("avx2")) return simd_level::avx2;
    return simd_level::baseline;
  }();
  return level;
#else
  return simd_level::baseline;
#endif
}

namespace detail {
/// The upper limit set by set_simd_limit (or OUROBOROS_SIMD at the first use); -1: not yet read.
inline std::atomic<int>& simd_limit_slot() noexcept {
  static std::atomic<int> slot{-1};
  return slot;
}
inline simd_level parse_simd_level(std::string_view s) {
  if (s == "baseline") return simd_level::baseline;
  if (s == "avx2") return simd_level::avx2;
  if (s == "avx512") return simd_level::avx512;
  throw std::invalid_argument("OUROBOROS_SIMD is '" + std::string(s) +
                              "'; use baseline, avx2 or avx512 (or leave it unset)");
}
}  // namespace detail

/// What is wrong with the environment variable OUROBOROS_SIMD, or "" when it is unset or valid.
/// The kernels ignore a value they do not know (the choice never changes a result, only the
/// speed); programs should refuse it: the examples exit with status 2 and this message.
inline std::string simd_environment_error() {
  const char* env = std::getenv("OUROBOROS_SIMD");
  if (!env || !*env) return {};
  try {
    detail::parse_simd_level(env);
    return {};
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

/// Caps the level the kernels use (results do not depend on it; this is for tests and timing).
/// A cap above what the processor supports has no effect beyond simd_detected().
inline void set_simd_limit(simd_level cap) noexcept {
  detail::simd_limit_slot().store(static_cast<int>(cap), std::memory_order_relaxed);
}

/// The level the kernels use now: simd_detected(), capped by set_simd_limit() or, until that is
/// called, by the environment variable OUROBOROS_SIMD (baseline, avx2 or avx512; another value
/// is ignored, see simd_environment_error()).
inline simd_level simd_active() noexcept {
  int cap = detail::simd_limit_slot().load(std::memory_order_relaxed);
  if (cap < 0) {
    cap = static_cast<int>(simd_level::avx512);
    if (simd_environment_error().empty())
      if (const char* env = std::getenv("OUROBOROS_SIMD"); env && *env)
        cap = static_cast<int>(detail::parse_simd_level(env));
    int expected = -1;
    detail::simd_limit_slot().compare_exchange_strong(expected, cap, std::memory_order_relaxed);
    cap = detail::simd_limit_slot().load(std::memory_order_relaxed);
  }
  const int have = static_cast<int>(simd_detected());
  return static_cast<simd_level>(cap < have ? cap : have);
}

}  // namespace ouro
