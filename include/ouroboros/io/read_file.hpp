// Reading a whole input file safely: the file must be a regular file (a folder, a FIFO or a device
// given where a file belongs is refused with a sentence, never read), its size is checked against
// a limit before anything is allocated, and every failure is an ouro::data_error naming the path.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"

namespace ouro::inline v0::io {

/// Throws data_error naming `path` unless it is a regular file that exists (a folder, a FIFO or a
/// device is refused with a sentence). For readers that stream the file themselves.
inline void check_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw data_error(fmt::format("{}: cannot open the file ({})", path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    throw data_error(
        fmt::format("{}: cannot open the file: it is a folder; give the path of a file", path));
  if (!S_ISREG(st.st_mode))
    throw data_error(fmt::format("{}: cannot open the file: it is not a regular file", path));
}

/// The whole content of the regular file `path`, at most `max_bytes` long. Throws data_error
/// naming the file when it cannot be opened (with the system's reason), is a folder or another
/// kind of file that is not a regular file, is larger than `max_bytes`, or cannot be read.
inline std::string read_file(const std::string& path,
                             std::uint64_t max_bytes = std::uint64_t{1} << 32) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw data_error(fmt::format("{}: cannot open the file ({})", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    ::close(fd);
    throw data_error(
        fmt::format("{}: cannot open the file: {}", path,
                    dir ? "it is a folder; give the path of a file" : "it is not a regular file"));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    throw data_error(fmt::format("{}: {} bytes, more than the {} allowed", path, size, max_bytes));
  }
  std::string content;
  content.resize(static_cast<std::size_t>(size));
  std::size_t done = 0;
  for (;;) {
    if (done == content.size()) {
      if (content.size() >= max_bytes) break;
      content.resize(content.size() + 4096);  // the file grew while it was read
    }
    const ssize_t n = ::read(fd, content.data() + done, content.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw data_error(fmt::format("{}: read error ({})", path, std::strerror(e)));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  content.resize(done);
  return content;
}

}  // namespace ouro::inline v0::io
