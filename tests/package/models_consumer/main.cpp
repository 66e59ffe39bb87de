// A user of the reference models: a Gaussian mixture fitted with an EM initialisation policy of
// the user's own (every point to the component of its first coordinate's sign), with a standard
// engine, then a short collapse run. Prints "models consumer: ok" when all went as expected.
#include <cstdio>
#include <random>

#include <ouroboros/models.hpp>

struct by_sign {  // an ouro::models::EmInitialisation written outside the library
  template <ouro::Rng G>
  void operator()(const ouro::models::em_start<G>& s) const {
    const std::size_t n = s.data.shape()[0], d = s.data.shape()[1];
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = s.components > 1 && s.data.data()[i * d] > 0 ? 1 : 0;
      s.responsibilities[k * n + i] = 1.0;
    }
  }
};
static_assert(ouro::models::EmInitialisation<by_sign>);

int main() {
  std::mt19937_64 g(7);
  const ouro::models::gmm truth({0.5, 0.5}, {-3.0, 0.0, 3.0, 0.0},
                                {ouro::matrix::identity(2), ouro::matrix::identity(2)});
  const auto x = truth.sample(2000, g);
  ouro::event_log log;
  const auto m = ouro::models::gmm_fitter<by_sign>{.components = 2}.fit(x, g, log);
  const bool means_ok = std::abs(std::abs(m.means()[0]) - 3.0) < 0.2;

  auto loop =
      ouro::collapse_loop{ouro::models::gmm_fitter<>{.components = 2}, ouro::sample::ancestral{},
                          ouro::regime::replace{}, ouro::metrics::l2_distance{truth}};
  ouro::run_options opt;
  opt.generations = 5;
  opt.replicates = 4;
  opt.samples = ouro::schedule::constant{500};
  const auto r = loop.run(ouro::from_truth(truth), opt);
  const bool ran = r.generations == 5;
  std::printf("models consumer: %s (mean %.3f, %zu generations)\n",
              means_ok && ran ? "ok" : "FAILED", m.means()[0], r.generations);
  return means_ok && ran ? 0 : 1;
}
