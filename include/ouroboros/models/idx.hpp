// IDX files (the format of the MNIST distribution): a reader for unsigned-byte arrays, plain or
// gzip-compressed (when the program is built with zlib: the CMake target defines
// OUROBOROS_WITH_ZLIB and links it where zlib is found), and MNIST loading with the fixed
// train/test split of the examples. See docs/vae.md#data.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xtensor.hpp>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/io/read_file.hpp"

#ifdef OUROBOROS_WITH_ZLIB
#include <zlib.h>
#endif

namespace ouro::inline v0::io {

/// An IDX array of unsigned bytes: its dimensions and its values, row-major.
struct idx_array {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;
};

namespace detail {
/// The number of bytes an IDX file of unsigned bytes declares (header and data), from its first
/// bytes; 0 while fewer bytes than the header are known or when the header is not one (the parser
/// then says what is wrong); more than max_bytes (max_bytes + 1) when the declared size is
/// larger than that.
inline std::size_t declared_size(const std::uint8_t* b, std::size_t n, std::size_t max_bytes) {
  if (n < 4 || b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] == 0 || b[3] > 8) return 0;
  const std::size_t nd = b[3], header = 4 + 4 * nd;
  if (n < header) return 0;
  std::size_t count = 1;
  for (std::size_t i = 0; i < nd; ++i) {
    const std::uint8_t* o = b + 4 + 4 * i;
    const std::size_t d =
        (std::size_t{o[0]} << 24) | (std::size_t{o[1]} << 16) | (std::size_t{o[2]} << 8) | o[3];
    if (d != 0 && count > max_bytes / d) return max_bytes + 1;
    count *= d;
  }
  return count > max_bytes - header ? max_bytes + 1 : header + count;
}

/// The bytes, decompressed when they are gzip. The decompression goes in bounded steps: as soon
/// as the IDX header is out, a declared size above max_bytes is refused, and the output never
/// grows past the declared size (plus one byte, to see trailing bytes) or past what the data
/// really decompress to, so a small file cannot make it allocate much.
inline std::vector<std::uint8_t> maybe_gunzip(std::vector<std::uint8_t> raw,
                                              const std::string& path, std::size_t max_bytes) {
  if (raw.size() < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
#ifdef OUROBOROS_WITH_ZLIB
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK)
    throw data_error(fmt::format("{}: cannot start gzip decompression", path));
  struct end_guard {
    z_stream* z;
    ~end_guard() { inflateEnd(z); }
  } guard{&zs};
  std::vector<std::uint8_t> out(std::size_t{1} << 12);
  std::size_t limit = max_bytes, declared = 0;
  zs.next_in = raw.data();
  int rc = Z_OK;
  std::size_t fed = 0;
  while (rc != Z_STREAM_END) {
    if (declared == 0 && zs.total_out >= 4) {
      declared = declared_size(out.data(), zs.total_out, max_bytes);
      if (declared > max_bytes)
        throw data_error(fmt::format("{}: the IDX header declares more than the {} bytes allowed",
                                     path, max_bytes));
      if (declared > 0) limit = std::min(max_bytes, declared + 1);
      const bool bad_header =
          out[0] != 0 || out[1] != 0 || out[2] != 0x08 || out[3] == 0 || out[3] > 8;
      if (bad_header) break;  // the parser says what is wrong with it
    }
    if (zs.total_out == out.size()) {
      if (out.size() >= limit) {
        if (declared > 0) break;  // trailing bytes: the parser reports the sizes
        throw data_error(fmt::format("{}: decompresses to more than {} bytes", path, max_bytes));
      }
      out.resize(std::min(out.size() * 2, limit));
    }
    // feed the input in chunks: zlib counts in 32-bit sizes
    if (zs.avail_in == 0 && fed < raw.size()) {
      const std::size_t chunk = std::min<std::size_t>(raw.size() - fed, 1u << 30);
      zs.next_in = raw.data() + fed;
      zs.avail_in = static_cast<uInt>(chunk);
      fed += chunk;
    }
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - zs.total_out, 1u << 30));
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      throw data_error(fmt::format("{}: corrupt or truncated gzip data (at compressed byte {})",
                                   path, zs.total_in));
    if (rc != Z_STREAM_END && zs.avail_in == 0 && fed == raw.size() && zs.avail_out > 0)
      throw data_error(fmt::format("{}: truncated gzip data", path));
  }
  out.resize(zs.total_out);
  return out;
#else
  (void)max_bytes;
  throw data_error(fmt::format(
      "{}: the file is gzip-compressed and this program was built without zlib; decompress it "
      "(gunzip) or build with zlib",
      path));
#endif
}
}  // namespace detail

/// Parses IDX bytes held in memory (plain or gzip; named `path` in messages), as read_idx does.
inline idx_array parse_idx(std::vector<std::uint8_t> bytes, const std::string& path,
                           std::size_t max_bytes = std::size_t{1} << 32) {
  const auto raw = detail::maybe_gunzip(std::move(bytes), path, max_bytes);
  if (raw.size() < 4)
    throw data_error(fmt::format("{}: {} bytes, too short for an IDX header", path, raw.size()));
  if (raw[0] != 0 || raw[1] != 0)
    throw data_error(fmt::format(
        "{}: not an IDX file (magic number {:02x}{:02x}{:02x}{:02x}, expected 0000TTDD)", path,
        raw[0], raw[1], raw[2], raw[3]));
  if (raw[2] != 0x08)
    throw data_error(fmt::format(
        "{}: IDX element type 0x{:02x}; only unsigned bytes (0x08) are supported", path, raw[2]));
  const std::size_t nd = raw[3];
  if (nd == 0 || nd > 8)
    throw data_error(fmt::format("{}: IDX header gives {} dimensions (1 to 8 expected)", path, nd));
  const std::size_t header = 4 + 4 * nd;
  if (raw.size() < header)
    throw data_error(
        fmt::format("{}: truncated IDX header ({} of {} bytes)", path, raw.size(), header));
  idx_array a;
  std::size_t count = 1;
  for (std::size_t i = 0; i < nd; ++i) {
    const std::size_t o = 4 + 4 * i;
    const std::size_t d = (std::size_t{raw[o]} << 24) | (std::size_t{raw[o + 1]} << 16) |
                          (std::size_t{raw[o + 2]} << 8) | raw[o + 3];
    a.dims.push_back(d);
    if (d != 0 && count > max_bytes / d)
      throw data_error(fmt::format("{}: IDX dimensions too large", path));
    count *= d;
  }
  const std::size_t have = raw.size() - header;
  if (have != count) {
    std::string shape;
    for (std::size_t i = 0; i < nd; ++i) shape += (i ? " x " : "") + std::to_string(a.dims[i]);
    throw data_error(
        fmt::format("{}: the header's dimensions {} need {} bytes of data, the file holds {} ({})",
                    path, shape, count, have, have < count ? "truncated" : "trailing bytes"));
  }
  a.data.assign(raw.begin() + static_cast<std::ptrdiff_t>(header), raw.end());
  return a;
}

/// Reads an IDX file of unsigned bytes (type 0x08), plain or gzip-compressed. Throws data_error
/// naming the file for a missing or unreadable file, a wrong magic number, another element type,
/// zero or too many dimensions, and a size that does not match the dimensions (a truncated file
/// or trailing bytes). Files larger than max_bytes (default 4 GiB) are refused.
inline idx_array read_idx(const std::string& path, std::size_t max_bytes = std::size_t{1} << 32) {
  const std::string bytes = read_file(path, max_bytes);
  return parse_idx(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), path, max_bytes);
}

/// Images (n x rows*cols, pixel values / 255) and their labels.
struct image_set {
  xt::xtensor<float, 2> images;
  std::vector<std::uint8_t> labels;
  std::size_t rows = 0, cols = 0;
  std::size_t size() const { return labels.size(); }
};

/// Reads an IDX image file (n x rows x cols) and its IDX label file (n), checking that they
/// match, that there is at least one image and that every label is 0..9.
inline image_set read_mnist(const std::string& images_path, const std::string& labels_path) {
  const auto im = read_idx(images_path);
  const auto lb = read_idx(labels_path);
  if (im.dims.size() != 3)
    throw data_error(fmt::format("{}: an image file has 3 dimensions (n x rows x cols), not {}",
                                 images_path, im.dims.size()));
  if (lb.dims.size() != 1)
    throw data_error(
        fmt::format("{}: a label file has 1 dimension, not {}", labels_path, lb.dims.size()));
  if (lb.dims[0] != im.dims[0])
    throw data_error(fmt::format("{} holds {} images but {} holds {} labels", images_path,
                                 im.dims[0], labels_path, lb.dims[0]));
  if (im.dims[0] == 0) throw data_error(fmt::format("{}: the file holds no images", images_path));
  image_set s;
  s.rows = im.dims[1];
  s.cols = im.dims[2];
  const std::size_t n = im.dims[0], p = s.rows * s.cols;
  s.images = xt::xtensor<float, 2>::from_shape({n, p});
  for (std::size_t i = 0; i < n * p; ++i)
    s.images.data()[i] = static_cast<float>(im.data[i]) / 255.0f;
  s.labels = lb.data;
  for (std::size_t i = 0; i < n; ++i)
    if (s.labels[i] > 9)
      throw data_error(
          fmt::format("{}: label {} of item {} is not a digit", labels_path, s.labels[i], i));
  return s;
}

/// The examples' fixed split: in each class, the last 10% of its images in file order (rounded
/// down) are test, the rest train. Returns {train, test}, each in file order.
inline std::pair<image_set, image_set> split_by_class(const image_set& s) {
  std::vector<std::size_t> per(10, 0), seen(10, 0);
  for (auto l : s.labels) ++per[l];
  std::vector<std::size_t> tr, te;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto l = s.labels[i];
    (seen[l]++ < per[l] - per[l] / 10 ? tr : te).push_back(i);
  }
  const auto take = [&](const std::vector<std::size_t>& idx) {
    image_set o;
    o.rows = s.rows;
    o.cols = s.cols;
    const std::size_t p = s.images.shape()[1];
    o.images = xt::xtensor<float, 2>::from_shape({idx.size(), p});
    for (std::size_t r = 0; r < idx.size(); ++r) {
      std::copy_n(s.images.data() + idx[r] * p, p, o.images.data() + r * p);
      o.labels.push_back(s.labels[idx[r]]);
    }
    return o;
  };
  return {take(tr), take(te)};
}

}  // namespace ouro::inline v0::io
