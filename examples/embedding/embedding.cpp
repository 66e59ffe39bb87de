// embedding: a host framework that owns the clock and the threads drives a collapse run
// generation by generation (docs/architecture.md, docs/concepts.md#the-run-object). It links the
// core layer only (ouroboros::core: the standard library, fmt and threads).
//
// The host here is a toy simulation framework: it has its own worker threads (offered to the
// run as an ouro::executor), its own tick loop, and its own work between generations (it watches
// the fitted models and keeps a log). Half-way it saves the run's whole state into its own
// storage, drops the run and restores it into a new one, as a framework that migrates or
// restarts a job would. At the end it checks that the results are those of loop.run() bit for
// bit.
//
//   embedding [--generations G] [--replicates R]
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include <ouroboros/core.hpp>

// The model: a 1-D normal fitted by maximum likelihood, written against the core.
struct normal {
  using dataset_type = std::vector<double>;
  double mean = 0, var = 1;
  dataset_type sample(std::size_t n, ouro::Rng auto& g) const {
    dataset_type x(n);
    ouro::fill_normal(g, std::span<double>(x), mean, std::sqrt(var));
    return x;
  }
  double log_likelihood(const dataset_type& x) const {
    double s = 0;
    for (double v : x)
      s += -0.5 * ((v - mean) * (v - mean) / var + std::log(2 * std::numbers::pi * var));
    return s;
  }
};
struct normal_fitter {
  using model_type = normal;
  normal fit(const std::vector<double>& x, ouro::Rng auto&) const {
    double m = 0, ss = 0;
    for (double v : x) m += v;
    m /= static_cast<double>(x.size());
    for (double v : x) ss += (v - m) * (v - m);
    return {m, ss / static_cast<double>(x.size())};
  }
};
template <>
struct ouro::checkpoint_traits<normal> {  // so that the host can save and restore the run
  static void save(const normal& n, io::binary_writer& w) {
    w.put_f64(n.mean);
    w.put_f64(n.var);
  }
  static normal load(io::binary_reader& r) {
    const double m = r.get_f64("mean");
    return {m, r.get_f64("variance")};
  }
};
struct variance {
  std::string name() const { return "variance"; }
  double operator()(const ouro::generation_context<normal>& c) const { return c.model.var; }
};

// The host's own threads, lent to the run through the executor interface.
class host_workers final : public ouro::executor {
 public:
  explicit host_workers(unsigned n) {
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { serve(); });
  }
  ~host_workers() override {
    {
      std::lock_guard lk(m_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  unsigned concurrency() const noexcept override {
    return static_cast<unsigned>(threads_.size()) + 1;
  }
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) override {
    {
      std::lock_guard lk(m_);
      fn_ = &fn;
      n_ = n;
      next_ = 0;
      busy_ = 0;
      ++round_;
    }
    cv_.notify_all();
    work();  // the calling thread helps
    std::unique_lock lk(m_);
    done_cv_.wait(lk, [&] { return next_ >= n_ && busy_ == 0; });
    fn_ = nullptr;
  }

 private:
  void work() {
    for (;;) {
      std::size_t i;
      const std::function<void(std::size_t)>* f;
      {
        std::lock_guard lk(m_);
        if (!fn_ || next_ >= n_) return;
        i = next_++;
        f = fn_;
        ++busy_;
      }
      (*f)(i);
      {
        std::lock_guard lk(m_);
        --busy_;
      }
      done_cv_.notify_all();
    }
  }
  void serve() {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock lk(m_);
        cv_.wait(lk, [&] { return quit_ || round_ != seen; });
        if (quit_) return;
        seen = round_;
      }
      work();
    }
  }
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::size_t n_ = 0, next_ = 0, busy_ = 0, round_ = 0;
  bool quit_ = false;
};

int main(int argc, char** argv) {
  std::uint64_t generations = 200, replicates = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const auto v = ouro::parse_whole(argv[i + 1], {1, 1'000'000});
    if (!v.ok() || (a != "--generations" && a != "--replicates")) {
      std::fprintf(stderr, "embedding: error: %s: %s\n", a.c_str(),
                   v.ok() ? "unknown option" : v.why().c_str());
      return 2;
    }
    (a == "--generations" ? generations : replicates) = v.value();
  }
  const auto loop = ouro::collapse_loop{normal_fitter{}, ouro::sample::ancestral{},
                                        ouro::regime::replace{}, variance{}};
  const auto real = ouro::from_truth(normal{0, 1});
  host_workers workers(2);
  ouro::run_options opt;
  opt.label = "M=100";
  opt.generations = generations;
  opt.replicates = replicates;
  opt.samples = ouro::schedule::constant{100};
  opt.seed = 2026;
  opt.keep = ouro::keep_values::all;
  opt.executor = &workers;

  // The host's tick loop: one generation per tick, the host's own work in between.
  std::string storage;  // where the host keeps the run's state
  auto run = loop.start(real, opt);
  std::size_t tick = 0, below = 0;
  while (!run.done()) {
    run.advance();
    ++tick;
    // the host's own work: how many replicates' models have lost 90% of the variance
    below = 0;
    for (const normal* m : run.models()) below += m->var < 0.1;
    if (tick % 50 == 0)
      std::printf("tick %zu: mean variance %.4g, %zu of %zu replicates below 0.1\n", tick,
                  run.summary()[0].mean, below, run.models().size());
    if (tick == generations / 2) {  // migrate: save, drop the run, restore it elsewhere
      storage = run.save();
      run = loop.start(real, opt);
      run.restore(storage, "the host's storage");
      std::printf("tick %zu: run moved through %zu bytes of saved state\n", tick, storage.size());
    }
  }
  const ouro::run_result stepped = std::move(run).finish();

  opt.executor = nullptr;  // the library's own pool
  const ouro::run_result direct = loop.run(real, opt);
  const bool same = stepped.values == direct.values &&
                    stepped.summary[0].mean == direct.summary[0].mean &&
                    stepped.generations == direct.generations;
  std::printf(
      "after %zu generations: mean variance %.4g (theory: %.4g); identical to "
      "loop.run(): %s\n",
      stepped.generations, stepped.summary[0].mean.back(),
      *ouro::theory::expected_variance(100, stepped.generations, ouro::theory::estimator::mle),
      same ? "yes" : "NO");
  return same ? 0 : 1;
}
