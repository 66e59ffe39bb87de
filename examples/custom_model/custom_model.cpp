// custom_model: a user's own model in the collapse loop (the tutorial of docs/custom_model.md).
// A Poisson model is fitted by its sample mean and resampled, generation after generation. The
// rate is a martingale, but every replicate is eventually absorbed at rate 0: model collapse.
#include <cmath>
#include <string>
#include <vector>

#include <ouroboros/io/results_io.hpp>
#include <ouroboros/loop.hpp>
#include <ouroboros/regimes.hpp>
#include <ouroboros/samplers.hpp>

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

// 4. The loop, the run and the results files.
int main() {
  auto loop = ouro::collapse_loop{poisson_mle{}, ouro::sample::ancestral{}, ouro::regime::replace{},
                                  rate{}, collapsed{}};
  ouro::run_options opt;
  opt.label = "M=20";
  opt.generations = 200;
  opt.replicates = 500;
  opt.samples = ouro::schedule::constant{20};
  opt.seed = 7;
  ouro::results res;
  res.experiment = "custom_model";
  res.runs.push_back(loop.run(ouro::from_truth(poisson{3.0}), opt));
  ouro::io::write_results(res, "results", "custom_model");
  const auto& c = res.runs[0].summary[1];
  std::printf("replicates collapsed to rate 0 after %zu generations: %.1f%%\n",
              res.runs[0].generations, 100 * c.mean.back());
}
