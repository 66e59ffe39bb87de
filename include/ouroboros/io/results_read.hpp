// Reading results files back: io::read_results(dir, name) loads <name>_results.json (and the
// per-replicate values of <name>.csv, where it exists) into the same ouro::results value that
// wrote them. See docs/results.md.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/results.hpp"
#include "ouroboros/io/read_file.hpp"

namespace ouro::inline v0::io {

namespace detail {

/// Reads one results JSON document; every complaint names the file and the place in it.
class results_reader {
 public:
  explicit results_reader(std::string file) : file_(std::move(file)) {}

  results read(const nlohmann::json& j) const {
    if (!j.is_object()) fail("", "the document is not a JSON object");
    results r;
    if (j.contains("experiment")) r.experiment = text(j, "experiment", "");
    if (j.contains("config")) r.config = config(j.at("config"), "config");
    if (j.contains("provenance")) provenance(j.at("provenance"), r);
    if (!j.contains("runs") || !j.at("runs").is_array()) fail("", "no \"runs\" list");
    for (std::size_t i = 0; i < j.at("runs").size(); ++i)
      r.runs.push_back(run(j.at("runs")[i], fmt::format("runs[{}]", i)));
    if (j.contains("events")) events(j.at("events"), r);
    if (j.contains("events_not_listed") && !r.runs.empty())
      r.runs.front().events_dropped = count(j, "events_not_listed", "");
    return r;
  }

 private:
  [[noreturn]] void fail(std::string_view where, std::string_view what) const {
    throw data_error(where.empty() ? fmt::format("{}: {}", file_, what)
                                   : fmt::format("{}: {}: {}", file_, where, what));
  }
  const nlohmann::json& at(const nlohmann::json& o, const char* key, std::string_view where) const {
    if (!o.is_object() || !o.contains(key)) fail(where, fmt::format("no \"{}\"", key));
    return o.at(key);
  }
  std::string text(const nlohmann::json& o, const char* key, std::string_view where) const {
    const auto& v = at(o, key, where);
    if (!v.is_string()) fail(where, fmt::format("\"{}\" is not a string", key));
    return v.get<std::string>();
  }
  std::uint64_t count(const nlohmann::json& o, const char* key, std::string_view where) const {
    const auto& v = at(o, key, where);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
      fail(where, fmt::format("\"{}\" is not a count", key));
    return v.get<std::uint64_t>();
  }
  double number(const nlohmann::json& v, std::string_view where) const {
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();  // written for NaN or inf
    if (!v.is_number()) fail(where, "not a number");
    return v.get<double>();
  }
  std::vector<double> numbers(const nlohmann::json& v, std::string_view where) const {
    if (!v.is_array()) fail(where, "not a list of numbers");
    std::vector<double> out;
    out.reserve(v.size());
    for (const auto& x : v) out.push_back(number(x, where));
    return out;
  }
  params config(const nlohmann::json& o, std::string_view where) const {
    if (!o.is_object()) fail(where, "not an object");
    params ps;
    for (auto it = o.begin(); it != o.end(); ++it) {
      const auto& v = it.value();
      const auto here = fmt::format("{}.{}", where, it.key());
      if (v.is_boolean())
        ps.emplace_back(it.key(), v.get<bool>());
      else if (v.is_number_integer())
        ps.emplace_back(it.key(), v.get<std::int64_t>());
      else if (v.is_number() || v.is_null())
        ps.emplace_back(it.key(), number(v, here));
      else if (v.is_string())
        ps.emplace_back(it.key(), v.get<std::string>());
      else if (v.is_array())
        ps.emplace_back(it.key(), numbers(v, here));
      else
        fail(here, "a configuration value must be a bool, a number, a string or a list of numbers");
    }
    return ps;
  }
  void provenance(const nlohmann::json& p, results& r) const {
    if (!p.is_object()) fail("provenance", "not an object");
    for (auto it = p.begin(); it != p.end(); ++it) {
      const auto& k = it.key();
      const auto& v = it.value();
      if (k == "seed") {
        if (v.is_number_unsigned())
          r.seed = v.get<std::uint64_t>();  // a list: the runs carry their own seeds
      } else if (k == "threads") {
        if (v.is_number_unsigned()) r.threads = v.get<unsigned>();
      } else if (k == "started") {
        if (v.is_string()) r.started = v.get<std::string>();
      } else if (k == "seconds") {
        r.seconds = v.is_number() ? v.get<double>() : 0.0;
      } else if (v.is_string()) {
        r.provenance.emplace_back(k, v.get<std::string>());
      }
    }
  }
  run_result run(const nlohmann::json& j, const std::string& where) const {
    if (!j.is_object()) fail(where, "not an object");
    run_result x;
    x.label = text(j, "label", where);
    const auto here = fmt::format("run '{}'", x.label);
    if (j.contains("config")) x.config = config(j.at("config"), here + " config");
    x.replicates = count(j, "replicates", here);
    x.generations = count(j, "generations", here);
    const auto& summary = at(j, "summary", here);
    if (!summary.is_object()) fail(here, "\"summary\" is not an object");
    if (j.contains("metrics")) {
      for (const auto& n : j.at("metrics")) {
        if (!n.is_string()) fail(here, "\"metrics\" is not a list of names");
        x.metric_names.push_back(n.get<std::string>());
      }
    } else {  // files written before the list existed: the summary's (alphabetical) order
      for (auto it = summary.begin(); it != summary.end(); ++it) x.metric_names.push_back(it.key());
    }
    for (const auto& name : x.metric_names) {
      const auto m = fmt::format("{} metric '{}'", here, name);
      if (!summary.contains(name)) fail(m, "listed in \"metrics\" but not in \"summary\"");
      const auto& s = summary.at(name);
      metric_series ms;
      ms.name = name;
      const auto g = numbers(at(s, "generation", m), m + " generation");
      for (double v : g) {
        if (!(v >= 0) || v != std::floor(v)) fail(m, "a generation is not a whole number");
        ms.generation.push_back(static_cast<std::size_t>(v));
      }
      const std::pair<const char*, std::vector<double>*> cols[] = {
          {"mean", &ms.mean},       {"sd", &ms.sd},           {"se", &ms.se},
          {"ci95_lo", &ms.ci95_lo}, {"ci95_hi", &ms.ci95_hi}, {"median", &ms.median}};
      for (const auto& [key, col] : cols) {
        *col = numbers(at(s, key, m), fmt::format("{} {}", m, key));
        if (col->size() != g.size())
          fail(m,
               fmt::format("\"{}\" has {} values for {} generations", key, col->size(), g.size()));
      }
      if (ms.generation.size() != x.generations)
        fail(m, fmt::format("{} summary points for {} generations", ms.generation.size(),
                            x.generations));
      x.summary.push_back(std::move(ms));
    }
    if (j.contains("theory")) {
      const auto& t = j.at("theory");
      if (!t.is_object()) fail(here, "\"theory\" is not an object");
      for (auto it = t.begin(); it != t.end(); ++it)
        x.theory.emplace_back(it.key(),
                              numbers(it.value(), fmt::format("{} theory '{}'", here, it.key())));
    }
    return x;
  }
  void events(const nlohmann::json& list, results& r) const {
    if (!list.is_array()) fail("events", "not a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto where = fmt::format("events[{}]", i);
      const auto& e = list[i];
      event ev{text(e, "run", where), count(e, "replicate", where), count(e, "generation", where),
               text(e, "what", where), text(e, "action", where)};
      run_result* owner = nullptr;
      for (auto& run : r.runs)
        if (run.label == ev.run) owner = &run;
      if (!owner) fail(where, fmt::format("names run '{}', which is not in \"runs\"", ev.run));
      owner->events.push_back(std::move(ev));
    }
  }

  std::string file_;
};

/// Splits one CSV line into fields (RFC 4180 quoting, as detail::csv_field writes it).
inline bool split_csv_line(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string f;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        f += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        f += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(f));
      f.clear();
    } else {
      f += c;
    }
  }
  fields.push_back(std::move(f));
  return !quoted;
}

}  // namespace detail

/// Loads a results JSON file (as results_json writes it) into a results value: the experiment, its
/// configuration and provenance, and every run's label, configuration, counts, metric names (in the
/// order they were written), summaries, theory and events. The per-replicate values are not in the
/// JSON (see read_results). Non-finite numbers come back as NaN (the JSON holds null for NaN and
/// for infinities alike). Throws data_error naming the file and the place for anything malformed.
inline results read_results_json(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::string text = read_file(file, std::size_t{1} << 32);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw data_error(fmt::format("{}: not valid JSON (byte {}): {}", file, e.byte, e.what()));
  }
  return detail::results_reader(file).read(j);
}

/// Loads the per-replicate values of a tidy CSV (experiment,run,replicate,generation,metric,value)
/// into the runs of `r` that it names: each such run gets has_values and values laid out
/// [generation][replicate][metric]. Throws data_error naming the file and the line for a row that
/// does not fit the runs.
inline void read_tidy_values(const std::filesystem::path& path, results& r) {
  const std::string file = path.string();
  const std::string text = read_file(file, std::size_t{1} << 40);
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < r.runs.size(); ++i) index.emplace(r.runs[i].label, i);
  std::vector<std::vector<unsigned char>> seen(r.runs.size());
  std::vector<std::string> f;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    auto fail = [&](std::string_view what) {
      throw data_error(fmt::format("{}: line {}: {}", file, line_no, what));
    };
    if (line_no == 1) {
      if (line != "experiment,run,replicate,generation,metric,value")
        fail("not a tidy results CSV (experiment,run,replicate,generation,metric,value)");
      continue;
    }
    if (line.empty()) continue;
    if (!detail::split_csv_line(line, f) || f.size() != 6) fail("not six CSV fields");
    const auto it = index.find(f[1]);
    if (it == index.end()) fail(fmt::format("run '{}' is not in the results", f[1]));
    auto& run = r.runs[it->second];
    const std::size_t K = run.metric_names.size(), R = run.replicates, G = run.generations;
    if (!run.has_values) {
      run.has_values = true;
      run.values.assign(G * R * K, std::numeric_limits<double>::quiet_NaN());
      seen[it->second].assign(G * R * K, 0);
    }
    auto whole = [&](const std::string& s, std::size_t limit, const char* what) {
      std::size_t v = 0;
      if (s.empty() || s.size() > 19) fail(fmt::format("bad {} '{}'", what, s));
      for (char c : s) {
        if (c < '0' || c > '9') fail(fmt::format("bad {} '{}'", what, s));
        v = v * 10 + static_cast<std::size_t>(c - '0');
      }
      if (v >= limit) fail(fmt::format("{} {} is out of range (the run has {})", what, v, limit));
      return v;
    };
    const std::size_t rep = whole(f[2], R, "replicate"), g = whole(f[3], G, "generation");
    const auto k = run.metric_index(f[4]);
    if (!k) fail(fmt::format("metric '{}' is not a metric of run '{}'", f[4], run.label));
    double v = std::numeric_limits<double>::quiet_NaN();
    if (f[5] == "inf") {
      v = std::numeric_limits<double>::infinity();
    } else if (f[5] == "-inf") {
      v = -std::numeric_limits<double>::infinity();
    } else if (!f[5].empty()) {
      std::size_t used = 0;
      try {
        v = std::stod(f[5], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != f[5].size() || std::isnan(v)) fail(fmt::format("bad value '{}'", f[5]));
    }
    const std::size_t at = (g * R + rep) * K + *k;
    if (seen[it->second][at]) fail("a value given twice");
    seen[it->second][at] = 1;
    run.values[at] = v;
  }
}

/// Loads what write_results wrote into `dir` under `name`: <name>_results.json, and the
/// per-replicate values from <name>.csv where that file exists.
inline results read_results(const std::filesystem::path& dir, std::string_view name) {
  auto r = read_results_json(dir / fmt::format("{}_results.json", name));
  const auto tidy = dir / fmt::format("{}.csv", name);
  std::error_code ec;
  if (std::filesystem::exists(tidy, ec)) read_tidy_values(tidy, r);
  return r;
}

}  // namespace ouro::inline v0::io
