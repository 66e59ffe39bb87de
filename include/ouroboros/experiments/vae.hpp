// The VAE experiment of Shumailov et al. (the program vae_collapse): generation 0 is a VAE
// trained on real MNIST digits, each next generation a fresh VAE trained on as many digits
// decoded from the previous generation's prior samples. See ouroboros/experiments/common.hpp and
// docs/vae.md.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/real_source.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/experiments/common.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/models/figures.hpp"
#include "ouroboros/models/idx.hpp"
#include "ouroboros/models/metrics/vae.hpp"
#include "ouroboros/models/vae.hpp"

namespace ouro::inline v0::experiments {

/// vae_collapse's settings, with its defaults. `samples` are real training digits from the start
/// of the training split (empty: all of it).
struct vae_settings : common_settings {
  std::string data = "data/mnist";  ///< folder with mnist10k-images-idx3-ubyte and its labels
  std::string images, labels;       ///< IDX files instead of `data` (both or neither)
  std::size_t epochs = 10;          ///< training epochs of every generation
  std::size_t latent = 20;
  std::size_t hidden = 400;
  std::size_t batch = 128;
  double lr = 1e-3;                ///< Adam learning rate
  bool binarize = false;           ///< train on binarised draws instead of Bernoulli means
  double truncate = 0;             ///< the truncation trick: |z_i| < S (0: off)
  std::size_t gen_samples = 1000;  ///< digits generated per generation for the metrics
  vae_settings() {
    samples = {};
    generations = 10;
    replicates = 1;
  }
};

/// Throws config_error (starting with the setting's name) for settings the experiment refuses.
inline void check(const vae_settings& s) {
  common_settings c = s;
  if (c.samples.empty()) c.samples = {1};  // all of the training split
  detail::check_common(c);
  if (s.images.empty() != s.labels.empty())
    throw config_error(s.images.empty() ? "labels: needs images (an IDX image file)"
                                        : "images: needs labels (its IDX label file)");
  if (s.images.empty() && s.data.empty()) throw config_error("data: must name a folder, not ''");
  const auto whole = [](const char* name, std::size_t v, std::size_t lo, std::size_t hi) {
    if (v < lo || v > hi)
      throw config_error(fmt::format("{}: {} is outside [{}, {}]", name, v, lo, hi));
  };
  whole("epochs", s.epochs, 1, 100000);
  whole("latent", s.latent, 1, 4096);
  whole("hidden", s.hidden, 1, 65536);
  whole("batch", s.batch, 1, 1000000);
  whole("gen_samples", s.gen_samples, 10, 1000000);
  if (!(s.lr > 0 && s.lr <= 10)) throw config_error(fmt::format("lr: {} is outside (0, 10]", s.lr));
  if (!(s.truncate >= 0 && s.truncate <= 100))
    throw config_error(fmt::format("truncate: {} is outside [0, 100]", s.truncate));
  if (s.truncate > 0 && s.truncate < 0.1)
    throw config_error(fmt::format(
        "truncate: {} leaves almost no prior mass; use 0 (off) or at least 0.1", s.truncate));
}

/// The digits of a run of vae_collapse: all of them, and the fixed split (the last 10% of each
/// class for the test metrics).
struct vae_data {
  io::image_set all, train, test;
  std::size_t pixels = 0;
};

/// Reads the digits; a missing or malformed file throws data_error (saying how to fetch the
/// digits when they come from `data`), more samples than training digits config_error.
inline vae_data load_vae_data(const vae_settings& s) {
  vae_data d;
  try {
    if (!s.images.empty())
      d.all = io::read_mnist(s.images, s.labels);
    else
      d.all = io::read_mnist(s.data + "/mnist10k-images-idx3-ubyte",
                             s.data + "/mnist10k-labels-idx1-ubyte");
  } catch (const error& e) {
    if (!s.images.empty()) throw;
    throw data_error(
        fmt::format("{} (scripts/fetch_data.sh mnist {} fetches the data)", e.what(), s.data));
  }
  auto [train, test] = io::split_by_class(d.all);
  d.train = std::move(train);
  d.test = std::move(test);
  d.pixels = d.all.images.shape()[1];
  if (d.pixels == 0)
    throw data_error(
        fmt::format("the images are {} x {} pixels: there is nothing to learn; give "
                    "images of at least one pixel",
                    d.all.rows, d.all.cols));
  if (d.train.size() < 2 || d.test.size() == 0)
    throw data_error(fmt::format(
        "the data hold {} images: the fixed split keeps the last 10% of each class for the test "
        "metrics, which leaves {} for training and {} for testing; give at least 10 images of a "
        "class",
        d.all.size(), d.train.size(), d.test.size()));
  for (std::size_t M : s.samples)
    if (M > d.train.size())
      throw config_error(
          fmt::format("samples: {} exceeds the {} training digits", M, d.train.size()));
  return d;
}

namespace detail {
template <class Regime>
auto vae_loop(const vae_settings& s, const vae_data& d, Regime regime) {
  models::vae_fitter<float> fit;
  fit.shape = {d.pixels, s.hidden, s.latent};
  fit.epochs = s.epochs;
  fit.batch = s.batch;
  fit.lr = s.lr;
  fit.binarize_samples = s.binarize;
  fit.truncation = s.truncate;
  metrics::generated_digits<float> gen_metric{
      metrics::knn_classifier(d.train.images, d.train.labels, 5), s.gen_samples, 200};
  return collapse_loop{fit, sample::ancestral{}, regime, metrics::test_nelbo<float>{d.test.images},
                       gen_metric};
}
}  // namespace detail

/// The metrics of vae_collapse on loaded data, in order.
inline std::vector<std::string> vae_metric_names(const vae_settings& s, const vae_data& d) {
  return detail::vae_loop(s, d, regime::replace{}).metric_names();
}

/// Runs vae_collapse on loaded digits: one run per sample size. When `rows` is given, 12 digits
/// of replicate 0's model (the same prior draws in every generation) are appended to it per
/// generation, for the samples figure (vae_samples_png).
inline results vae_collapse(const vae_settings& s, const vae_data& d, const run_setup& setup = {},
                            std::vector<models::image_row>* rows = nullptr) {
  check(s);
  std::vector<std::size_t> samples = s.samples;
  if (samples.empty()) samples = {0};
  results res;
  res.experiment = "vae_collapse";
  res.config = {{"data", s.images.empty() ? s.data : s.images},
                {"train_digits", static_cast<std::int64_t>(d.train.size())},
                {"test_digits", static_cast<std::int64_t>(d.test.size())},
                {"epochs", static_cast<std::int64_t>(s.epochs)},
                {"latent", static_cast<std::int64_t>(s.latent)},
                {"hidden", static_cast<std::int64_t>(s.hidden)},
                {"batch", static_cast<std::int64_t>(s.batch)},
                {"lr", s.lr},
                {"binarize", s.binarize},
                {"truncate", s.truncate},
                {"gen_samples", static_cast<std::int64_t>(s.gen_samples)}};
  detail::add_common_config(res, s);
  const std::size_t D = d.pixels;
  const auto t0 = std::chrono::steady_clock::now();
  with_regime(s.regime_choice(), [&](auto regime) {
    const auto loop = detail::vae_loop(s, d, regime);
    for (std::size_t M : samples) {
      if (detail::interrupted(res)) break;
      xt::xtensor<float, 2> train = d.train.images;
      if (M != 0 && M < d.train.size()) {
        train = xt::xtensor<float, 2>::from_shape({M, D});
        std::copy_n(d.train.images.data(), M * D, train.data());
      }
      const run_options opt = detail::options_for(s, train.shape()[0], setup);
      res.runs.push_back(loop.run(
          from_data(train), opt, [&](std::size_t g, std::span<const models::vae<float>* const> ms) {
            if (!rows || !ms[0]) return;
            auto shown = *ms[0];
            shown.binarize_samples = false;
            default_rng sg(1234);  // the same prior draws in every generation
            rows->push_back({opt.label, g, shown.sample(12, sg)});
          }));
    }
  });
  res.seconds = detail::seconds_since(t0);
  return res;
}

/// The samples figure of vae_collapse: one row of digits per generation, `dir`/vae_samples.png.
inline void vae_samples_png(const std::vector<models::image_row>& rows, const vae_data& d,
                            const std::filesystem::path& dir) {
  models::write_image_grid_png(dir / "vae_samples.png", rows, d.all.rows, d.all.cols);
}

/// The metrics figure of vae_collapse (vae_metrics.png).
inline io::figure_options vae_figure() {
  io::figure_options f;
  f.title = "VAE model collapse on MNIST: mean over replicates with 95% band";
  f.panels = {{"test_nelbo", "negative ELBO per real test digit"},
              {"latent_mean_std", "std of latent means (generation-0 encoder)"},
              {"pixel_variance", "pixel variance of generated digits"},
              {"class_entropy", "entropy of generated classes (bits)"}};
  f.columns = 4;
  f.panel_width = 400;
  f.panel_height = 420;
  return f;
}

}  // namespace ouro::inline v0::experiments
