// Concept Checkpointable: a model or dataset that can be written to and read back from a
// checkpoint bit for bit, so that a resumed run continues exactly where it stopped. Specialise
// ouro::checkpoint_traits<T> (save and load through io::binary_writer and io::binary_reader); the
// reference models and datasets have theirs (matrices: ouroboros/models/dataset_xtensor.hpp). See
// docs/reliability.md.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/binary.hpp"
#include "ouroboros/core/results.hpp"

namespace ouro::inline v0 {

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

/// Events.
template <>
struct checkpoint_traits<event> {
  static void save(const event& e, io::binary_writer& w) {
    w.put_string(e.run);
    w.put_u64(e.replicate);
    w.put_u64(e.generation);
    w.put_string(e.what);
    w.put_string(e.action);
  }
  static event load(io::binary_reader& r) {
    event e;
    e.run = r.get_string("event run");
    e.replicate = r.get_size("event replicate", std::uint64_t{1} << 48);
    e.generation = r.get_size("event generation", std::uint64_t{1} << 48);
    e.what = r.get_string("event what");
    e.action = r.get_string("event action");
    return e;
  }
};

/// Configuration values.
template <>
struct checkpoint_traits<param_value> {
  static void save(const param_value& p, io::binary_writer& w) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(p.index()));
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string>)
            w.put_string(v);
          else if constexpr (std::is_same_v<V, std::vector<double>>)
            w.put_vector(v);
          else
            w.put(v);
        },
        p);
  }
  static param_value load(io::binary_reader& r) {
    switch (r.get<std::uint8_t>("parameter type")) {
      case 0:
        return r.get<bool>("parameter");
      case 1:
        return r.get<std::int64_t>("parameter");
      case 2:
        return r.get<double>("parameter");
      case 3:
        return r.get_string("parameter");
      case 4:
        return r.get_vector<double>("parameter");
      default:
        r.fail("unknown parameter type");
    }
  }
};

/// Named configuration values.
template <>
struct checkpoint_traits<params> {
  static void save(const params& ps, io::binary_writer& w) {
    w.put_u64(ps.size());
    for (const auto& [k, v] : ps) {
      w.put_string(k);
      checkpoint_traits<param_value>::save(v, w);
    }
  }
  static params load(io::binary_reader& r) {
    const auto n = r.get_size("parameter count", std::uint64_t{1} << 20);
    params ps;
    for (std::size_t i = 0; i < n; ++i) {
      auto k = r.get_string("parameter name");
      ps.emplace_back(std::move(k), checkpoint_traits<param_value>::load(r));
    }
    return ps;
  }
};

/// The results of a run, whole (summaries, kept values, theory, events).
template <>
struct checkpoint_traits<run_result> {
  static void save(const run_result& x, io::binary_writer& w) {
    w.put_tag("run_result-2");
    w.put_string(x.label);
    checkpoint_traits<params>::save(x.config, w);
    w.put_u64(x.replicates);
    w.put_u64(x.generations);
    w.put_u64(x.metric_names.size());
    for (const auto& n : x.metric_names) w.put_string(n);
    for (const auto& s : x.summary) {
      w.put_string(s.name);
      w.put_vector(std::vector<std::uint64_t>(s.generation.begin(), s.generation.end()));
      for (const auto* v : {&s.mean, &s.sd, &s.se, &s.ci95_lo, &s.ci95_hi, &s.median})
        w.put_vector(*v);
    }
    w.put_vector(x.values);
    w.put<std::uint8_t>(x.has_values);
    w.put_u64(x.theory.size());
    for (const auto& [n, v] : x.theory) {
      w.put_string(n);
      w.put_vector(v);
    }
    checkpoint_traits<std::vector<event>>::save(x.events, w);
    w.put_u64(x.events_dropped);
    w.put_f64(x.seconds);
    w.put<std::uint8_t>(x.interrupted);
    w.put_u64(x.seed);
    w.put_u64(x.threads);
    w.put_string(x.started);
  }
  static run_result load(io::binary_reader& r) {
    r.expect_tag("run_result-2");
    run_result x;
    x.label = r.get_string("run label");
    x.config = checkpoint_traits<params>::load(r);
    x.replicates = r.get_size("replicates", std::uint64_t{1} << 40);
    x.generations = r.get_size("generations", std::uint64_t{1} << 40);
    const auto k = r.get_size("metric count", std::uint64_t{1} << 20);
    for (std::size_t i = 0; i < k; ++i) x.metric_names.push_back(r.get_string("metric name"));
    x.summary.resize(k);
    for (auto& s : x.summary) {
      s.name = r.get_string("metric name");
      const auto g = r.get_vector<std::uint64_t>("summary generations");
      s.generation.assign(g.begin(), g.end());
      for (auto* v : {&s.mean, &s.sd, &s.se, &s.ci95_lo, &s.ci95_hi, &s.median}) {
        *v = r.get_vector<double>("summary column");
        if (v->size() != g.size()) r.fail("summary columns of different lengths");
      }
    }
    x.values = r.get_vector<double>("values");
    x.has_values = r.get<std::uint8_t>("has_values") != 0;
    const auto t = r.get_size("theory count", std::uint64_t{1} << 20);
    for (std::size_t i = 0; i < t; ++i) {
      auto n = r.get_string("theory metric");
      x.theory.emplace_back(std::move(n), r.get_vector<double>("theory values"));
    }
    x.events = checkpoint_traits<std::vector<event>>::load(r);
    x.events_dropped = r.get_size("events dropped", std::uint64_t{1} << 62);
    x.seconds = r.get_f64("seconds");
    x.interrupted = r.get<std::uint8_t>("interrupted") != 0;
    x.seed = r.get_u64("seed");
    x.threads = static_cast<unsigned>(r.get_size("threads", 1u << 20));
    x.started = r.get_string("start time");
    return x;
  }
};

}  // namespace ouro::inline v0
