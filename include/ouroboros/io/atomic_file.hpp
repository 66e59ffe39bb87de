// Durable, atomic file writes: the content goes to a temporary file in the same folder, is flushed
// to the disk (fsync), and the file is renamed over the target, whose folder is then synced too.
// A crash at any moment leaves either the old complete file or the new complete file.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ouroboros/errors.hpp"

namespace ouro::io {

/// Renames a finished temporary file over `path` durably: the file's content is flushed to the
/// disk first (unless `synced` says it is), then the rename, then the folder. Throws io_error.
inline void durable_rename(const std::filesystem::path& tmp, const std::filesystem::path& path,
                           bool synced = false) {
  if (!synced) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) ::close(fd);
      throw io_error(fmt::format("cannot flush '{}' to disk: {}", tmp.string(), why));
    }
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw io_error(
        fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message()));
  // the rename itself is durable once the folder is synced
  auto dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// Writes `content` to `path` atomically and durably (see the file comment). Throws io_error
/// naming the file and the system's reason.
inline void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  const std::string tmp = path.string() + ".tmp";
  const auto fail = [&](const char* what) {
    const std::string why = std::strerror(errno);
    throw io_error(fmt::format("cannot {} '{}': {}", what, tmp, why));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open for writing");
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      fail("write (disk full?)");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail("flush to disk");
  }
  if (::close(fd) != 0) fail("close");
  durable_rename(tmp, path, /*synced=*/true);
}

/// An exclusive advisory lock (flock) on a file, held while the object lives: one writer at a
/// time for a file that several processes could be told to write (a checkpoint). The lock file
/// stays on the disk (removing it could let two processes lock different files of one name).
class file_lock {
 public:
  file_lock() = default;
  /// Locks `path` (created if missing) without waiting. Throws io_error if it cannot be opened,
  /// or if another process holds it, with `busy` as the message.
  file_lock(const std::filesystem::path& path, const std::string& busy) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw io_error(
          fmt::format("cannot open the lock file '{}': {}", path.string(), std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK) throw io_error(busy);
      throw io_error(fmt::format("cannot lock '{}': {}", path.string(), std::strerror(err)));
    }
  }
  file_lock(file_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  file_lock& operator=(file_lock&& o) noexcept {
    if (this != &o) {
      release();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  ~file_lock() { release(); }

 private:
  void release() noexcept {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
    fd_ = -1;
  }
  int fd_ = -1;
};

}  // namespace ouro::io
