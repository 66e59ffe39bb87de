// The VAE: gradients against finite differences (double), training, sampling, the IDX reader,
// saving and loading.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "ouroboros/models/idx.hpp"
#include "ouroboros/models/metrics/vae.hpp"
#include "ouroboros/models/vae.hpp"

using namespace ouro;
using models::vae;
using models::vae_fitter;
using models::vae_shape;

namespace {
std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("ouroboros_vae_" + name);
}
void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}
std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}
}  // namespace

TEST_CASE("VAE gradients of every layer match finite differences", "[vae][gradient]") {
  const vae_shape s{12, 7, 3};
  vae<double> m(s);
  default_rng g(1);
  m.initialise(g);
  typename vae<double>::workspace w(s, 5);
  for (auto& v : w.X) v = uniform01(g);
  for (auto& v : w.EPS) v = standard_normal(g);
  models::vae_params<double> grad(s);
  m.loss(w, &grad);
  const double h = 1e-6;
  std::size_t checked = 0;
  double worst = 0;
  auto& p = m.params();
  std::vector<std::pair<std::string, std::pair<double*, double*>>> tensors;
  std::vector<double*> gp;
  grad.visit([&](const char*, double* q, std::size_t) { gp.push_back(q); });
  std::size_t t = 0;
  p.visit([&](const char* name, double* q, std::size_t k) {
    double layer_worst = 0;
    for (std::size_t i = 0; i < k; ++i) {
      const double keep = q[i];
      q[i] = keep + h;
      const double up = m.loss(w);
      q[i] = keep - h;
      const double down = m.loss(w);
      q[i] = keep;
      const double fd = (up - down) / (2 * h), an = gp[t][i];
      layer_worst = std::max(layer_worst, std::abs(fd - an) / std::max(1.0, std::abs(fd)));
      ++checked;
    }
    INFO("tensor " << name);
    CHECK(layer_worst < 1e-6);
    worst = std::max(worst, layer_worst);
    ++t;
  });
  CHECK(checked == p.count());
  // the whole ELBO along a random direction
  models::vae_params<double> dir(s);
  dir.visit([&](const char*, double* q, std::size_t k) {
    for (std::size_t i = 0; i < k; ++i) q[i] = standard_normal(g);
  });
  double analytic = 0;
  {
    std::vector<double*> dp;
    dir.visit([&](const char*, double* q, std::size_t) { dp.push_back(q); });
    std::size_t u = 0;
    grad.visit([&](const char*, double* q, std::size_t k) {
      for (std::size_t i = 0; i < k; ++i) analytic += q[i] * dp[u][i];
      ++u;
    });
  }
  const auto shifted = [&](double eps) {
    vae<double> c = m;
    std::vector<double*> dp;
    dir.visit([&](const char*, double* q, std::size_t) { dp.push_back(q); });
    std::size_t u = 0;
    c.params().visit([&](const char*, double* q, std::size_t k) {
      for (std::size_t i = 0; i < k; ++i) q[i] += eps * dp[u][i];
      ++u;
    });
    return c.loss(w);
  };
  const double fd = (shifted(h) - shifted(-h)) / (2 * h);
  CHECK(fd == Approx(analytic).epsilon(1e-6));
}

TEST_CASE("VAE training lowers the negative ELBO; same seed, same weights", "[vae]") {
  // 300 synthetic 8x8 "images": two prototypes with noise
  const vae_shape s{64, 32, 4};
  default_rng g(2);
  xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({300, 64});
  for (std::size_t r = 0; r < 300; ++r)
    for (std::size_t i = 0; i < 64; ++i) {
      const bool on = (r % 2 == 0) ? (i % 8 < 4) : (i / 8 < 4);
      x(r, i) =
          static_cast<float>(std::clamp((on ? 0.9 : 0.1) + 0.05 * standard_normal(g), 0.0, 1.0));
    }
  vae_fitter<float> f;
  f.shape = s;
  f.epochs = 30;
  f.batch = 32;
  f.lr = 3e-3;
  event_log log;
  default_rng g1(3), g2(3), ge(4), ge2(4);
  vae<float> untrained(s);
  default_rng gi(3);
  untrained.initialise(gi);
  const auto m1 = f.fit(x, g1, log);
  const auto m2 = f.fit(x, g2, log);
  CHECK(log.empty());
  const double before = untrained.negative_elbo(x, ge) / 300;
  const double after = m1.negative_elbo(x, ge2) / 300;
  INFO("before " << before << " after " << after);
  CHECK(after < 0.8 * before);
  bool same = true;
  std::vector<const float*> a, b;
  m1.params().visit([&](const char*, const float* q, std::size_t) { a.push_back(q); });
  m2.params().visit([&](const char*, const float* q, std::size_t) { b.push_back(q); });
  std::size_t t = 0;
  m1.params().visit([&](const char*, const float*, std::size_t k) {
    same = same && std::equal(a[t], a[t] + k, b[t]);
    ++t;
  });
  CHECK(same);
  // samples are pixel probabilities; binarised ones are 0 or 1
  default_rng gs(5);
  const auto smp = m1.sample(50, gs);
  CHECK(smp.shape()[0] == 50);
  for (float v : smp) CHECK((v >= 0.0f && v <= 1.0f));
  auto mb = m1;
  mb.binarize_samples = true;
  for (float v : mb.sample(20, gs)) CHECK((v == 0.0f || v == 1.0f));
  // truncated priors, wide and (found by a fuzzer: it looped forever) vanishingly narrow
  for (double S : {2.0, 0.5, 1e-300}) {
    auto mt = m1;
    mt.truncation = S;
    CHECK(mt.sample(20, gs).shape()[0] == 20);
  }
  // the importance-weighted bound is at least the ELBO and grows with k (in expectation)
  default_rng gk(6), gk2(6);
  const double iw1 = m1.importance_weighted_bound(x, 1, gk);
  const double iw20 = m1.importance_weighted_bound(x, 20, gk2);
  CHECK(iw20 > iw1);
}

TEST_CASE("VAE save and load round trip; bad files are refused", "[vae][io]") {
  const vae_shape s{10, 6, 2};
  vae<float> m(s);
  default_rng g(7);
  m.initialise(g);
  const auto path = temp_path("model.bin");
  m.save(path.string());
  const auto back = vae<float>::load(path.string());
  CHECK(back.shape() == s);
  bool same = true;
  std::vector<const float*> a;
  m.params().visit([&](const char*, const float* q, std::size_t) { a.push_back(q); });
  std::size_t t = 0;
  back.params().visit([&](const char*, const float* q, std::size_t k) {
    same = same && std::equal(q, q + k, a[t++]);
  });
  CHECK(same);
  CHECK_THROWS_WITH(vae<double>::load(path.string()), Catch::Contains("4-byte scalars"));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_bytes(temp_path("trunc.bin"), bytes.substr(0, bytes.size() - 3));
  CHECK_THROWS_WITH(vae<float>::load(temp_path("trunc.bin").string()),
                    Catch::Contains("truncated") && Catch::Contains("725 follow the header"));
  // layer sizes that would need more memory than any model file holds are refused before any
  // allocation
  std::string huge = bytes.substr(0, 8);
  const std::uint64_t hh[4] = {4, 1u << 20, 1u << 20, 1u << 20};
  huge.append(reinterpret_cast<const char*>(hh), sizeof hh);
  write_bytes(temp_path("huge.bin"), huge);
  CHECK_THROWS_WITH(vae<float>::load(temp_path("huge.bin").string()),
                    Catch::Contains("more than 2^28"));
  write_bytes(temp_path("extra.bin"), bytes + "x");
  CHECK_THROWS_WITH(vae<float>::load(temp_path("extra.bin").string()),
                    Catch::Contains("trailing bytes"));
  write_bytes(temp_path("magic.bin"), "NOTAVAE1" + bytes.substr(8));
  CHECK_THROWS_WITH(vae<float>::load(temp_path("magic.bin").string()),
                    Catch::Contains("bad magic"));
}

TEST_CASE("IDX reader: images, labels, gzip, and clear errors", "[vae][idx]") {
  std::string img = be32(0x803) + be32(3) + be32(2) + be32(2);
  for (int i = 0; i < 12; ++i) img += char(i * 20);
  std::string lab = be32(0x801) + be32(3) + std::string{char(1), char(7), char(1)};
  write_bytes(temp_path("img"), img);
  write_bytes(temp_path("lab"), lab);
  const auto s = io::read_mnist(temp_path("img").string(), temp_path("lab").string());
  CHECK(s.size() == 3);
  CHECK(s.rows == 2);
  CHECK(s.images(1, 1) == Approx(100.0 / 255));
  CHECK(s.labels[1] == 7);
  // gzip, through zlib
  const auto gz = temp_path("img.gz");
  std::filesystem::remove(gz);
  REQUIRE(std::system(("gzip -c " + temp_path("img").string() + " > " + gz.string()).c_str()) == 0);
  CHECK(io::read_idx(gz.string()).data == io::read_idx(temp_path("img").string()).data);
  std::ifstream gin(gz, std::ios::binary);
  std::string gzbytes((std::istreambuf_iterator<char>(gin)), std::istreambuf_iterator<char>());
  write_bytes(temp_path("trunc.gz"), gzbytes.substr(0, gzbytes.size() / 2));
  CHECK_THROWS_WITH(io::read_idx(temp_path("trunc.gz").string()), Catch::Contains("gzip"));
  // a gzip file whose header declares more than the limit is refused from its first bytes (6e6
  // images of 28 x 28: 4.7 GB), before any large allocation; one that declares more than it
  // holds is truncated; trailing bytes are refused
  const auto gzip = [](const std::string& name, const std::string& bytes) {
    write_bytes(temp_path(name), bytes);
    std::filesystem::remove(temp_path(name + ".gz"));
    REQUIRE(std::system(
                ("gzip -c " + temp_path(name).string() + " > " + temp_path(name + ".gz").string())
                    .c_str()) == 0);
    return temp_path(name + ".gz").string();
  };
  CHECK_THROWS_WITH(io::read_idx(gzip("huge", be32(0x803) + be32(6000000) + be32(28) + be32(28) +
                                                  std::string(1 << 20, '\0'))),
                    Catch::Contains("declares more than"));
  CHECK_THROWS_WITH(io::read_idx(gzip("short", be32(0x803) + be32(1000) + be32(28) + be32(28) +
                                                   std::string(100, '\1'))),
                    Catch::Contains("truncated"));
  CHECK_THROWS_WITH(io::read_idx(gzip("long", img + std::string(5000, '\2'))),
                    Catch::Contains("trailing bytes"));
  // no images, and a folder given as a file
  write_bytes(temp_path("none"), be32(0x803) + be32(0) + be32(28) + be32(28));
  write_bytes(temp_path("nolab"), be32(0x801) + be32(0));
  CHECK_THROWS_WITH(io::read_mnist(temp_path("none").string(), temp_path("nolab").string()),
                    Catch::Contains("holds no images"));
  CHECK_THROWS_WITH(io::read_idx(std::filesystem::temp_directory_path().string()),
                    Catch::Contains("it is a folder"));
  const auto err = [](const std::string& bytes) {
    write_bytes(temp_path("bad"), bytes);
    try {
      io::read_idx(temp_path("bad").string());
    } catch (const data_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(err(img.substr(0, img.size() - 1)), Catch::Contains("truncated"));
  CHECK_THAT(err(img + "zz"), Catch::Contains("trailing bytes"));
  CHECK_THAT(err("\x01\x02\x08\x01" + be32(1) + "a"), Catch::Contains("not an IDX file"));
  CHECK_THAT(err(std::string("\0\0\x0D\x01", 4) + be32(1) + "abcd"), Catch::Contains("0x0d"));
  CHECK_THAT(err(std::string("\0\0\x08\x03", 4) + be32(1)),
             Catch::Contains("truncated IDX header"));
  CHECK_THAT(err("ab"), Catch::Contains("too short"));
  CHECK_THROWS_WITH(io::read_idx("/nonexistent/idx"), Catch::Contains("cannot open"));
  write_bytes(temp_path("lab2"), be32(0x801) + be32(2) + std::string{char(1), char(2)});
  CHECK_THROWS_WITH(io::read_mnist(temp_path("img").string(), temp_path("lab2").string()),
                    Catch::Contains("holds 3 images") && Catch::Contains("2 labels"));
  // split: the last 10% of each class (rounded down) are test
  io::image_set big;
  big.rows = big.cols = 1;
  big.images = xt::xtensor<float, 2>::from_shape({25, 1});
  for (std::size_t i = 0; i < 25; ++i) {
    big.images(i, 0) = static_cast<float>(i);
    big.labels.push_back(i < 20 ? 3 : 5);  // 20 threes, 5 fives
  }
  const auto [train, test] = io::split_by_class(big);
  CHECK(test.size() == 2);  // 10% of 20; 10% of 5 rounds down to 0
  CHECK(test.images(0, 0) == 18.0f);
  CHECK(test.images(1, 0) == 19.0f);
  CHECK(train.size() == 23);
}

#ifdef OUROBOROS_TEST_MNIST_DIR
TEST_CASE("MNIST: the split, and the k-NN classifier of the class metrics", "[vae][data]") {
  const std::string dir = OUROBOROS_TEST_MNIST_DIR;
  const auto all =
      io::read_mnist(dir + "/mnist10k-images-idx3-ubyte", dir + "/mnist10k-labels-idx1-ubyte");
  REQUIRE(all.size() == 10000);
  const auto [train, test] = io::split_by_class(all);
  CHECK(train.size() == 9003);
  CHECK(test.size() == 997);
  const metrics::knn_classifier knn(train.images, train.labels, 5);
  const auto cls = knn.classify(test.images);
  std::size_t right = 0;
  for (std::size_t i = 0; i < cls.size(); ++i) right += cls[i] == test.labels[i];
  const double accuracy = static_cast<double>(right) / static_cast<double>(cls.size());
  INFO("k-NN accuracy on the test digits " << accuracy);
  CHECK(accuracy > 0.9);
}
#endif

TEST_CASE("VAE on degenerate data: empty, all-black, a single image", "[vae][degenerate]") {
  const vae_shape s{16, 8, 2};
  vae_fitter<float> f;
  f.shape = s;
  f.epochs = 20;
  f.batch = 4;
  default_rng g(9);
  SECTION("empty training set: an event and the untrained model") {
    event_log log;
    const auto m = f.fit(xt::xtensor<float, 2>::from_shape({0, 16}), g, log);
    REQUIRE(log.entries().size() == 1);
    CHECK_THAT(log.entries()[0].what, Catch::Contains("empty"));
    CHECK(m.sample(3, g).shape()[0] == 3);
  }
  for (std::size_t n : {1, 40}) {
    SECTION("all-black images, " + std::to_string(n)) {
      f.lr = 1e-2;  // Adam moves each parameter by about lr per step
      event_log log;
      xt::xtensor<float, 2> black = xt::zeros<float>({n, std::size_t{16}});
      const auto m = f.fit(black, g, log);
      CHECK(log.empty());
      default_rng ge(1);
      const double nelbo = m.negative_elbo(black, ge);
      CHECK(std::isfinite(nelbo));
      CHECK(nelbo >= 0);
      bool finite = true;
      m.params().visit([&](const char*, const float* p, std::size_t k) {
        for (std::size_t i = 0; i < k; ++i) finite = finite && std::isfinite(p[i]);
      });
      CHECK(finite);
      for (float v : m.sample(10, g)) {
        CHECK((v >= 0.0f && v <= 1.0f));
        if (n == 40) CHECK(v < 0.2f);  // 200 steps learn black; 20 (one image) need not
      }
    }
  }
  SECTION("tiny intensities (1e-30 and the smallest normal float) train to finite numbers") {
    for (float v : {1e-30f, std::numeric_limits<float>::min()}) {
      event_log log;
      xt::xtensor<float, 2> dim = xt::xtensor<float, 2>::from_shape({20, 16});
      std::fill(dim.begin(), dim.end(), v);
      const auto m = f.fit(dim, g, log);
      default_rng ge(2);
      CHECK(std::isfinite(m.negative_elbo(dim, ge)));
      for (float x : m.sample(5, g)) CHECK((x >= 0.0f && x <= 1.0f));
    }
  }
  SECTION("pixel values outside [0, 1] or NaN are refused") {
    event_log log;
    xt::xtensor<float, 2> bad = xt::zeros<float>({std::size_t{2}, std::size_t{16}});
    bad(1, 3) = 1.5f;
    CHECK_THROWS_AS(f.fit(bad, g, log), std::invalid_argument);
    bad(1, 3) = std::nanf("");
    CHECK_THROWS_AS(f.fit(bad, g, log), std::invalid_argument);
  }
}
