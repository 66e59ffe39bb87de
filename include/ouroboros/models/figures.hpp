// Figures particular to the reference models: density contours of 2-D Gaussian mixtures
// (plot_gmm_contours, through gnuplot like io::plot_results) and grids of generated images
// (write_image_grid_png, a grey-scale PNG encoded here with zlib). Both write atomically and never
// through a link. See docs/results.md#figures.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xtensor/xtensor.hpp>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/io/atomic_file.hpp"
#include "ouroboros/io/plot.hpp"
#include "ouroboros/models/gmm.hpp"

namespace ouro::inline v0::models {

/// A fitted mixture kept for a figure: which run, which generation.
struct gmm_snapshot {
  std::string run;
  std::size_t generation = 0;
  gmm model;
};

/// A snapshot as JSON: run, replicate 0, generation, weights, means, covariances.
inline nlohmann::json to_json(const gmm_snapshot& s) {
  const auto& m = s.model;
  nlohmann::json means = nlohmann::json::array(), covs = nlohmann::json::array();
  for (std::size_t k = 0; k < m.components(); ++k) {
    means.push_back(std::vector<double>(m.mean(k).begin(), m.mean(k).end()));
    nlohmann::json c = nlohmann::json::array();
    for (std::size_t i = 0; i < m.dim(); ++i) {
      std::vector<double> row(m.dim());
      for (std::size_t j = 0; j < m.dim(); ++j) row[j] = m.covariance(k)(i, j);
      c.push_back(row);
    }
    covs.push_back(c);
  }
  return {{"run", s.run},           {"replicate", 0}, {"generation", s.generation},
          {"weights", m.weights()}, {"means", means}, {"covariances", covs}};
}

/// Density contours of 2-D mixtures, one panel per snapshot: a row per run (in the order the runs
/// first appear), a column per generation, on the square [lo, hi]^2 sampled at `grid` x `grid`
/// points. The densities go into the gnuplot script itself. Throws config_error for a mixture that
/// is not 2-D; see io::render_png for how it is drawn and what it returns without gnuplot.
inline io::plot_status plot_gmm_contours(const std::vector<gmm_snapshot>& snaps,
                                         const std::filesystem::path& png, const std::string& title,
                                         double lo = -4.5, double hi = 4.5, std::size_t grid = 80,
                                         bool keep_script = true) {
  if (snaps.empty()) return {false, fmt::format("no snapshots: {} not drawn", png.string())};
  if (!(hi > lo) || grid < 2)
    throw config_error("plot_gmm_contours: need lo < hi and a grid of at least 2 points");
  std::vector<std::string> runs;
  for (const auto& s : snaps) {
    if (s.model.dim() != 2)
      throw config_error(fmt::format("plot_gmm_contours: the mixture of run '{}' is {}-D, not 2-D",
                                     s.run, s.model.dim()));
    if (std::find(runs.begin(), runs.end(), s.run) == runs.end()) runs.push_back(s.run);
  }
  const std::size_t per_run = (snaps.size() + runs.size() - 1) / runs.size();
  std::string s;
  auto out = std::back_inserter(s);
  const double h = (hi - lo) / static_cast<double>(grid - 1);
  auto pts = xt::xtensor<double, 2>::from_shape({grid, 2});
  for (std::size_t k = 0; k < snaps.size(); ++k) {
    fmt::format_to(out, "$g{} << EOD\n", k);
    for (std::size_t i = 0; i < grid; ++i) {
      for (std::size_t j = 0; j < grid; ++j)
        pts(j, 0) = lo + static_cast<double>(i) * h, pts(j, 1) = lo + static_cast<double>(j) * h;
      const auto lp = snaps[k].model.log_pdf(pts);
      for (std::size_t j = 0; j < grid; ++j)
        fmt::format_to(out, "{:.4f} {:.4f} {:.6g}\n", pts(j, 0), pts(j, 1), std::exp(lp[j]));
      s += "\n";
    }
    s += "EOD\n";
  }
  fmt::format_to(out,
                 "set view map\nset contour base\nset cntrparam levels incremental 0.005,0.03,0.3\n"
                 "unset surface\nunset key\nset size ratio -1\nset xrange [{}:{}]\n"
                 "set yrange [{}:{}]\nset multiplot layout {},{} title {}\n",
                 lo, hi, lo, hi, runs.size(), per_run, io::gnuplot_string(title));
  for (std::size_t k = 0; k < snaps.size(); ++k)
    fmt::format_to(
        out, "set title {}\nsplot $g{} using 1:2:3 with lines\n",
        io::gnuplot_string(fmt::format("{} generation {}", snaps[k].run, snaps[k].generation)), k);
  s += "unset multiplot\n";
  io::png_canvas canvas;
  canvas.width = static_cast<unsigned>(per_run * 260);
  canvas.height = static_cast<unsigned>(runs.size() * 280);
  canvas.font = ",9";
  return io::render_png(s, png, canvas, keep_script);
}

/// A grey-scale 8-bit PNG of `width` x `height` pixels (row-major, 0 black, 255 white), encoded
/// with zlib and written atomically. Throws io_error naming the file.
inline void write_gray_png(const std::filesystem::path& path, const std::vector<std::uint8_t>& px,
                           std::size_t width, std::size_t height) {
  if (px.size() != width * height || width == 0 || height == 0 || width > (1u << 24) ||
      height > (1u << 24))
    throw io_error(fmt::format("{}: cannot encode an image of {} x {} pixels from {} values",
                               path.string(), width, height, px.size()));
  std::string raw;
  raw.reserve((width + 1) * height);
  for (std::size_t y = 0; y < height; ++y) {
    raw += '\0';  // filter type 0: none
    raw.append(reinterpret_cast<const char*>(px.data() + y * width), width);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK)
    throw io_error(fmt::format("{}: PNG encoding failed", path.string()));
  packed.resize(packed_size);
  std::string png = "\x89PNG\r\n\x1a\n";
  auto be32 = [](std::string& o, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) o += static_cast<char>((v >> s) & 0xff);
  };
  auto chunk = [&](const char* type, const std::string& data) {
    be32(png, static_cast<std::uint32_t>(data.size()));
    const std::string body = std::string(type, 4) + data;
    png += body;
    be32(png, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                               static_cast<uInt>(body.size()))));
  };
  std::string ihdr;
  be32(ihdr, static_cast<std::uint32_t>(width));
  be32(ihdr, static_cast<std::uint32_t>(height));
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8 bits, grey, deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  chunk("IDAT", packed);
  chunk("IEND", "");
  io::write_file_atomic(path, png);
}

/// One row of an image grid: a label, a generation and the images (one per row of `images`,
/// values in [0, 1]).
struct image_row {
  std::string run;
  std::size_t generation = 0;
  xt::xtensor<float, 2> images;
};

/// A grey-scale PNG with one row of images per entry of `rows` (each image `height` x `width`
/// pixels, as many per row as the first row has), 2-pixel gaps, written atomically: the generated
/// digits of a VAE, generation after generation. Throws io_error for a figure larger than 65536
/// pixels on a side.
inline void write_image_grid_png(const std::filesystem::path& path,
                                 const std::vector<image_row>& rows, std::size_t height,
                                 std::size_t width) {
  if (rows.empty()) return;
  const std::size_t per_row = rows[0].images.shape()[0], gap = 2;
  const std::size_t W = per_row * (width + gap) + gap, H = rows.size() * (height + gap) + gap;
  if (W > (1u << 16) || H > (1u << 16))
    throw io_error(fmt::format(
        "{}: a figure of {} x {} pixels is too large to draw; the data files are complete",
        path.string(), W, H));
  for (const auto& row : rows)
    if (row.images.dimension() != 2 || row.images.shape()[1] < height * width)
      throw io_error(fmt::format("{}: the images of run '{}' generation {} are not {} x {} pixels",
                                 path.string(), row.run, row.generation, height, width));
  std::vector<std::uint8_t> img(W * H, 40);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t d = 0; d < std::min(per_row, rows[r].images.shape()[0]); ++d)
      for (std::size_t y = 0; y < height; ++y)
        for (std::size_t x = 0; x < width; ++x) {
          const float v = rows[r].images(d, y * width + x);
          img[(gap + r * (height + gap) + y) * W + gap + d * (width + gap) + x] =
              static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255));
        }
  write_gray_png(path, img, W, H);
}

}  // namespace ouro::inline v0::models
