// Durable, atomic file writes that never follow a link. The content goes to a temporary file
// created new and exclusive in the destination folder (`<name>.tmp.XXXXXX`, as mkstemp makes
// them: O_CREAT|O_EXCL, so a link or a file planted at that name is never opened), is flushed to
// the disk (fsync), and is renamed over the destination: the rename replaces whatever stands at
// the destination name (a link included) instead of writing through it, and the folder is then
// synced too. A crash at any moment leaves either the old complete file or the new complete file
// (and perhaps a stray `<name>.tmp.XXXXXX`); a failed write removes its temporary file.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"

namespace ouro::inline v0::io {

/// The suffix of the temporary files that write_file_atomic and temp_file create:
/// `<name>.tmp.XXXXXX`, six random characters.
inline constexpr std::string_view temp_suffix = ".tmp.";

/// Whether a file name is one of the temporary names of temp_file (`<name>.tmp.XXXXXX`).
inline bool is_temp_name(std::string_view name) {
  if (name.size() < temp_suffix.size() + 7) return false;
  for (char c : name.substr(name.size() - 6))  // mkstemp's six characters
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return name.substr(name.size() - 6 - temp_suffix.size(), temp_suffix.size()) == temp_suffix;
}

/// Syncs a folder, so that a rename or a new name in it is durable. Best effort.
inline void sync_folder(const std::filesystem::path& dir) noexcept {
  const std::string d = dir.empty() ? std::string(".") : dir.string();
  const int dfd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

/// A temporary file for an atomic write, created new and exclusive (never through a link) next
/// to its destination. Write into it, then commit() renames it over the destination; destroyed
/// without commit(), it removes itself. Throws io_error naming the file.
class temp_file {
 public:
  explicit temp_file(std::filesystem::path destination) : dest_(std::move(destination)) {
    std::string templ = dest_.string();
    templ += temp_suffix;
    templ += "XXXXXX";
    fd_ = ::mkostemp(templ.data(), O_CLOEXEC);
    if (fd_ < 0)
      throw io_error(fmt::format("cannot create a temporary file for '{}': {}", dest_.string(),
                                 std::strerror(errno)));
    name_ = std::move(templ);
    ::fchmod(fd_, 0644);  // mkstemp makes it 0600; results are meant to be read
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() { discard(); }

  /// The temporary file's name.
  const std::string& name() const noexcept { return name_; }
  /// The open descriptor (-1 after commit or discard).
  int fd() const noexcept { return fd_; }

  /// Appends bytes. Throws io_error (the disk is full, for instance); the file is then removed.
  void write(std::string_view content) {
    std::size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(fd_, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("write", n == 0 ? ENOSPC : errno);
      done += static_cast<std::size_t>(n);
    }
  }

  /// Flushes the file to the disk and renames it over the destination (replacing whatever
  /// stands there, a link included; a folder there is an error). Throws io_error; the temporary
  /// file is removed then and the destination is left as it was.
  void commit() {
    if (::fsync(fd_) != 0) fail("flush to disk", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close", errno);
    if (::rename(name_.c_str(), dest_.c_str()) != 0) {
      const int e = errno;
      ::unlink(name_.c_str());
      name_.clear();
      std::string why = std::strerror(e);
      if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
        why = "a folder stands where the file belongs";
      throw io_error(fmt::format("cannot write '{}': {}", dest_.string(), why));
    }
    name_.clear();
    sync_folder(dest_.parent_path());
  }

  /// Removes the temporary file (no-op after commit).
  void discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!name_.empty()) ::unlink(name_.c_str());
    name_.clear();
  }

 private:
  [[noreturn]] void fail(const char* what, int err) {
    const std::string n = name_;
    discard();
    throw io_error(fmt::format(
        "cannot {} '{}' (writing '{}'): {}", what, n, dest_.string(),
        err == ENOSPC ? "no space left on the device (disk full)" : std::strerror(err)));
  }
  std::filesystem::path dest_;
  std::string name_;
  int fd_ = -1;
};

/// Renames a finished file over `path` durably: the file's content is flushed to the disk first
/// (unless `synced` says it is), then the rename (which replaces a link at `path`, never writing
/// through it), then the folder. Throws io_error.
inline void durable_rename(const std::filesystem::path& tmp, const std::filesystem::path& path,
                           bool synced = false) {
  if (!synced) {
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) ::close(fd);
      throw io_error(fmt::format("cannot flush '{}' to disk: {}", tmp.string(), why));
    }
    ::close(fd);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw io_error(fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), path.string(),
                               std::strerror(errno)));
  sync_folder(path.parent_path());
}

/// Writes `content` to `path` atomically and durably, never through a link (see the file
/// comment). Throws io_error naming the file and the system's reason; on failure the previous
/// file at `path`, if any, is left as it was and no temporary file remains.
inline void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  temp_file t(path);
  t.write(content);
  t.commit();
}

/// Opens a regular file without following a symbolic link, and refuses one with other names (a
/// hard link planted there would make a write reach another file); -1 with errno set otherwise
/// (ELOOP for a symbolic link, EMLINK for a file with several names, EISDIR/EINVAL for a folder or
/// another kind of file).
inline int open_regular_nofollow(const std::filesystem::path& path, int flags) noexcept {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
    ::close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : S_ISREG(st.st_mode) ? EMLINK : EINVAL;
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/// An exclusive advisory lock (flock) on a file, held while the object lives: one writer at a
/// time for a folder or a file that several processes could be told to write. The lock file is
/// opened without following a link and must be a regular file. It stays on the disk after the
/// lock is released (removing it could let two processes lock two different files of one name);
/// it is empty and harmless.
class file_lock {
 public:
  file_lock() = default;
  /// Locks `path` (created if missing) without waiting. Throws io_error if it cannot be opened
  /// (a link or a folder at that name included), or if another process holds it, with `busy` as
  /// the message.
  file_lock(const std::filesystem::path& path, const std::string& busy) {
    fd_ = open_regular_nofollow(path, O_RDWR | O_CREAT);
    if (fd_ < 0) {
      const int e = errno;
      throw io_error(fmt::format("cannot open the lock file '{}': {}", path.string(),
                                 e == ELOOP    ? "it is a symbolic link (refused)"
                                 : e == EISDIR ? "a folder stands there"
                                 : e == EINVAL ? "it is not a regular file"
                                               : std::strerror(e)));
    }
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

  bool held() const noexcept { return fd_ >= 0; }

 private:
  void release() noexcept {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
    fd_ = -1;
  }
  int fd_ = -1;
};

/// The lock of an output folder: `<dir>/.ouroboros.lock`, held while the object lives, so that
/// one program at a time writes into a folder. A second one gets io_error with a sentence naming
/// the folder.
inline file_lock lock_folder(const std::filesystem::path& dir) {
  return file_lock(dir / ".ouroboros.lock",
                   fmt::format("the output folder '{}' is in use by another run (it holds "
                               "'{}/.ouroboros.lock'): let that run finish or stop it, or give "
                               "this one another output folder",
                               dir.string(), dir.string()));
}

/// Removes the stray temporary files and folders (`<name>.tmp.XXXXXX`) that a killed run left in
/// `dir`. Call it only while holding the folder's lock. Links are removed, never followed.
inline void remove_stray_temporaries(const std::filesystem::path& dir) noexcept {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    std::error_code sec;
    if (!is_temp_name(name)) continue;
    // a temporary file of write_file_atomic, or a figure's staging folder (plot.tmp.XXXXXX):
    // nothing else of the folder is touched, and links are removed, never followed
    const auto st = it->symlink_status(sec);
    if (sec) continue;
    if (std::filesystem::is_directory(st)) {
      if (name.rfind("plot", 0) == 0 && name.size() == 4 + temp_suffix.size() + 6)
        std::filesystem::remove_all(it->path(), sec);
    } else {
      std::filesystem::remove(it->path(), sec);
    }
  }
}

}  // namespace ouro::inline v0::io
