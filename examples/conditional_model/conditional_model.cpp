// conditional_model: a model that labels inputs in the collapse loop (the tutorial of
// docs/conditional_model.md). A least-squares regression with a fixed design: each replicate draws
// T rows of d inputs once; every generation refits the weights on the same inputs labelled by the
// previous generation's model. Replacing the data, the error grows linearly with the generations;
// accumulating it, the error stays bounded. Both laws are exact and checked here.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <ouroboros/core/loop.hpp>
#include <ouroboros/core/regimes.hpp>
#include <ouroboros/core/samplers.hpp>
#include <ouroboros/core/theory.hpp>
#include <ouroboros/core/values.hpp>
#include <ouroboros/io/atomic_file.hpp>
#include <ouroboros/io/plot.hpp>
#include <ouroboros/io/results_io.hpp>

constexpr std::size_t d = 4;  // inputs per row

// 1. The data carry the inputs: one row is an input vector and its label.
struct row {
  std::array<double, d> x;
  double y;
};
using rows = std::vector<row>;

double dot(const std::array<double, d>& a, const std::array<double, d>& b) {
  double s = 0;
  for (std::size_t j = 0; j < d; ++j) s += a[j] * b[j];
  return s;
}

// 2. The truth, a joint distribution: inputs N(0, I), labels x.w* + N(0, sigma^2). It draws each
// replicate's real rows, and with them the design that every later generation keeps.
struct design_truth {
  using dataset_type = rows;
  std::array<double, d> w;
  double sigma;
  rows sample(std::size_t n, ouro::Rng auto& g) const {
    rows out(n);
    for (auto& r : out) {
      for (double& v : r.x) v = ouro::standard_normal(g);
      r.y = dot(r.x, w) + sigma * ouro::standard_normal(g);
    }
    return out;
  }
};

// 3. The model labels inputs: relabel(inputs, rng) returns the rows with new labels. It has no
// sample(n, rng) (it cannot invent inputs), so it is a ConditionalModel, not a Distribution.
struct linear_model {
  using dataset_type = rows;
  std::array<double, d> w{};
  double sigma = 1;
  rows relabel(const rows& inputs, ouro::Rng auto& g) const {
    rows out = inputs;
    for (auto& r : out) r.y = dot(r.x, w) + sigma * ouro::standard_normal(g);
    return out;
  }
};

// 4. The fitter: ordinary least squares on every row it is given (the normal equations, solved by
// Cholesky), whatever their order. The noise level is known.
struct least_squares {
  using model_type = linear_model;
  double sigma = 1;
  linear_model fit(const rows& data, ouro::Rng auto&, ouro::event_log& log) const {
    double a[d][d] = {}, b[d] = {};
    for (const auto& r : data)
      for (std::size_t i = 0; i < d; ++i) {
        b[i] += r.x[i] * r.y;
        for (std::size_t j = 0; j <= i; ++j) a[i][j] += r.x[i] * r.x[j];
      }
    for (std::size_t j = 0; j < d; ++j) {  // a = L L', L in the lower triangle of a
      for (std::size_t k = 0; k < j; ++k) a[j][j] -= a[j][k] * a[j][k];
      if (!(a[j][j] > 1e-12)) {
        log.record("singular design (fewer independent rows than inputs)", "weights set to 0");
        return {{}, sigma};
      }
      a[j][j] = std::sqrt(a[j][j]);
      for (std::size_t i = j + 1; i < d; ++i) {
        for (std::size_t k = 0; k < j; ++k) a[i][j] -= a[i][k] * a[j][k];
        a[i][j] /= a[j][j];
      }
    }
    linear_model m{{}, sigma};
    for (std::size_t i = 0; i < d; ++i) {  // L z = b, then L' w = z
      for (std::size_t k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
      b[i] /= a[i][i];
    }
    for (std::size_t i = d; i-- > 0;) {
      for (std::size_t k = i + 1; k < d; ++k) b[i] -= a[k][i] * m.w[k];
      m.w[i] = b[i] / a[i][i];
    }
    return m;
  }
};

// 5. The metric: the squared distance of the weights from the truth's.
struct sq_error {
  std::array<double, d> w_star;
  std::string name() const { return "sq_error"; }
  double operator()(const ouro::generation_context<linear_model>& c) const {
    double s = 0;
    for (std::size_t j = 0; j < d; ++j)
      s += (c.model.w[j] - w_star[j]) * (c.model.w[j] - w_star[j]);
    return s;
  }
};

// 6. The command line, every value checked (ouroboros/core/values.hpp).
struct options {
  std::uint64_t rows = 20, generations = 10, replicates = 20000, seed = 11, threads = 0;
  double noise = 1.0;
  std::string out = "results";
};
const char* usage =
    "usage: conditional_model [--rows T] [--noise SIGMA] [--generations G] [--replicates R]\n"
    "                         [--seed S] [--threads N] [--out DIR]\n"
    "Least squares with a fixed design (T rows of 4 inputs) refitted on its own labels, under the\n"
    "replace and accumulate regimes, against the exact laws sigma^2 d n / (T - d - 1) and\n"
    "sigma^2 d / (T - d - 1) * sum_{i<=n} 1/i^2. Writes conditional_model_results.json,\n"
    "conditional_model_summary.csv (with the theory column), conditional_model.csv and\n"
    "conditional_model.png (with gnuplot) into --out (default: results).\n";

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") std::fputs(usage, stdout), std::exit(0);
    if (i + 1 >= argc) throw ouro::config_error(a + ": unknown option, or a value is missing");
    const std::string v = argv[++i];
    const auto whole = [&](std::uint64_t& x, ouro::whole_range r) {
      const auto p = ouro::parse_whole(v, r);
      if (!p.ok()) throw ouro::config_error(a + ": " + p.why());
      x = p.value();
    };
    if (a == "--rows") {
      whole(o.rows, {d + 2, 1u << 20});  // the laws need T > d + 1
    } else if (a == "--noise") {
      const auto p = ouro::parse_real(v, ouro::real_range::above_to(0, 1e6));
      if (!p.ok()) throw ouro::config_error(a + ": " + p.why());
      o.noise = p.value();
    } else if (a == "--generations") {
      whole(o.generations, {1, 100'000});
    } else if (a == "--replicates") {
      whole(o.replicates, {2, 100'000'000});
    } else if (a == "--seed") {
      whole(o.seed, {});
    } else if (a == "--threads") {
      whole(o.threads, {0, 4096});
    } else if (a == "--out" && !v.empty()) {
      o.out = v;
    } else {
      throw ouro::config_error(a + ": unknown option, or an empty value");
    }
  }
  return o;
}

// 7. Two runs, one per regime; the relabel sampler labels each replicate's real inputs.
int run(const options& o) {
  const std::array<double, d> w_star{1.0, -0.5, 0.25, 2.0};
  const design_truth truth{w_star, o.noise};
  ouro::results res;
  res.experiment = "conditional_model";
  auto one = [&](auto regime, const char* label, auto law) {
    auto loop = ouro::collapse_loop{least_squares{o.noise}, ouro::sample::relabel{}, regime,
                                    sq_error{w_star}};
    ouro::run_options opt;
    opt.label = label;
    opt.generations = o.generations;
    opt.replicates = o.replicates;
    opt.samples = ouro::schedule::constant{o.rows};  // T rows: every generation labels all of them
    opt.seed = o.seed;
    opt.threads = static_cast<unsigned>(o.threads);
    opt.config = {{"rows", static_cast<std::int64_t>(o.rows)},
                  {"inputs", static_cast<std::int64_t>(d)},
                  {"noise", o.noise}};
    auto r = loop.run(ouro::from_truth(truth), opt);
    std::vector<double> theory(r.generations);
    for (std::size_t g = 0; g < r.generations; ++g) theory[g] = law(o.noise, d, o.rows, g + 1);
    r.theory.emplace_back("sq_error", std::move(theory));
    res.runs.push_back(std::move(r));
  };
  one(ouro::regime::replace{}, "replace", ouro::theory::regression_replace_error);
  one(ouro::regime::accumulate{}, "accumulate", ouro::theory::regression_accumulate_error);

  std::filesystem::create_directories(o.out);
  const auto lock = ouro::io::lock_folder(o.out);
  ouro::io::write_results(res, o.out, "conditional_model");
  ouro::io::figure_options fig;
  fig.title = "least squares, fixed design: E||w_n - w*||^2";
  const auto drawn =
      ouro::io::plot_results(res, std::filesystem::path(o.out) / "conditional_model.png", fig);
  if (!drawn) std::fprintf(stderr, "conditional_model: %s\n", drawn.message.c_str());

  double worst = 0;
  std::printf("%-11s %4s %12s %10s %12s\n", "regime", "n", "Monte Carlo", "s.e.", "theory");
  for (const auto& r : res.runs) {
    const auto& s = r.summary[0];
    const auto& th = r.theory[0].second;
    for (std::size_t g = 0; g < r.generations; ++g) {
      std::printf("%-11s %4zu %12.5f %10.5f %12.5f\n", r.label.c_str(), g + 1, s.mean[g], s.se[g],
                  th[g]);
      worst = std::max(worst, std::abs(s.mean[g] - th[g]) / s.se[g]);
    }
  }
  std::printf("largest |Monte Carlo - theory| / s.e.: %.2f\n", worst);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const ouro::config_error& e) {  // a bad command line: exit status 2
    std::fprintf(stderr, "conditional_model: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // anything else: exit status 1
    std::fprintf(stderr, "conditional_model: error: %s\n", e.what());
    return 1;
  }
}
