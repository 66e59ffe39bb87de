// The experiments on data sets, ngram_collapse (the Brown corpus) and vae_collapse (MNIST digits),
// bound to Python through ouroboros/experiments/; their extra files and figures are written by
// Results.write as the programs write them.
#include "bindings.hpp"
#include "ouroboros/experiments/ngram.hpp"
#include "ouroboros/experiments/vae.hpp"
#include "ouroboros/io/atomic_file.hpp"

namespace ouro_py {

namespace {
/// The common fields with real_fraction replaced by `fractions` (one run per value).
template <class S>
std::vector<field<S>> with_fraction_list(std::vector<double> S::*fractions) {
  std::vector<field<S>> f;
  for (auto& x : common_fields<S>())
    f.push_back(x.name == "real_fraction" ? make_field("real_fraction", fractions) : x);
  return f;
}
}  // namespace

void bind_data_experiments(py::module_& m) {
  namespace ex = ouro::experiments;
  {
    using S = ex::ngram_settings;
    auto f = with_fraction_list<S>(&S::real_fractions);
    f.push_back(make_field("data", &S::data));
    f.push_back(make_field("order", &S::order));
    f.push_back(make_field("min_count", &S::min_count));
    f.push_back(make_field("smoothing", &S::smoothing));
    f.push_back(make_field("mode", &S::mode));
    f.push_back(make_field("decoding", &S::decoding));
    f.push_back(make_field("beams", &S::beams));
    f.push_back(make_field("temperature", &S::temperature));
    f.push_back(make_field("top_k", &S::top_k));
    f.push_back(make_field("top_p", &S::top_p));
    f.push_back(make_field("repetition_penalty", &S::repetition_penalty));
    bind_experiment<S>(
        m, "ngram_collapse", f,
        [](const S& s, const ex::run_setup& setup, py_results& out) {
          const auto data = ex::load_ngram_data(s);
          auto keep = std::make_shared<ouro::metrics::generated_perplexity::collector>();
          out.res = ex::ngram_collapse(s, data, setup, keep);
          const auto hist =
              std::make_shared<std::vector<ex::ngram_histogram>>(ex::ngram_histograms(*keep));
          const auto gens = ex::ngram_histogram_generations(s.generations);
          out.theory_file = false;
          out.figure_file = "ngram_perplexity.png";
          out.more_files = [hist](const std::filesystem::path& dir) {
            ouro::io::write_file_atomic(dir / "ngram_generated_perplexity.csv",
                                        ex::ngram_histogram_csv(*hist));
          };
          out.more_figures = [hist, gens](const std::filesystem::path& dir) {
            return ex::plot_ngram_histograms(*hist, gens, dir / "ngram_generated_perplexity.png");
          };
        },
        ex::ngram_figure(), ex::ngram_rules());
  }
  {
    using S = ex::vae_settings;
    auto f = common_fields<S>();
    f.push_back(make_field("data", &S::data));
    f.push_back(make_field("images", &S::images));
    f.push_back(make_field("labels", &S::labels));
    f.push_back(make_field("epochs", &S::epochs));
    f.push_back(make_field("latent", &S::latent));
    f.push_back(make_field("hidden", &S::hidden));
    f.push_back(make_field("batch", &S::batch));
    f.push_back(make_field("lr", &S::lr));
    f.push_back(make_field("binarize", &S::binarize));
    f.push_back(make_field("truncate", &S::truncate));
    f.push_back(make_field("gen_samples", &S::gen_samples));
    bind_experiment<S>(
        m, "vae_collapse", f,
        [](const S& s, const ex::run_setup& setup, py_results& out) {
          const auto data = std::make_shared<ex::vae_data>(ex::load_vae_data(s));
          auto rows = std::make_shared<std::vector<ouro::models::image_row>>();
          out.res = ex::vae_collapse(s, *data, setup, rows.get());
          out.theory_file = false;
          out.figure_file = "vae_metrics.png";
          out.more_files = [rows, data](const std::filesystem::path& dir) {
            ex::vae_samples_png(*rows, *data, dir);
          };
        },
        ex::vae_figure());
  }
}

}  // namespace ouro_py
