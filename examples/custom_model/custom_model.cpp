// custom_model: a user's own model in the collapse loop (the tutorial of docs/custom_model.md).
// A Poisson model is fitted by its sample mean and resampled, generation after generation. The
// rate is a martingale, but every replicate is eventually absorbed at rate 0: model collapse.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <ouroboros/core/loop.hpp>
#include <ouroboros/core/regimes.hpp>
#include <ouroboros/core/samplers.hpp>
#include <ouroboros/core/values.hpp>
#include <ouroboros/io/atomic_file.hpp>
#include <ouroboros/io/plot.hpp>
#include <ouroboros/io/results_io.hpp>

// 1. The model: a dataset type, sample(n, rng) and log_likelihood(data).
struct poisson {
  using dataset_type = std::vector<int>;
  double rate = 1.0;
  dataset_type sample(std::size_t n, ouro::Rng auto& g) const {
    dataset_type x(n);
    const double limit = std::exp(-rate);  // Knuth's product method: fine for small rates
    for (int& k : x) {
      double p = ouro::uniform01(g);
      for (k = 0; p > limit; ++k) p *= ouro::uniform01(g);
    }
    return x;
  }
  double log_likelihood(const dataset_type& x) const {
    double s = 0;
    for (int k : x) s += k * std::log(rate) - rate - std::lgamma(k + 1.0);
    return s;
  }
};

// 2. The fitter: maximum likelihood is the sample mean.
struct poisson_mle {
  using model_type = poisson;
  poisson fit(const std::vector<int>& x, ouro::Rng auto&) const {
    double s = 0;
    for (int k : x) s += k;
    return poisson{s / static_cast<double>(x.size())};
  }
};

// 3. Metrics: a name and a value per generation.
struct rate {
  std::string name() const { return "rate"; }
  double operator()(const ouro::generation_context<poisson>& c) const { return c.model.rate; }
};
struct collapsed {
  std::string name() const { return "collapsed"; }
  double operator()(const ouro::generation_context<poisson>& c) const { return c.model.rate == 0; }
};

// 4. The command line: a few common options, each value checked (ouroboros/core/values.hpp).
struct options {
  std::uint64_t samples = 20, generations = 200, replicates = 500, seed = 7, threads = 0;
  std::string out = "results";
};
const char* usage =
    "usage: custom_model [--samples M] [--generations G] [--replicates R] [--seed S]\n"
    "                    [--threads T] [--out DIR]\n"
    "A Poisson model refitted to its own samples; writes custom_model_results.json,\n"
    "custom_model_summary.csv, custom_model.csv and the figure custom_model.png (with gnuplot)\n"
    "into --out (default: results).\n";

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
    if (a == "--samples")
      whole(o.samples, {1, 1u << 30});
    else if (a == "--generations")
      whole(o.generations, {1, 100'000'000});
    else if (a == "--replicates")
      whole(o.replicates, {1, 100'000'000});
    else if (a == "--seed")
      whole(o.seed, {});
    else if (a == "--threads")
      whole(o.threads, {0, 4096});
    else if (a == "--out" && !v.empty())
      o.out = v;
    else
      throw ouro::config_error(a + ": unknown option, or an empty value");
  }
  return o;
}

// 5. The loop, the run, the results files and a figure, one run per output folder (its lock).
int run(const options& o) {
  auto loop = ouro::collapse_loop{poisson_mle{}, ouro::sample::ancestral{}, ouro::regime::replace{},
                                  rate{}, collapsed{}};
  ouro::run_options opt;
  opt.label = "M=" + std::to_string(o.samples);
  opt.generations = o.generations;
  opt.replicates = o.replicates;
  opt.samples = ouro::schedule::constant{o.samples};
  opt.seed = o.seed;
  opt.threads = static_cast<unsigned>(o.threads);
  std::filesystem::create_directories(o.out);
  const auto lock = ouro::io::lock_folder(o.out);
  ouro::results res;
  res.experiment = "custom_model";
  res.runs.push_back(loop.run(ouro::from_truth(poisson{3.0}), opt));
  // the exact law: the fitted rate is a martingale, E[rate_g] = 3 at every generation
  res.runs[0].theory.emplace_back("rate", std::vector<double>(res.runs[0].generations, 3.0));
  // seed, threads, start time, compiler, build type and version are filled in by themselves
  ouro::io::write_results(res, o.out, "custom_model");
  // one panel per metric: the mean over replicates, its 95% band, the theory dashed
  const auto fig = ouro::io::plot_results(res, std::filesystem::path(o.out) / "custom_model.png");
  if (!fig) std::fprintf(stderr, "custom_model: %s\n", fig.message.c_str());
  const auto& c = res.runs[0].summary[1];
  std::printf("replicates collapsed to rate 0 after %zu generations: %.1f%%\n",
              res.runs[0].generations, 100 * c.mean.back());
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const ouro::config_error& e) {  // a bad command line: exit status 2
    std::fprintf(stderr, "custom_model: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // anything else: exit status 1
    std::fprintf(stderr, "custom_model: error: %s\n", e.what());
    return 1;
  }
}
