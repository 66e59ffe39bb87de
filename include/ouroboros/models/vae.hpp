// Variational autoencoder (Kingma & Welling) for images with pixel values in [0, 1]: an MLP
// encoder input -> hidden (ReLU) -> mean and log-variance of a diagonal Gaussian over the
// latent space, a decoder latent -> hidden (ReLU) -> input logits with a Bernoulli likelihood, a
// standard normal prior. Templated on the scalar (float for speed, double for gradient checks).
// Every matrix product goes through BLAS (xtensor-blas gemm); training allocates nothing inside
// its loop. The fitter is vae_fitter (Adam, minibatches). See docs/vae.md.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <istream>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <xtensor-blas/xblas.hpp>
#include <xtensor/xtensor.hpp>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/core/events.hpp"
#include "ouroboros/core/random.hpp"
#include "ouroboros/io/atomic_file.hpp"
#include "ouroboros/io/read_file.hpp"
#include "ouroboros/models/dataset_xtensor.hpp"

namespace ouro::inline v0::models {

/// Layer sizes (defaults: the classic MNIST VAE, 784-400-20).
struct vae_shape {
  std::size_t input = 784, hidden = 400, latent = 20;
  bool operator==(const vae_shape&) const = default;
};

/// The parameters of a VAE, PyTorch's Linear layout (weights out x in): encoder W1, b1; the two
/// heads stacked (rows 0..L-1 the mean, L..2L-1 the log-variance) W2, b2; decoder W3, b3, W4, b4.
template <class T>
struct vae_params {
  xt::xtensor<T, 2> W1, W2, W3, W4;
  xt::xtensor<T, 1> b1, b2, b3, b4;

  explicit vae_params(const vae_shape& s = {})
      : W1(xt::xtensor<T, 2>::from_shape({s.hidden, s.input})),
        W2(xt::xtensor<T, 2>::from_shape({2 * s.latent, s.hidden})),
        W3(xt::xtensor<T, 2>::from_shape({s.hidden, s.latent})),
        W4(xt::xtensor<T, 2>::from_shape({s.input, s.hidden})),
        b1(xt::xtensor<T, 1>::from_shape({s.hidden})),
        b2(xt::xtensor<T, 1>::from_shape({2 * s.latent})),
        b3(xt::xtensor<T, 1>::from_shape({s.hidden})),
        b4(xt::xtensor<T, 1>::from_shape({s.input})) {
    fill(T(0));
  }
  /// Calls f(name, pointer, size) for every tensor, in a fixed order.
  template <class F>
  void visit(F&& f) {
    f("W1", W1.data(), W1.size());
    f("b1", b1.data(), b1.size());
    f("W2", W2.data(), W2.size());
    f("b2", b2.data(), b2.size());
    f("W3", W3.data(), W3.size());
    f("b3", b3.data(), b3.size());
    f("W4", W4.data(), W4.size());
    f("b4", b4.data(), b4.size());
  }
  template <class F>
  void visit(F&& f) const {
    const_cast<vae_params*>(this)->visit(
        [&](const char* n, T* p, std::size_t k) { f(n, static_cast<const T*>(p), k); });
  }
  void fill(T v) {
    visit([v](const char*, T* p, std::size_t k) { std::fill(p, p + k, v); });
  }
  std::size_t count() const {
    std::size_t c = 0;
    visit([&](const char*, const T*, std::size_t k) { c += k; });
    return c;
  }
};

namespace detail {

/// 1 / (1 + exp(-x)), stable for both signs.
template <class T>
inline T sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}
/// log(1 + exp(x)), stable.
template <class T>
inline T softplus(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

/// C = op(A) op(B) (+ beta C) through BLAS.
template <class T>
inline void gemm(const xt::xtensor<T, 2>& A, const xt::xtensor<T, 2>& B, xt::xtensor<T, 2>& C,
                 bool ta, bool tb, T beta = T(0)) {
  xt::blas::gemm(A, B, C, ta, tb, T(1), beta);
}

}  // namespace detail

/// A variational autoencoder with Bernoulli pixels (see the file comment). Datasets are
/// xt::xtensor<float, 2> of images (one per row, values in [0, 1]) for either scalar type.
template <class T = float>
class vae {
  static_assert(std::is_floating_point_v<T>);

 public:
  using scalar = T;
  using dataset_type = xt::xtensor<float, 2>;

  vae() : vae(vae_shape{}) {}
  explicit vae(const vae_shape& s) : shape_(s), p_(s) {}

  const vae_shape& shape() const noexcept { return shape_; }
  vae_params<T>& params() noexcept { return p_; }
  const vae_params<T>& params() const noexcept { return p_; }
  /// Decoder output: Bernoulli means (false, the default) or binarised draws (true).
  bool binarize_samples = false;
  /// |z_i| < truncation for prior draws (the truncation trick; 0 = a plain normal).
  double truncation = 0;

  /// PyTorch's Linear initialisation: weights and biases uniform in +-1/sqrt(fan_in).
  template <Rng G>
  void initialise(G& g) {
    const auto init = [&](T* p, std::size_t k, std::size_t fan_in) {
      const double a = 1.0 / std::sqrt(static_cast<double>(fan_in));
      for (std::size_t i = 0; i < k; ++i) p[i] = static_cast<T>((2 * uniform01(g) - 1) * a);
    };
    init(p_.W1.data(), p_.W1.size(), shape_.input);
    init(p_.b1.data(), p_.b1.size(), shape_.input);
    init(p_.W2.data(), p_.W2.size(), shape_.hidden);
    init(p_.b2.data(), p_.b2.size(), shape_.hidden);
    init(p_.W3.data(), p_.W3.size(), shape_.latent);
    init(p_.b3.data(), p_.b3.size(), shape_.latent);
    init(p_.W4.data(), p_.W4.size(), shape_.hidden);
    init(p_.b4.data(), p_.b4.size(), shape_.hidden);
  }

  /// Workspace of one batch size: every intermediate of a forward and backward pass.
  struct workspace {
    std::size_t batch = 0;
    xt::xtensor<T, 2> X, A1, H1, O2, EPS, Z, A3, H3, LG, dLG, dH3, dZ, dO2, dH1;
    workspace() = default;
    workspace(const vae_shape& s, std::size_t b) : batch(b) {
      const auto m = [&](std::size_t c) { return xt::xtensor<T, 2>::from_shape({b, c}); };
      X = m(s.input), A1 = m(s.hidden), H1 = m(s.hidden), O2 = m(2 * s.latent);
      EPS = m(s.latent), Z = m(s.latent), A3 = m(s.hidden), H3 = m(s.hidden), LG = m(s.input);
      dLG = m(s.input), dH3 = m(s.hidden), dZ = m(s.latent), dO2 = m(2 * s.latent);
      dH1 = m(s.hidden);
    }
  };

  /// Encoder: O2 = [mean, log-variance] of q(z | x) for the rows of w.X.
  void encode(workspace& w) const {
    bias_rows(w.A1, p_.b1);
    detail::gemm(w.X, p_.W1, w.A1, false, true, T(1));
    relu(w.A1, w.H1);
    bias_rows(w.O2, p_.b2);
    detail::gemm(w.H1, p_.W2, w.O2, false, true, T(1));
  }
  /// Decoder: logits LG of p(x | z) for the rows of w.Z.
  void decode(workspace& w) const {
    bias_rows(w.A3, p_.b3);
    detail::gemm(w.Z, p_.W3, w.A3, false, true, T(1));
    relu(w.A3, w.H3);
    bias_rows(w.LG, p_.b4);
    detail::gemm(w.H3, p_.W4, w.LG, false, true, T(1));
  }

  /// The negative ELBO summed over the batch in w.X, with the reparameterisation noise in w.EPS
  /// (z = mean + exp(logvar / 2) eps): the Bernoulli cross-entropy on the logits plus
  /// KL(q(z | x) || N(0, I)). With `grad`, also its gradient with respect to every parameter
  /// (added to *grad).
  double loss(workspace& w, vae_params<T>* grad = nullptr, bool want_loss = true) const {
    const std::size_t B = w.batch, D = shape_.input, L = shape_.latent;
    encode(w);
    for (std::size_t r = 0; r < B; ++r)
      for (std::size_t j = 0; j < L; ++j)
        w.Z(r, j) = w.O2(r, j) + std::exp(T(0.5) * w.O2(r, L + j)) * w.EPS(r, j);
    decode(w);
    double total = 0;
    if (want_loss) {
      for (std::size_t r = 0; r < B; ++r) {
        double rec = 0, kl = 0;
        for (std::size_t i = 0; i < D; ++i) {
          const T l = w.LG(r, i), x = w.X(r, i);
          rec += static_cast<double>(detail::softplus(l) - x * l);
        }
        for (std::size_t j = 0; j < L; ++j) {
          const double mu = w.O2(r, j), lv = w.O2(r, L + j);
          kl += -0.5 * (1 + lv - mu * mu - std::exp(lv));
        }
        total += rec + kl;
      }
    }
    if (grad) backward(w, *grad);
    return total;
  }

  /// Total negative ELBO of the rows of x (one z per row from g), in batches of `batch`.
  template <Rng G>
  double negative_elbo(const dataset_type& x, G& g, std::size_t batch = 500) const {
    return over_batches(x, batch, [&](workspace& w) {
      draw_normal(g, w.EPS);
      return loss(w);
    });
  }

  /// The ELBO summed over the rows (the Distribution concept's log-likelihood: a lower bound on
  /// it), with a fixed seed for the one z drawn per row.
  double log_likelihood(const dataset_type& x) const {
    default_rng g(0x5EED);
    return -negative_elbo(x, g);
  }

  /// Importance-weighted bound (Burda et al.) with k samples per row, summed over the rows:
  /// log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x). k = 1 is the ELBO.
  template <Rng G>
  double importance_weighted_bound(const dataset_type& x, std::size_t k, G& g,
                                   std::size_t batch = 500) const {
    const std::size_t L = shape_.latent, D = shape_.input;
    const double log2pi = std::log(2 * 3.14159265358979323846);
    std::vector<double> lw;
    return over_batches(x, batch, [&](workspace& w) {
      const std::size_t B = w.batch;
      encode(w);
      const xt::xtensor<T, 2> O2 = w.O2;
      lw.assign(B * k, 0.0);
      for (std::size_t s = 0; s < k; ++s) {
        draw_normal(g, w.EPS);
        for (std::size_t r = 0; r < B; ++r)
          for (std::size_t j = 0; j < L; ++j)
            w.Z(r, j) = O2(r, j) + std::exp(T(0.5) * O2(r, L + j)) * w.EPS(r, j);
        decode(w);
        for (std::size_t r = 0; r < B; ++r) {
          double lp = 0;  // log p(x | z) + log p(z) - log q(z | x)
          for (std::size_t i = 0; i < D; ++i) {
            const T l = w.LG(r, i), xv = w.X(r, i);
            lp -= static_cast<double>(detail::softplus(l) - xv * l);
          }
          for (std::size_t j = 0; j < L; ++j) {
            const double z = w.Z(r, j), e = w.EPS(r, j), lv = O2(r, L + j);
            lp += -0.5 * (z * z + log2pi) + 0.5 * (e * e + log2pi + lv);
          }
          lw[r * k + s] = lp;
        }
      }
      double total = 0;
      for (std::size_t r = 0; r < B; ++r) {
        const double m = *std::max_element(lw.begin() + static_cast<long>(r * k),
                                           lw.begin() + static_cast<long>((r + 1) * k));
        double acc = 0;
        for (std::size_t s = 0; s < k; ++s) acc += std::exp(lw[r * k + s] - m);
        total += m + std::log(acc / static_cast<double>(k));
      }
      return total;
    });
  }

  /// Means of q(z | x) for the rows of x (n x latent).
  xt::xtensor<float, 2> encode_means(const dataset_type& x, std::size_t batch = 500) const {
    const std::size_t L = shape_.latent;
    xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape({x.shape()[0], L});
    std::size_t row = 0;
    over_batches(x, batch, [&](workspace& w) {
      encode(w);
      for (std::size_t r = 0; r < w.batch; ++r, ++row)
        for (std::size_t j = 0; j < L; ++j) out(row, j) = static_cast<float>(w.O2(r, j));
      return 0.0;
    });
    return out;
  }

  /// n images decoded from z ~ N(0, I) (truncated to |z_i| < truncation when set): Bernoulli
  /// means, or binarised draws with binarize_samples.
  template <Rng G>
  dataset_type sample(std::size_t n, G& g) const {
    const std::size_t D = shape_.input, batch = 500;
    dataset_type out = dataset_type::from_shape({n, D});
    std::size_t row = 0;
    while (row < n) {
      const std::size_t B = std::min(batch, n - row);
      workspace w(shape_, B);
      draw_normal(g, w.Z);
      if (truncation >= 1) {  // rejection from the normal: accepts at least 68% of draws
        for (auto& z : w.Z)
          while (!(std::abs(static_cast<double>(z)) < truncation))
            z = static_cast<T>(standard_normal(g));
      } else if (truncation > 0) {
        // a narrow window: a uniform proposal on (-S, S) accepted with probability
        // exp(-z^2 / 2) >= exp(-1/2)
        for (auto& z : w.Z) {
          double x;
          do {
            x = (2 * uniform01(g) - 1) * truncation;
          } while (!(uniform01(g) < std::exp(-0.5 * x * x)));
          z = static_cast<T>(x);
        }
      }
      decode(w);
      for (std::size_t r = 0; r < B; ++r)
        for (std::size_t i = 0; i < D; ++i) {
          const double p = detail::sigmoid(static_cast<double>(w.LG(r, i)));
          out(row + r, i) =
              binarize_samples ? (uniform01(g) < p ? 1.0f : 0.0f) : static_cast<float>(p);
        }
      row += B;
    }
    return out;
  }

  /// Writes the model: a small binary format (docs/vae.md#file-format): the magic "OUROVAE1",
  /// the scalar size (4 or 8), input, hidden and latent as uint64, then the tensors in the order
  /// W1 b1 W2 b2 W3 b3 W4 b4, little-endian. Written atomically and durably
  /// (io::write_file_atomic).
  void save(const std::string& path) const { io::write_file_atomic(path, to_bytes()); }
  /// The bytes save() writes. The model's one serialised form: checkpoints hold it too.
  std::string to_bytes() const {
    std::string bytes("OUROVAE1", 8);
    const std::uint64_t h[4] = {sizeof(T), shape_.input, shape_.hidden, shape_.latent};
    bytes.append(reinterpret_cast<const char*>(h), sizeof h);
    p_.visit([&](const char*, const T* p, std::size_t k) {
      bytes.append(reinterpret_cast<const char*>(p), k * sizeof(T));
    });
    return bytes;
  }
  /// The model that to_bytes() gave (named `name` in messages), checked as load() checks a file.
  static vae from_bytes(std::string_view bytes, const std::string& name) {
    std::istringstream f{std::string(bytes)};
    return load(f, name);
  }
  /// Reads a model written by save() (with the same scalar type). Throws data_error naming the
  /// file for a wrong magic, scalar size or layer sizes out of range, and a truncated file or
  /// trailing bytes.
  static vae load(const std::string& path) {
    io::check_regular_file(path);
    std::ifstream f(path, std::ios::binary);
    if (!f) throw data_error(fmt::format("{}: cannot open the file", path));
    return load(f, path);
  }
  /// The same from a stream (named `path` in messages).
  static vae load(std::istream& f, const std::string& path) {
    char magic[8];
    std::uint64_t h[4];
    if (!f.read(magic, 8) || std::memcmp(magic, "OUROVAE1", 8) != 0)
      throw data_error(fmt::format("{}: not an Ouroboros VAE file (bad magic)", path));
    if (!f.read(reinterpret_cast<char*>(h), sizeof h))
      throw data_error(fmt::format("{}: truncated header", path));
    if (h[0] != sizeof(T))
      throw data_error(
          fmt::format("{}: holds {}-byte scalars, this model uses {}", path, h[0], sizeof(T)));
    for (int i = 1; i < 4; ++i)
      if (h[i] == 0 || h[i] > (1u << 20))
        throw data_error(fmt::format("{}: layer size {} out of range (header byte offset {})", path,
                                     h[i], 8 + 8 * i));
    // the parameter count, checked before anything is allocated
    const std::size_t D = h[1], H = h[2], L = h[3];
    const double count = double(H) * double(D) * 2 + double(L) * double(H) * 3 + double(H) * 2 +
                         double(L) * 2 + double(D);
    if (count > double(std::size_t{1} << 28))
      throw data_error(
          fmt::format("{}: layer sizes {}-{}-{} give {:.3g} parameters, more than "
                      "2^28",
                      path, D, H, L, count));
    const auto here = f.tellg();
    if (here != std::streampos(-1)) {
      f.seekg(0, std::ios::end);
      const auto end = f.tellg();
      f.seekg(here);
      const auto left = static_cast<double>(end - here);
      if (left < count * sizeof(T))
        throw data_error(
            fmt::format("{}: truncated: the layer sizes need {:.0f} bytes of "
                        "parameters, {:.0f} follow the header",
                        path, count * sizeof(T), left));
    }
    vae m(vae_shape{D, H, L});
    std::size_t offset = 8 + sizeof h;
    m.p_.visit([&](const char* name, T* p, std::size_t k) {
      if (!f.read(reinterpret_cast<char*>(p), static_cast<std::streamsize>(k * sizeof(T))))
        throw data_error(
            fmt::format("{}: truncated in tensor {} (byte offset {})", path, name, offset));
      for (std::size_t i = 0; i < k; ++i)
        if (!std::isfinite(p[i]))
          throw data_error(fmt::format("{}: tensor {} holds a non-finite value (byte offset {})",
                                       path, name, offset + i * sizeof(T)));
      offset += k * sizeof(T);
    });
    if (f.peek() != std::char_traits<char>::eof())
      throw data_error(fmt::format("{}: trailing bytes after offset {}", path, offset));
    return m;
  }

  /// Copies rows [first, first + w.batch) of x (or the rows idx[first..]) into w.X.
  void load_batch(const dataset_type& x, const std::uint32_t* idx, std::size_t first,
                  workspace& w) const {
    const std::size_t D = shape_.input;
    for (std::size_t r = 0; r < w.batch; ++r) {
      const std::size_t src = idx ? idx[first + r] : first + r;
      const float* s = x.data() + src * D;
      T* d = w.X.data() + r * D;
      for (std::size_t i = 0; i < D; ++i) d[i] = static_cast<T>(s[i]);
    }
  }

 private:
  template <class F>
  double over_batches(const dataset_type& x, std::size_t batch, F&& f) const {
    if (x.dimension() != 2 || x.shape()[1] != shape_.input)
      throw std::invalid_argument(
          fmt::format("ouro::models::vae: images of {} values expected", shape_.input));
    const std::size_t n = x.shape()[0];
    double total = 0;
    workspace full(shape_, std::min(batch, std::max<std::size_t>(n, 1)));
    std::optional<workspace> rest;
    for (std::size_t first = 0; first < n; first += batch) {
      const std::size_t B = std::min(batch, n - first);
      workspace* w = &full;
      if (B != full.batch) {
        if (!rest) rest.emplace(shape_, B);
        w = &*rest;
      }
      load_batch(x, nullptr, first, *w);
      total += f(*w);
    }
    return total;
  }

  template <Rng G>
  static void draw_normal(G& g, xt::xtensor<T, 2>& m) {
    if constexpr (std::is_same_v<T, double>) {
      fill_standard_normal(g, std::span<double>(m.data(), m.size()));
    } else {
      thread_local std::vector<double> tmp;
      tmp.resize(m.size());
      fill_standard_normal(g, std::span<double>(tmp));
      for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(tmp[i]);
    }
  }

  static void bias_rows(xt::xtensor<T, 2>& A, const xt::xtensor<T, 1>& b) {
    const std::size_t B = A.shape()[0], C = A.shape()[1];
    for (std::size_t r = 0; r < B; ++r) std::copy_n(b.data(), C, A.data() + r * C);
  }
  static void relu(const xt::xtensor<T, 2>& A, xt::xtensor<T, 2>& H) {
    const T* a = A.data();
    T* h = H.data();
    for (std::size_t i = 0; i < A.size(); ++i) h[i] = a[i] > T(0) ? a[i] : T(0);
  }
  static void add_column_sums(const xt::xtensor<T, 2>& A, xt::xtensor<T, 1>& b) {
    const std::size_t B = A.shape()[0], C = A.shape()[1];
    T* o = b.data();
    for (std::size_t r = 0; r < B; ++r) {
      const T* a = A.data() + r * C;
      for (std::size_t c = 0; c < C; ++c) o[c] += a[c];
    }
  }

  void backward(workspace& w, vae_params<T>& g) const {
    const std::size_t B = w.batch, D = shape_.input, H = shape_.hidden, L = shape_.latent;
    // d loss / d logits = sigmoid(logits) - x
    for (std::size_t i = 0; i < B * D; ++i)
      w.dLG.data()[i] = detail::sigmoid(w.LG.data()[i]) - w.X.data()[i];
    detail::gemm(w.dLG, w.H3, g.W4, true, false, T(1));
    add_column_sums(w.dLG, g.b4);
    detail::gemm(w.dLG, p_.W4, w.dH3, false, false);
    for (std::size_t i = 0; i < B * H; ++i)
      if (!(w.A3.data()[i] > T(0))) w.dH3.data()[i] = T(0);
    detail::gemm(w.dH3, w.Z, g.W3, true, false, T(1));
    add_column_sums(w.dH3, g.b3);
    detail::gemm(w.dH3, p_.W3, w.dZ, false, false);
    for (std::size_t r = 0; r < B; ++r)
      for (std::size_t j = 0; j < L; ++j) {
        const T mu = w.O2(r, j), lv = w.O2(r, L + j), sd = std::exp(T(0.5) * lv);
        const T dz = w.dZ(r, j);
        w.dO2(r, j) = dz + mu;                                                         // KL: mu
        w.dO2(r, L + j) = dz * w.EPS(r, j) * T(0.5) * sd + T(0.5) * (sd * sd - T(1));  // KL
      }
    detail::gemm(w.dO2, w.H1, g.W2, true, false, T(1));
    add_column_sums(w.dO2, g.b2);
    detail::gemm(w.dO2, p_.W2, w.dH1, false, false);
    for (std::size_t i = 0; i < B * H; ++i)
      if (!(w.A1.data()[i] > T(0))) w.dH1.data()[i] = T(0);
    detail::gemm(w.dH1, w.X, g.W1, true, false, T(1));
    add_column_sums(w.dH1, g.b1);
  }

  vae_shape shape_;
  vae_params<T> p_;
};

/// Trains a fresh VAE (PyTorch's initialisation) by Adam on minibatches reshuffled every epoch;
/// the loss of a batch is its summed negative ELBO, as the classic PyTorch example.
template <class T = float>
struct vae_fitter {
  using model_type = vae<T>;
  using dataset_type = xt::xtensor<float, 2>;

  vae_shape shape{};
  std::size_t epochs = 10;
  std::size_t batch = 128;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool binarize_samples = false;
  double truncation = 0;
  /// Called after every epoch with (epoch, mean negative ELBO per image over the epoch's batches;
  /// NaN unless track_loss).
  std::function<void(std::size_t, double)> on_epoch;
  bool track_loss = false;

  template <Rng G>
  vae<T> fit(const dataset_type& x, G& g, event_log& log) const {
    if (x.dimension() != 2 || x.shape()[1] != shape.input)
      throw std::invalid_argument(
          fmt::format("ouro::models::vae_fitter: images of {} values expected, got rows of {}",
                      shape.input, x.dimension() == 2 ? x.shape()[1] : 0));
    if (batch == 0 || epochs == 0 || !(lr > 0))
      throw std::invalid_argument(
          "ouro::models::vae_fitter: batch, epochs and lr must be positive");
    vae<T> m(shape);
    m.binarize_samples = binarize_samples;
    m.truncation = truncation;
    m.initialise(g);
    const std::size_t n = x.shape()[0];
    if (n == 0) {
      log.record("empty training set", "kept the initial (untrained) VAE");
      return m;
    }
    for (float v : x)
      if (!(v >= 0.0f && v <= 1.0f))
        throw std::invalid_argument(
            "ouro::models::vae_fitter: pixel values must lie in [0, 1] (and not be NaN)");
    vae_params<T> grad(shape), mom(shape), vel(shape);
    using ws = typename vae<T>::workspace;
    const std::size_t B = std::min(batch, n);
    ws full(shape, B);
    std::optional<ws> rest;
    if (n % B) rest.emplace(shape, n % B);
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::size_t step = 0;
    bool nonfinite = false;
    for (std::size_t e = 0; e < epochs; ++e) {
      for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[uniform_index(g, i)]);
      double total = 0;
      for (std::size_t first = 0; first < n; first += B) {
        ws& w = (n - first >= B) ? full : *rest;
        m.load_batch(x, order.data(), first, w);
        fill_noise(g, w.EPS);
        grad.fill(T(0));
        total += m.loss(w, &grad, track_loss);
        ++step;
        adam(m.params(), grad, mom, vel, step, nonfinite);
      }
      if (on_epoch)
        on_epoch(e, track_loss ? total / static_cast<double>(n)
                               : std::numeric_limits<double>::quiet_NaN());
    }
    if (nonfinite)
      log.record("non-finite gradient", "skipped the Adam steps whose gradient was not finite");
    return m;
  }

 private:
  template <Rng G>
  static void fill_noise(G& g, xt::xtensor<T, 2>& m) {
    thread_local std::vector<double> tmp;
    tmp.resize(m.size());
    fill_standard_normal(g, std::span<double>(tmp));
    for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(tmp[i]);
  }

  void adam(vae_params<T>& p, vae_params<T>& g, vae_params<T>& m1, vae_params<T>& m2,
            std::size_t step, bool& nonfinite) const {
    // a non-finite gradient would poison the moments: skip the step (recorded as an event)
    bool finite = true;
    g.visit([&](const char*, const T* q, std::size_t k) {
      T s = 0;
      for (std::size_t i = 0; i < k; ++i) s += q[i] * T(0);
      finite = finite && s == T(0);
    });
    if (!finite) {
      nonfinite = true;
      return;
    }
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T c1 = static_cast<T>(1 - std::pow(beta1, static_cast<double>(step)));
    const T c2 = static_cast<T>(1 - std::pow(beta2, static_cast<double>(step)));
    const T a = static_cast<T>(lr) / c1, inv_c2 = T(1) / c2, ep = static_cast<T>(eps);
    std::array<T*, 8> P, G1, M, V;
    std::array<std::size_t, 8> K;
    std::size_t n = 0;
    p.visit([&](const char*, T* q, std::size_t k) { P[n] = q, K[n++] = k; });
    n = 0;
    g.visit([&](const char*, T* q, std::size_t) { G1[n++] = q; });
    n = 0;
    m1.visit([&](const char*, T* q, std::size_t) { M[n++] = q; });
    n = 0;
    m2.visit([&](const char*, T* q, std::size_t) { V[n++] = q; });
    for (std::size_t t = 0; t < P.size(); ++t) {
      T* __restrict pp = P[t];
      const T* __restrict gg = G1[t];
      T* __restrict mm = M[t];
      T* __restrict vv = V[t];
      for (std::size_t i = 0; i < K[t]; ++i) {
        mm[i] = b1 * mm[i] + (T(1) - b1) * gg[i];
        vv[i] = b2 * vv[i] + (T(1) - b2) * gg[i] * gg[i];
        pp[i] -= a * mm[i] / (std::sqrt(vv[i] * inv_c2) + ep);
      }
    }
  }
};

/// The former name of vae_fitter.
template <class T = float>
using vae_fit [[deprecated("ouro::models::vae_fit is now vae_fitter")]] = vae_fitter<T>;

}  // namespace ouro::inline v0::models

namespace ouro::inline v0 {
/// The layer sizes, the sampling settings and every parameter, exactly.
template <class T>
struct checkpoint_traits<models::vae<T>> {
  static void save(const models::vae<T>& m, io::binary_writer& w) {
    w.put_tag("vae-2");
    w.put_u64(m.binarize_samples);
    w.put_f64(m.truncation);
    w.put_string(m.to_bytes());  // the file format of vae::save
  }
  static models::vae<T> load(io::binary_reader& r) {
    r.expect_tag("vae-2");
    const bool binarize = r.get_u64("binarize") != 0;
    const double trunc = r.get_f64("truncation");
    if (!(trunc >= 0) || !std::isfinite(trunc)) r.fail("malformed VAE settings");
    models::vae<T> m = models::vae<T>::from_bytes(r.get_string("VAE"), r.name());
    m.binarize_samples = binarize;
    m.truncation = trunc;
    return m;
  }
};
}  // namespace ouro::inline v0
