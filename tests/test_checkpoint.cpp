// Checkpoints of the reference models and datasets: a model read back is the same bit for bit
// (its bytes, its samples and its likelihoods); every truncation and corruption of a checkpoint
// is refused with ouro::data_error, never a crash.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "ouroboros/checkpoint.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/mv_gaussian.hpp"
#include "ouroboros/models/ngram.hpp"
#include "ouroboros/models/vae.hpp"

using namespace ouro;

namespace {

/// Round trip: the same bytes again, and the same samples and likelihood.
template <class M>
void same_after_round_trip(const M& m) {
  const std::string bytes = to_checkpoint(m);
  const M back = from_checkpoint<M>(bytes, "test");
  CHECK(to_checkpoint(back) == bytes);
  default_rng g1(5), g2(5);
  const auto a = m.sample(50, g1);
  const auto b = back.sample(50, g2);
  CHECK(to_checkpoint(a) == to_checkpoint(b));
  const double la = m.log_likelihood(a), lb = back.log_likelihood(a);
  CHECK(std::memcmp(&la, &lb, sizeof la) == 0);
}

/// Every strict prefix is refused with data_error; so are corrupted copies (or they load).
template <class M>
void refuses_damage(const std::string& bytes) {
  std::size_t refused = 0;
  for (std::size_t n = 0; n < bytes.size(); n += std::max<std::size_t>(1, bytes.size() / 300)) {
    CHECK_THROWS_AS(from_checkpoint<M>(std::string_view(bytes).substr(0, n), "cut"), data_error);
    ++refused;
  }
  CHECK(refused > 0);
  std::string longer = bytes;
  longer.push_back('x');
  CHECK_THROWS_AS(from_checkpoint<M>(longer, "longer"), data_error);
  default_rng g(9);
  for (int t = 0; t < 300; ++t) {
    std::string c = bytes;
    c[uniform_index(g, c.size())] = static_cast<char>(random_bits64(g));
    try {
      (void)from_checkpoint<M>(c, "corrupt");
    } catch (const data_error&) {
    }
  }
}

}  // namespace

TEST_CASE("checkpoints: datasets", "[checkpoint]") {
  const std::vector<double> v{1.5, -2.0, 3.25};
  CHECK(from_checkpoint<std::vector<double>>(to_checkpoint(v), "t") == v);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({2, 3});
  for (std::size_t i = 0; i < 6; ++i) x.data()[i] = static_cast<float>(i) / 7;
  const auto y = from_checkpoint<xt::xtensor<float, 2>>(to_checkpoint(x), "t");
  CHECK(std::equal(y.begin(), y.end(), x.begin(), x.end()));
  CHECK(y.shape() == x.shape());
  text::corpus c;
  c.add_sentence(std::vector<text::word_id>{3, 4, 5});
  c.add_sentence(std::vector<text::word_id>{});
  const auto d = from_checkpoint<text::corpus>(to_checkpoint(c), "t");
  CHECK(d.tokens == c.tokens);
  CHECK(d.starts == c.starts);
  refuses_damage<text::corpus>(to_checkpoint(c));
  refuses_damage<xt::xtensor<float, 2>>(to_checkpoint(x));
}

TEST_CASE("checkpoints: Gaussian, multivariate Gaussian, categorical", "[checkpoint]") {
  same_after_round_trip(models::gaussian(0.3, 1.7));
  refuses_damage<models::gaussian>(to_checkpoint(models::gaussian(0.3, 1.7)));
  xt::xtensor<double, 1> mu = {0.5, -1.0};
  xt::xtensor<double, 2> cov = {{2.0, 0.3}, {0.3, 1.0}};
  same_after_round_trip(models::mv_gaussian(mu, cov));
  refuses_damage<models::mv_gaussian>(to_checkpoint(models::mv_gaussian(mu, cov)));
  // weights whose normalised sum is not exactly 1: the saved probabilities come back exactly
  const models::categorical cat(std::vector<double>{0.1, 0.2, 0.3, 1e-17, 0.4});
  same_after_round_trip(cat);
  const auto back = from_checkpoint<models::categorical>(to_checkpoint(cat), "t");
  CHECK(back.probs() == cat.probs());
  refuses_damage<models::categorical>(to_checkpoint(cat));
}

TEST_CASE("checkpoints: Gaussian mixture with its EM report", "[checkpoint]") {
  default_rng g(3);
  const models::gmm truth(
      {0.3, 0.7}, {-2.0, 0.0, 2.0, 1.0},
      {ouro::detail::sym_matrix::identity(2), ouro::detail::sym_matrix::identity(2)});
  const auto x = truth.sample(400, g);
  event_log log;
  const auto m = models::em_fit<>{}.fit(x, g, log);
  same_after_round_trip(m);
  const auto back = from_checkpoint<models::gmm>(to_checkpoint(m), "t");
  CHECK(back.report().iterations == m.report().iterations);
  CHECK(back.report().converged == m.report().converged);
  refuses_damage<models::gmm>(to_checkpoint(m));
}

TEST_CASE("checkpoints: n-gram model", "[checkpoint]") {
  default_rng g(4);
  text::corpus c;
  std::vector<text::word_id> s;
  for (int i = 0; i < 200; ++i) {
    s.clear();
    for (std::size_t t = 0; t < uniform_index(g, 9); ++t)
      s.push_back(static_cast<text::word_id>(3 + uniform_index(g, 20)));
    c.add_sentence(s);
  }
  for (auto sm : {models::ngram_smoothing::modified_kneser_ney, models::ngram_smoothing::add_k}) {
    models::ngram_fit f;
    f.order = 3;
    f.vocab_size = 23;
    f.smoothing = sm;
    event_log log;
    const auto m = f.fit(c, log);
    same_after_round_trip(m);
    refuses_damage<models::ngram_lm>(to_checkpoint(m));
  }
}

TEST_CASE("checkpoints: VAE", "[checkpoint]") {
  models::vae<float> m(models::vae_shape{12, 6, 2});
  default_rng g(6);
  m.initialise(g);
  m.truncation = 1.5;
  same_after_round_trip(m);
  refuses_damage<models::vae<float>>(to_checkpoint(m));
  CHECK_THROWS_WITH(from_checkpoint<models::vae<double>>(to_checkpoint(m), "t"),
                    Catch::Contains("another scalar type"));
}
