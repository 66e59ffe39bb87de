// Checkpoints of the reference models and datasets: a model read back is the same bit for bit
// (its bytes, its samples and its likelihoods); every truncation and corruption of a checkpoint
// is refused with ouro::data_error, never a crash. A run interrupted and resumed from a
// checkpoint_store ends with the results of an uninterrupted run, bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/loop.hpp"
#include "ouroboros/core/regimes.hpp"
#include "ouroboros/core/samplers.hpp"
#include "ouroboros/core/sweep.hpp"
#include "ouroboros/io/checkpoint_store.hpp"
#include "ouroboros/io/item_journal.hpp"
#include "ouroboros/io/read_file.hpp"
#include "ouroboros/io/results_io.hpp"
#include "ouroboros/models/categorical.hpp"
#include "ouroboros/models/gaussian.hpp"
#include "ouroboros/models/gmm.hpp"
#include "ouroboros/models/gmm_em.hpp"
#include "ouroboros/models/metrics/gaussian.hpp"
#include "ouroboros/models/metrics/gmm.hpp"
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
  const models::gmm truth({0.3, 0.7}, {-2.0, 0.0, 2.0, 1.0},
                          {ouro::matrix::identity(2), ouro::matrix::identity(2)});
  const auto x = truth.sample(400, g);
  event_log log;
  const auto m = models::gmm_fitter<>{}.fit(x, g, log);
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
    models::ngram_fitter f;
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
                    Catch::Contains("t: holds 4-byte scalars"));
}

// ---------------------------------------------------------------------------------------------
// Resuming a run of collapse_loop from a checkpoint_store.

namespace {

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

/// The results that a resumed run must reproduce exactly (its timing aside).
void same_results(const run_result& a, const run_result& b) {
  CHECK(a.generations == b.generations);
  CHECK(a.replicates == b.replicates);
  CHECK(a.metric_names == b.metric_names);
  CHECK(same_bits(a.values, b.values));
  CHECK(a.events == b.events);
  CHECK(a.events_dropped == b.events_dropped);
  REQUIRE(a.summary.size() == b.summary.size());
  for (std::size_t k = 0; k < a.summary.size(); ++k) {
    CHECK(a.summary[k].generation == b.summary[k].generation);
    CHECK(same_bits(a.summary[k].mean, b.summary[k].mean));
    CHECK(same_bits(a.summary[k].sd, b.summary[k].sd));
    CHECK(same_bits(a.summary[k].median, b.summary[k].median));
  }
}

struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& name)
      : path(std::filesystem::temp_directory_path() / name) {
    std::filesystem::remove(path);
  }
  ~temp_file() {
    std::filesystem::remove(path);
    std::filesystem::remove(path.string() + ".lock");  // a checkpoint store's lock file
  }
};

/// Runs `opt` to the end, interrupted after each of the generations in `stops` and resumed from
/// the checkpoint each time; returns the final result and checks the interrupted ones.
template <class Loop, class Source>
run_result run_interrupted(const Loop& loop, const Source& src, run_options opt,
                           const std::filesystem::path& file, std::vector<std::size_t> stops,
                           checkpoint_schedule schedule = {}) {
  bool fresh = true;  // the first run starts afresh, the others resume
  for (std::size_t s : stops) {
    checkpoint_store store(file, "fingerprint", !fresh, schedule);
    fresh = false;
    std::atomic<bool> flag{false};
    run_options o = opt;
    o.checkpoint = &store;
    o.interrupt = &flag;
    std::size_t first_seen = opt.generations;
    o.observers.push_back([&flag, &first_seen, s](const generation_report& r) {
      first_seen = std::min(first_seen, r.generation);
      if (r.generation + 1 >= s) flag = true;
      return observer_action::proceed;
    });
    const std::size_t resumed_at = store.in_progress() ? store.in_progress()->second : 0;
    const run_result part = loop.run(src, o);
    CHECK(part.interrupted);
    CHECK(part.generations < opt.generations);
    CHECK(first_seen + 1 == std::max<std::size_t>(resumed_at, 1));  // it did not start again
  }
  checkpoint_store store(file, "fingerprint", true, schedule);
  REQUIRE(store.in_progress());
  const std::size_t resumed_at = store.in_progress()->second;
  CHECK(resumed_at > 0);
  run_options o = opt;
  o.checkpoint = &store;
  std::size_t first_seen = opt.generations;
  o.observers.push_back([&first_seen](const generation_report& r) {
    first_seen = std::min(first_seen, r.generation);
    return observer_action::proceed;
  });
  run_result r = loop.run(src, o);
  CHECK_FALSE(r.interrupted);
  CHECK(first_seen + 1 == resumed_at);
  return r;
}

}  // namespace

TEST_CASE("resume: a Gaussian run interrupted three times ends as an uninterrupted one",
          "[checkpoint][resume]") {
  temp_file file("ouroboros_test_resume_gaussian.ckpt");
  run_options opt;
  opt.generations = 30;
  opt.replicates = 16;
  opt.samples = schedule::constant{10};
  opt.seed = 7;
  opt.threads = 2;
  opt.keep = keep_values::all;
  auto check_regime = [&](auto regime) {
    auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                              regime, metrics::variance{}, metrics::w2_sq{}};
    const auto src = from_truth(models::gaussian{0, 1});
    const run_result whole = loop.run(src, opt);
    const run_result resumed = run_interrupted(loop, src, opt, file.path, {3, 11, 20});
    same_results(whole, resumed);
    // resumed with another thread count, checkpoints every 4 generations only
    run_options one = opt;
    one.threads = 1;
    same_results(whole, run_interrupted(loop, src, one, file.path, {5, 9}, {4, 0}));
  };
  SECTION("replace") {
    check_regime(regime::replace{});
  }
  SECTION("accumulate") {
    check_regime(regime::accumulate{});
  }
  SECTION("accumulate_subsample") {
    check_regime(regime::accumulate_subsample{15});
  }
  SECTION("mix") {
    check_regime(regime::mix{0.3});
  }
}

TEST_CASE("resume: a Gaussian mixture run with warm starts", "[checkpoint][resume]") {
  temp_file file("ouroboros_test_resume_gmm.ckpt");
  run_options opt;
  opt.generations = 12;
  opt.replicates = 4;
  opt.samples = schedule::constant{40};
  opt.seed = 3;
  opt.keep = keep_values::all;
  models::gmm_fitter<models::init::kmeans> fit;
  fit.components = 2;
  auto loop = collapse_loop{fit, sample::ancestral{}, regime::replace{}, metrics::total_variance{},
                            metrics::l2_distance_to_first{}};
  const models::gmm truth({1.0}, {0.0, 0.0}, {ouro::matrix::identity(2)});
  const auto src = from_truth(truth);
  same_results(loop.run(src, opt), run_interrupted(loop, src, opt, file.path, {1, 6}));
}

TEST_CASE("resume: completed runs come back from the file, refusals", "[checkpoint][resume]") {
  temp_file file("ouroboros_test_resume_store.ckpt");
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::replace{}, metrics::variance{}};
  const auto src = from_truth(models::gaussian{0, 1});
  run_options opt;
  opt.generations = 5;
  opt.replicates = 3;
  opt.keep = keep_values::all;
  run_result first;
  {
    checkpoint_store store(file.path, "fp", false);
    opt.checkpoint = &store;
    first = loop.run(src, opt);
    same_results(first, loop.run(src, opt));  // the same label again: the completed run
    CHECK_THROWS_AS(store.complete(first), config_error);
  }
  {
    checkpoint_store store(file.path, "fp", true);
    CHECK(store.resumed());
    CHECK(store.completed_runs() == 1);
    opt.checkpoint = &store;
    int hooked = 0;
    const run_result again = loop.run(
        src, opt, [&](std::size_t, std::span<const models::gaussian* const>) { ++hooked; });
    same_results(first, again);
    CHECK(hooked == 0);
  }
  CHECK_THROWS_AS(checkpoint_store(file.path, "other options", true), config_error);
  std::string bytes;
  {
    std::ifstream in(file.path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  for (std::size_t at : {std::size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    io::write_file_atomic(file.path, damaged);
    CHECK_THROWS_AS(checkpoint_store(file.path, "fp", true), data_error);
  }
  io::write_file_atomic(file.path, bytes.substr(0, bytes.size() / 3));
  CHECK_THROWS_AS(checkpoint_store(file.path, "fp", true), data_error);
  // without resume, an old checkpoint is removed
  { checkpoint_store store(file.path, "fp", false); }
  CHECK_FALSE(std::filesystem::exists(file.path));
  // a part the checkpoint lacks
  {
    checkpoint_store store(file.path, "fp", false);
    opt.checkpoint = &store;
    (void)loop.run(src, opt);
  }
  checkpoint_store store(file.path, "fp", true);
  CHECK_THROWS_AS(store.add_part({"missing", [](io::binary_writer&) {}, [](io::binary_reader&) {}}),
                  data_error);
}

TEST_CASE("resume: one checkpoint store at a time per file", "[checkpoint][resume]") {
  temp_file file("ouroboros_test_locked_store.ckpt");
  {
    checkpoint_store first(file.path, "fp", false);
    try {
      checkpoint_store second(file.path, "fp", true);
      FAIL("a second store on the same file was allowed");
    } catch (const io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("in use by another run"));
    }
    CHECK_THROWS_AS(checkpoint_store(file.path, "fp", false), io_error);
  }
  // released with the first store (and with its process: the lock is the kernel's)
  CHECK_NOTHROW(checkpoint_store(file.path, "fp", false));
  CHECK(std::filesystem::exists(file.path.string() + ".lock"));
}

TEST_CASE("sweeps: blocks of replicates merge into the run of all replicates, bit for bit",
          "[sweep]") {
  auto loop = collapse_loop{models::gaussian_fitter<models::unbiased>{}, sample::ancestral{},
                            regime::mix{0.5}, metrics::variance{}, metrics::w2_sq{}};
  const auto src = from_truth(models::gaussian{0, 1});
  run_options opt;
  opt.label = "whole";
  opt.generations = 25;
  opt.replicates = 13;
  // 5 real samples asked of the 3 of generation 0: an event in every generation
  opt.samples = [](std::size_t g) -> std::size_t { return g == 0 ? 3 : 10; };
  opt.seed = 99;
  opt.keep = keep_values::all;
  const run_result whole = loop.run(src, opt);
  REQUIRE_FALSE(whole.events.empty());
  for (std::size_t per : {std::size_t{1}, std::size_t{4}, std::size_t{13}}) {
    const auto items = plan_items(1, opt.replicates, per);
    std::vector<run_result> blocks;
    std::vector<std::size_t> firsts;
    for (const auto& it : items) {
      run_options o = opt;
      o.first_replicate = it.first_replicate;
      o.replicates = it.replicates;
      o.threads = 1;
      blocks.push_back(loop.run(src, o));
      firsts.push_back(it.first_replicate);
    }
    const run_result merged = merge_replicate_blocks(blocks, firsts);
    same_results(whole, merged);
  }
  // blocks out of order or with a gap are refused
  const auto items = plan_items(1, opt.replicates, 5);
  CHECK(items.size() == 3);
  std::vector<run_result> blocks;
  for (const auto& it : items) {
    run_options o = opt;
    o.first_replicate = it.first_replicate;
    o.replicates = it.replicates;
    blocks.push_back(loop.run(src, o));
  }
  CHECK_THROWS_AS(merge_replicate_blocks(blocks, {0, 10, 5}), config_error);
  CHECK_THROWS_AS(merge_replicate_blocks(std::span(blocks).first(2), {0, 6}), config_error);
}

// ---- Safe writes: never through a link, never half a file, no temporary file left ----

namespace {
/// A fresh folder under the temporary directory, removed with the object.
struct temp_folder {
  std::filesystem::path path;
  explicit temp_folder(const std::string& name)
      : path(std::filesystem::temp_directory_path() / name) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_folder() { std::filesystem::remove_all(path); }
  std::size_t temporaries() const {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(path))
      n += io::is_temp_name(e.path().filename().string());
    return n;
  }
};
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("safe writes: a link at the destination is replaced, never written through",
          "[io][links]") {
  temp_folder dir("ouroboros_test_links");
  const auto victim = dir.path / "victim";
  std::ofstream(victim) << "precious";
  for (const char* name : {"results.json", "results.json.tmp"})
    std::filesystem::create_symlink(victim, dir.path / name);
  io::write_file_atomic(dir.path / "results.json", "new content");
  CHECK(slurp(victim) == "precious");
  CHECK_FALSE(std::filesystem::is_symlink(dir.path / "results.json"));
  CHECK(slurp(dir.path / "results.json") == "new content");
  CHECK(dir.temporaries() == 0);

  // the per-replicate stream: a link at its partial name is removed, not followed
  std::filesystem::create_symlink(victim, dir.path / "rows.csv.tmp");
  std::filesystem::create_symlink(victim, dir.path / "rows.csv");
  {
    io::tidy_csv_stream s(dir.path / "rows.csv");
    s.commit();
  }
  CHECK(slurp(victim) == "precious");
  CHECK(slurp(dir.path / "rows.csv") == std::string(io::tidy_header));

  // a lock file that is a link is refused
  std::filesystem::create_symlink(victim, dir.path / ".ouroboros.lock");
  CHECK_THROWS_WITH(io::lock_folder(dir.path), Catch::Contains("symbolic link"));
  CHECK(slurp(victim) == "precious");
}

TEST_CASE("safe writes: failures leave the previous file and no temporary file", "[io]") {
  temp_folder dir("ouroboros_test_failures");
  // a folder where the file belongs
  std::filesystem::create_directories(dir.path / "out.json" / "inside");
  CHECK_THROWS_WITH(io::write_file_atomic(dir.path / "out.json", "x"),
                    Catch::Contains("out.json") && Catch::Contains("a folder stands"));
  CHECK(dir.temporaries() == 0);
  // a destination folder that does not exist
  CHECK_THROWS_AS(io::write_file_atomic(dir.path / "missing" / "out.json", "x"), io_error);
  // the previous complete file stays when a write fails (the disk is full: /dev/full)
  io::write_file_atomic(dir.path / "kept.json", "complete");
  {
    io::temp_file t(dir.path / "kept.json");
    const std::string name = t.name();
    CHECK(std::filesystem::exists(name));
    t.discard();
    CHECK_FALSE(std::filesystem::exists(name));
  }
  CHECK(slurp(dir.path / "kept.json") == "complete");
  CHECK(dir.temporaries() == 0);
  // a write that fails part-way (no space left) removes its temporary file
  if (std::filesystem::exists("/dev/full")) {
    try {
      io::temp_file t(dir.path / "kept.json");
      const int full = ::open("/dev/full", O_WRONLY);
      REQUIRE(full >= 0);
      ::dup2(full, t.fd());  // the temporary file's descriptor now writes to a full device
      ::close(full);
      t.write(std::string(1 << 16, 'x'));
      FAIL("a write to a full device succeeded");
    } catch (const io_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("no space left"));
    }
    CHECK(dir.temporaries() == 0);
    CHECK(slurp(dir.path / "kept.json") == "complete");
  }
  // stray temporaries of a killed run are cleaned up under the folder's lock
  std::ofstream(dir.path / "a.json.tmp.Xy12Zq") << "half";
  std::filesystem::create_symlink(dir.path / "kept.json", dir.path / "b.csv.tmp.ABCDEF");
  {
    const auto lock = io::lock_folder(dir.path);
    io::remove_stray_temporaries(dir.path);
  }
  CHECK(dir.temporaries() == 0);
  CHECK(slurp(dir.path / "kept.json") == "complete");
  // a second lock on the folder is refused with a sentence naming it
  const auto lock = io::lock_folder(dir.path);
  CHECK_THROWS_WITH(io::lock_folder(dir.path),
                    Catch::Contains("output folder '" + dir.path.string() + "' is in use"));
}

TEST_CASE("safe writes: resuming a finished per-replicate stream keeps the committed file",
          "[io][resume]") {
  temp_folder dir("ouroboros_test_stream_resume");
  const auto file = dir.path / "rows.csv";
  std::string state;
  {
    io::tidy_csv_stream s(file);
    io::binary_writer w;
    s.part().save(w);
    state = w.bytes();
    s.commit();
  }
  const std::string committed = slurp(file);
  {
    io::tidy_csv_stream s(file, /*resuming=*/true);
    s.keep_partial();
    io::binary_reader r(state, "state");
    s.part().load(r);
    // killed here: the committed file must still be in place
    CHECK(slurp(file) == committed);
    CHECK(std::filesystem::exists(file.string() + ".tmp"));
  }
}

TEST_CASE("input files: folders, sizes, gzip bombs", "[io][input]") {
  temp_folder dir("ouroboros_test_inputs");
  CHECK_THROWS_WITH(io::read_file(dir.path.string()), Catch::Contains("it is a folder"));
  std::filesystem::create_directories(dir.path / "c2.ckpt");
  CHECK_THROWS_AS(checkpoint_store(dir.path / "c2.ckpt", "fp", true), data_error);
  std::ofstream(dir.path / "big") << std::string(100, 'x');
  CHECK_THROWS_WITH(io::read_file((dir.path / "big").string(), 10),
                    Catch::Contains("100 bytes, more than the 10 allowed"));
  CHECK_THROWS_WITH(models::vae<float>::load(dir.path.string()), Catch::Contains("folder"));
}

TEST_CASE("item journal: appends, resumes, cuts a torn record, refuses another fingerprint",
          "[io][resume][journal]") {
  temp_folder dir("ouroboros_test_journal");
  const auto file = dir.path / "sweep.ckpt";
  {
    io::item_journal j(file, "config A", false);
    CHECK(j.loaded().empty());
    j.save();  // nothing to save: no file yet
    CHECK_FALSE(std::filesystem::exists(file));
    j.add(3, "three");
    j.add(0, std::string("zero\0bytes", 10));
    j.save();
    j.add(7, "");
    j.save();
  }
  const auto size = std::filesystem::file_size(file);
  {
    // a save cut short by a crash: half a record at the end
    std::ofstream(file, std::ios::app | std::ios::binary) << std::string(13, '\x01');
    io::item_journal j(file, "config A", true);
    REQUIRE(j.loaded().size() == 3);
    CHECK(j.loaded().at(3) == "three");
    CHECK(j.loaded().at(0) == std::string("zero\0bytes", 10));
    CHECK(j.loaded().at(7).empty());
    CHECK(std::filesystem::file_size(file) == size);  // the torn record was cut off
    j.add(9, "nine");
    j.save();
  }
  {
    io::item_journal j(file, "config A", true);
    CHECK(j.loaded().size() == 4);
    CHECK(j.loaded().at(9) == "nine");
    // a second journal on the same file is refused while this one lives
    CHECK_THROWS_WITH(io::item_journal(file, "config A", true), Catch::Contains("in use"));
  }
  // a damaged record ends what is read: the records before it stay
  {
    std::string bytes = slurp(file);
    bytes[bytes.size() - 12] ^= 0x40;  // inside the last record
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    io::item_journal j(file, "config A", true);
    CHECK(j.loaded().size() == 3);
    CHECK_FALSE(j.loaded().count(9));
  }
  CHECK_THROWS_AS(io::item_journal(file, "config B", true), config_error);
  {
    std::string bytes = slurp(file);
    bytes[3] = 'X';  // the header
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    CHECK_THROWS_WITH(io::item_journal(file, "config A", true), Catch::Contains("damaged"));
  }
  {
    io::item_journal j(file, "config A", false);  // without resume: the old file goes
    CHECK(j.loaded().empty());
    CHECK_FALSE(std::filesystem::exists(file));
  }
}
