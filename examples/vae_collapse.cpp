// vae_collapse: the VAE experiment of Shumailov et al. Generation 0 is a VAE trained on real
// MNIST digits; each next generation is a fresh VAE trained on as many digits decoded from the
// previous generation's prior samples. The digits lose their variety and drift towards a few
// blurry shapes. See docs/vae.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/example_support.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/real_source.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/models/figures.hpp"
#include "ouroboros/models/idx.hpp"
#include "ouroboros/models/metrics/vae.hpp"
#include "ouroboros/models/vae.hpp"

namespace {

constexpr const char* kName = "vae_collapse";
using model = ouro::models::vae<float>;

/// Digits of one generation for the samples figure (a row of ouro::models::write_image_grid_png).
using sample_row = ouro::models::image_row;

}  // namespace

int run_program(int argc, char** argv) {
  CLI::App app{
      "The VAE experiment of Shumailov et al.: generation 0 is a VAE trained on real MNIST "
      "digits (the training part of the fixed split), each next generation a fresh VAE trained "
      "on as many digits decoded from the previous generation's prior samples. Needs the data "
      "of 'scripts/fetch_data.sh mnist DIR' (--data DIR) or the official MNIST files (--images "
      "FILE --labels FILE, gzip or not). Writes vae_collapse_results.json, "
      "vae_collapse_summary.csv, vae_collapse.csv, vae_samples.png and vae_metrics.png into "
      "--out.",
      kName};
  examples::common_options o;
  o.samples = {0};
  o.generations = 10;
  o.replicates = 1;
  std::string data = "data/mnist", images, labels;
  std::size_t epochs = 10, latent = 20, hidden = 400, batch = 128, gen_samples = 1000;
  double lr = 1e-3, truncate = 0;
  bool binarize = false;
  examples::add_common_options(app, o, "--generations 3 --epochs 2 --samples 3000");
  app.get_option("--samples")
      ->description(
          "Real training digits, from the start of the training split (default: all of it); "
          "each generation trains on as many digits; one run per value")
      ->default_str("all");
  app.add_option("--data", data,
                 "Folder with mnist10k-images-idx3-ubyte and mnist10k-labels-idx1-ubyte")
      ->check(examples::non_empty("FOLDER"))
      ->capture_default_str();
  auto* im_opt = app.add_option("--images", images, "An IDX image file (instead of --data)")
                     ->check(examples::non_empty("FILE"));
  auto* lb_opt =
      app.add_option("--labels", labels, "Its IDX label file")->check(examples::non_empty("FILE"));
  im_opt->needs(lb_opt);
  lb_opt->needs(im_opt);
  app.add_option("--epochs", epochs, "Training epochs of every generation")
      ->check(examples::whole({1, 100000}))
      ->capture_default_str();
  app.add_option("--latent", latent, "Latent dimensions")
      ->check(examples::whole({1, 4096}))
      ->capture_default_str();
  app.add_option("--hidden", hidden, "Hidden units of the encoder and the decoder")
      ->check(examples::whole({1, 65536}))
      ->capture_default_str();
  app.add_option("--batch", batch, "Minibatch size")
      ->check(examples::whole({1, 1000000}))
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")
      ->check(examples::real(ouro::real_range::above_to(0, 10)))
      ->capture_default_str();
  app.add_flag("--binarize", binarize,
               "Train the next generation on binarised draws instead of Bernoulli means");
  app.add_option("--truncate", truncate,
                 "Draw z from a normal truncated to |z_i| < S (the truncation trick; 0: off)")
      ->check(examples::real(ouro::real_range::closed(0, 100)))
      ->capture_default_str();
  app.add_option("--gen-samples", gen_samples,
                 "Digits generated per generation for the metrics on generated digits")
      ->check(examples::whole({10, 1000000}))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--generations")) o.generations = 3;
    if (!app.count("--epochs")) epochs = 2;
    if (!app.count("--samples")) o.samples = {3000};
  }
  if (truncate > 0 && truncate < 0.1)
    examples::usage_error(app, fmt::format("--truncate {} leaves almost no prior mass; use 0 (off) "
                                           "or at least 0.1",
                                           truncate));

  ouro::io::image_set all;
  try {
    if (!images.empty())
      all = ouro::io::read_mnist(images, labels);
    else
      all = ouro::io::read_mnist(data + "/mnist10k-images-idx3-ubyte",
                                 data + "/mnist10k-labels-idx1-ubyte");
  } catch (const ouro::error& e) {
    if (images.empty())
      fmt::print(stderr, "{}: error: {} (scripts/fetch_data.sh mnist {} fetches the data)\n", kName,
                 e.what(), data);
    else
      fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  const auto [train_set, test_set] = ouro::io::split_by_class(all);
  const std::size_t D = all.images.shape()[1];
  if (D == 0)
    throw ouro::data_error(
        fmt::format("the images are {} x {} pixels: there is nothing to "
                    "learn; give images of at least one pixel",
                    all.rows, all.cols));
  if (train_set.size() < 2 || test_set.size() == 0)
    throw ouro::data_error(
        fmt::format("the data hold {} images: the fixed split keeps the last 10% of each "
                    "class for the test metrics, which leaves {} for training and {} for "
                    "testing; give at least 10 images of a class",
                    all.size(), train_set.size(), test_set.size()));
  for (std::size_t M : o.samples)
    if (M > train_set.size())
      examples::usage_error(
          app, fmt::format("--samples {} exceeds the {} training digits", M, train_set.size()));
  ouro::models::vae_fitter<float> fit;
  fit.shape = {D, hidden, latent};
  fit.epochs = epochs;
  fit.batch = batch;
  fit.lr = lr;
  fit.binarize_samples = binarize;
  fit.truncation = truncate;
  ouro::metrics::generated_digits<float> gen_metric{
      ouro::metrics::knn_classifier(train_set.images, train_set.labels, 5), gen_samples, 200};
  auto make_loop = [&](auto regime) {
    using namespace ouro;
    return collapse_loop{fit, sample::ancestral{}, regime,
                         metrics::test_nelbo<float>{test_set.images}, gen_metric};
  };
  const std::size_t metric_count = make_loop(ouro::regime::replace{}).metric_names().size();
  {
    const double Dd = static_cast<double>(D), Hd = static_cast<double>(hidden),
                 Ld = static_cast<double>(latent);
    const double params = Dd * Hd * 2 + Hd * Ld * 3 + Dd + Hd * 2 + Ld * 2;
    auto mem = o;
    if (mem.samples == std::vector<std::size_t>{0}) mem.samples = {train_set.size()};
    // a model and its Adam moments, activations of a minibatch; the data and the classifier
    examples::check_memory(
        app, mem,
        {.model_bytes = params * 4 * 4 + static_cast<double>(batch) * (Dd + Hd) * 8,
         .sample_bytes = Dd * 4,
         .fixed_bytes = static_cast<double>(all.size()) * Dd * 4 * 3,
         .metrics = metric_count});
  }

  ouro::results res;  // the provenance (seed, threads, start, build) fills itself
  res.experiment = kName;
  res.config = {{"data", images.empty() ? data : images},
                {"train_digits", static_cast<std::int64_t>(train_set.size())},
                {"test_digits", static_cast<std::int64_t>(test_set.size())},
                {"epochs", static_cast<std::int64_t>(epochs)},
                {"latent", static_cast<std::int64_t>(latent)},
                {"hidden", static_cast<std::int64_t>(hidden)},
                {"batch", static_cast<std::int64_t>(batch)},
                {"lr", lr},
                {"binarize", binarize},
                {"truncate", truncate},
                {"gen_samples", static_cast<std::int64_t>(gen_samples)},
                {"generations", static_cast<std::int64_t>(o.generations)},
                {"replicates", static_cast<std::int64_t>(o.replicates)}};
  for (auto& p : o.regime_choice().to_params()) res.config.push_back(p);

  const std::filesystem::path out = o.out;
  const std::size_t rows = o.samples.size() * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));

  std::vector<sample_row> sample_rows;
  session.add_part(examples::collector_part("sample_rows", sample_rows, &sample_row::images));

  const auto t0 = std::chrono::steady_clock::now();
  try {
    ouro::with_regime(o.regime_choice(), [&](auto regime) {
      using namespace ouro;
      const auto loop = make_loop(regime);
      for (std::size_t M : o.samples) {
        if (examples::session::interrupted(res)) break;
        xt::xtensor<float, 2> train = train_set.images;
        if (M != 0 && M < train_set.size()) {
          train = xt::xtensor<float, 2>::from_shape({M, D});
          std::copy_n(train_set.images.data(), M * D, train.data());
        }
        const std::size_t m = train.shape()[0];
        run_options opt = session.run_options_for(m);
        res.runs.push_back(
            loop.run(from_data(train), opt, [&](std::size_t g, std::span<const model* const> ms) {
              if (!ms[0]) return;
              auto shown = *ms[0];
              shown.binarize_samples = false;
              default_rng sg(1234);  // the same prior draws in every generation
              sample_rows.push_back({opt.label, g, shown.sample(12, sg)});
            }));
      }
    });
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ouro::io::write_results(res, out, kName, nullptr, /*tidy=*/false);
    session.finish_tidy(res);
    ouro::models::write_image_grid_png(out / "vae_samples.png", sample_rows, all.rows, all.cols);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print(
      "vae_collapse: {} epochs per generation, {}-{}-{}, regime {}, {} replicates, {:.1f}s\n",
      epochs, D, hidden, latent, o.regime, o.replicates, res.seconds);
  fmt::print("{:>8} {:>10}  {:>12} {:>15} {:>14} {:>13}\n", "run", "generation", "test_nelbo",
             "latent_mean_std", "pixel_variance", "class_entropy");
  for (const auto& run : res.runs) {
    const auto& te = run.summary[*run.metric_index("test_nelbo")];
    const auto& ls = run.summary[*run.metric_index("latent_mean_std")];
    const auto& pv = run.summary[*run.metric_index("pixel_variance")];
    const auto& ce = run.summary[*run.metric_index("class_entropy")];
    for (std::size_t g = 0; g < run.generations; ++g)
      fmt::print("{:>8} {:>10}  {:>12.2f} {:>15.4f} {:>14.5f} {:>13.3f}\n", run.label, g,
                 te.mean[g], ls.mean[g], pv.mean[g], ce.mean[g]);
  }
  std::size_t events = 0;
  for (const auto& run : res.runs) events += run.events.size() + run.events_dropped;
  if (events) fmt::print("{} events recorded (see \"events\" in the JSON)\n", events);

  examples::figure(o, kName, [&] {
    ouro::io::figure_options f;
    f.title = "VAE model collapse on MNIST: mean over replicates with 95% band";
    f.panels = {{"test_nelbo", "negative ELBO per real test digit"},
                {"latent_mean_std", "std of latent means (generation-0 encoder)"},
                {"pixel_variance", "pixel variance of generated digits"},
                {"class_entropy", "entropy of generated classes (bits)"}};
    f.columns = 4;
    f.panel_width = 400;
    f.panel_height = 420;
    return ouro::io::plot_results(res, out / "vae_metrics.png", f);
  });
  fmt::print("results in {}/ (vae_samples.png: one row of digits per generation)\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
