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
#include "ouroboros/experiments/vae.hpp"

namespace {
constexpr const char* kName = "vae_collapse";
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
  ouro::experiments::vae_settings s;  // the defaults
  auto o = examples::common_options::defaults_of(s);
  examples::add_common_options(app, o, "--generations 3 --epochs 2 --samples 3000");
  app.get_option("--samples")
      ->description(
          "Real training digits, from the start of the training split (default: all of it); "
          "each generation trains on as many digits; one run per value")
      ->default_str("all");
  app.add_option("--data", s.data,
                 "Folder with mnist10k-images-idx3-ubyte and mnist10k-labels-idx1-ubyte")
      ->check(examples::non_empty("FOLDER"))
      ->capture_default_str();
  auto* im_opt = app.add_option("--images", s.images, "An IDX image file (instead of --data)")
                     ->check(examples::non_empty("FILE"));
  auto* lb_opt = app.add_option("--labels", s.labels, "Its IDX label file")
                     ->check(examples::non_empty("FILE"));
  im_opt->needs(lb_opt);
  lb_opt->needs(im_opt);
  app.add_option("--epochs", s.epochs, "Training epochs of every generation")
      ->check(examples::whole({1, 100000}))
      ->capture_default_str();
  app.add_option("--latent", s.latent, "Latent dimensions")
      ->check(examples::whole({1, 4096}))
      ->capture_default_str();
  app.add_option("--hidden", s.hidden, "Hidden units of the encoder and the decoder")
      ->check(examples::whole({1, 65536}))
      ->capture_default_str();
  app.add_option("--batch", s.batch, "Minibatch size")
      ->check(examples::whole({1, 1000000}))
      ->capture_default_str();
  app.add_option("--lr", s.lr, "Adam learning rate")
      ->check(examples::real(ouro::real_range::above_to(0, 10)))
      ->capture_default_str();
  app.add_flag("--binarize", s.binarize,
               "Train the next generation on binarised draws instead of Bernoulli means");
  app.add_option("--truncate", s.truncate,
                 "Draw z from a normal truncated to |z_i| < S (the truncation trick; 0: off)")
      ->check(examples::real(ouro::real_range::closed(0, 100)))
      ->capture_default_str();
  app.add_option("--gen-samples", s.gen_samples,
                 "Digits generated per generation for the metrics on generated digits")
      ->check(examples::whole({10, 1000000}))
      ->capture_default_str();
  examples::parse_or_exit(app, argc, argv);
  if (o.quick) {
    if (!app.count("--generations")) o.generations = 3;
    if (!app.count("--epochs")) s.epochs = 2;
    if (!app.count("--samples")) o.samples = {3000};
  }
  o.to_settings(s);
  examples::check_settings(app, [&] { ouro::experiments::check(s); });
  ouro::experiments::vae_data data;
  try {
    data = ouro::experiments::load_vae_data(s);
  } catch (const ouro::config_error& e) {
    examples::usage_error(app, std::string("--") + e.what());
  } catch (const ouro::error& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  const std::size_t D = data.pixels;
  const std::size_t metric_count = ouro::experiments::vae_metric_names(s, data).size();
  {
    const double Dd = static_cast<double>(D), Hd = static_cast<double>(s.hidden),
                 Ld = static_cast<double>(s.latent);
    const double params = Dd * Hd * 2 + Hd * Ld * 3 + Dd + Hd * 2 + Ld * 2;
    auto mem = o;
    if (mem.samples.empty()) mem.samples = {data.train.size()};
    // a model and its Adam moments, activations of a minibatch; the data and the classifier
    examples::check_memory(
        app, mem,
        {.model_bytes = params * 4 * 4 + static_cast<double>(s.batch) * (Dd + Hd) * 8,
         .sample_bytes = Dd * 4,
         .fixed_bytes = static_cast<double>(data.all.size()) * Dd * 4 * 3,
         .metrics = metric_count});
  }

  const std::filesystem::path out = o.out;
  const std::size_t rows =
      std::max<std::size_t>(o.samples.size(), 1) * o.generations * o.replicates * metric_count;
  examples::session session(app, o, kName, examples::write_tidy(o, rows));

  std::vector<ouro::models::image_row> sample_rows;
  session.add_part(
      examples::collector_part("sample_rows", sample_rows, &ouro::models::image_row::images));
  ouro::results res;
  try {
    res = ouro::experiments::vae_collapse(s, data, session.setup(), &sample_rows);
    ouro::io::write_results(res, out, kName, nullptr, /*tidy=*/false);
    session.finish_tidy(res);
    ouro::experiments::vae_samples_png(sample_rows, data, out);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: error: {}\n", kName, e.what());
    return 1;
  }
  if (examples::session::interrupted(res)) return session.interrupted_exit();

  fmt::print(
      "vae_collapse: {} epochs per generation, {}-{}-{}, regime {}, {} replicates, {:.1f}s\n",
      s.epochs, D, s.hidden, s.latent, o.regime, o.replicates, res.seconds);
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
    return ouro::io::plot_results(res, out / "vae_metrics.png", ouro::experiments::vae_figure());
  });
  fmt::print("results in {}/ (vae_samples.png: one row of digits per generation)\n", out.string());
  return 0;
}

int main(int argc, char** argv) {
  return examples::guarded_main(kName, [&] { return run_program(argc, argv); });
}
