// item_journal: the checkpoint of a sweep, as an append-only file of finished work items, so that a
// killed job resumes with the missing items only. Saving appends the items finished since the last
// save and flushes them to the disk (fdatasync): its cost is that of the new items, not of all the
// items so far. A crash at any moment leaves a file whose complete records are all valid; a
// record cut short (or damaged) ends what a resume reads, and the file is cut back there.
//
// The file: the tag "ouroboros-item-journal-1", the fingerprint (what the items depend on: a
// resume with another one is refused with config_error) and an FNV-1a checksum of both; then one
// record per item: its index, its length, its bytes and a checksum of the three. It is created at
// the first save (atomically, never through a link: io::temp_file) and then appended to through a
// descriptor opened without following links. `<path>.lock` is locked (flock) while the journal
// lives: one job at a time per file.
//
//   ouro::io::item_journal j(out / "sweep.ckpt", fingerprint, /*resume=*/true);
//   for (const auto& [item, bytes] : j.loaded()) known[item] = bytes;
//   j.add(item, bytes);   // as results arrive
//   j.save();             // from time to time, and at the end
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ouroboros/core/errors.hpp"
#include "ouroboros/io/atomic_file.hpp"
#include "ouroboros/io/read_file.hpp"

namespace ouro::inline v0::io {

class item_journal {
 public:
  /// Opens the journal at `path`. With `resume`, an existing file is read: its fingerprint must be
  /// `fingerprint` (config_error otherwise), a damaged header is a data_error, and the records up
  /// to the first incomplete or damaged one are loaded (the file is cut back after them). Without
  /// `resume`, an existing file is removed. Throws io_error when another journal holds the path.
  item_journal(std::filesystem::path path, std::string fingerprint, bool resume)
      : path_(std::move(path)),
        lock_(path_.string() + ".lock",
              fmt::format("the checkpoint '{}' is in use by another run (it holds '{}.lock'): let "
                          "that run finish or stop it, or give this one another output folder",
                          path_.string(), path_.string())),
        fingerprint_(std::move(fingerprint)) {
    struct stat st {};
    const bool exists = ::lstat(path_.c_str(), &st) == 0;
    if (exists && resume) {
      load();
    } else if (exists && ::unlink(path_.c_str()) != 0) {
      throw io_error(fmt::format("cannot remove the old checkpoint '{}': {}", path_.string(),
                                 std::strerror(errno)));
    }
  }
  ~item_journal() {
    if (fd_ >= 0) ::close(fd_);
  }
  item_journal(const item_journal&) = delete;
  item_journal& operator=(const item_journal&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /// The items a resumed journal holds, by index.
  const std::map<std::uint64_t, std::string>& loaded() const noexcept { return loaded_; }
  /// Records an item's bytes, to be written by the next save().
  void add(std::uint64_t item, std::string_view bytes) {
    put(pending_, item);
    put(pending_, bytes.size());
    pending_.append(bytes);
    put(pending_, record_checksum(item, bytes));
  }
  /// Whether items were added since the last save.
  bool dirty() const noexcept { return !pending_.empty(); }
  /// Appends the items added since the last save and flushes them to the disk. Throws io_error
  /// (a full disk, for instance); the file then holds the items of the previous saves only, and a
  /// later save tries again.
  void save() {
    if (broken_)
      throw io_error(
          fmt::format("'{}' could not be cut back after a failed write; the items "
                      "saved before stay valid for a resume",
                      path_.string()));
    if (pending_.empty()) return;
    if (fd_ < 0 && !created_) {
      temp_file t(path_);
      t.write(header());
      t.write(pending_);
      t.commit();
      created_ = true;
      fd_ = open_regular_nofollow(path_, O_WRONLY | O_APPEND);
      if (fd_ < 0)
        throw io_error(fmt::format("cannot reopen '{}': {}", path_.string(), std::strerror(errno)));
      size_ = header().size() + pending_.size();
      pending_.clear();
      return;
    }
    std::size_t done = 0;
    while (done < pending_.size()) {
      const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(n == 0 ? ENOSPC : errno);
      done += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd_) != 0) return fail(errno);
    size_ += pending_.size();
    pending_.clear();
  }

 private:
  static constexpr std::string_view tag_ = "ouroboros-item-journal-1";

  static std::uint64_t fnv(std::string_view b, std::uint64_t h = 0xcbf29ce484222325ULL) {
    for (unsigned char c : b) h = (h ^ c) * 0x100000001b3ULL;
    return h;
  }
  static void put(std::string& s, std::uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    s.append(b, 8);
  }
  static std::uint64_t get(std::string_view s, std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
    return v;
  }
  static std::uint64_t record_checksum(std::uint64_t item, std::string_view bytes) {
    std::string head;
    put(head, item);
    put(head, bytes.size());
    return fnv(bytes, fnv(head));
  }
  std::string header() const {
    std::string h(tag_);
    put(h, fingerprint_.size());
    h += fingerprint_;
    put(h, fnv(h));
    return h;
  }

  [[noreturn]] void fail(int err) {
    // cut the file back to its last complete save, so that the next save appends cleanly; if
    // even that fails, no later save may append after the torn record
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) broken_ = true;
    throw io_error(fmt::format(
        "cannot write '{}': {}", path_.string(),
        err == ENOSPC ? "no space left on the device (disk full)" : std::strerror(err)));
  }

  void load() {
    const std::string name = path_.string();
    const std::string b = read_file(name, std::uint64_t{1} << 40);
    const auto damaged = [&](const char* what) {
      return data_error(
          fmt::format("{}: {}: the checkpoint is damaged; start the run again "
                      "without --resume",
                      name, what));
    };
    if (b.size() < tag_.size() + 16 || std::string_view(b).substr(0, tag_.size()) != tag_)
      throw damaged("not a sweep checkpoint (its header is missing)");
    const std::uint64_t flen = get(b, tag_.size());
    if (flen > b.size() - tag_.size() - 16) throw damaged("its header is cut short");
    const std::size_t hlen = tag_.size() + 8 + static_cast<std::size_t>(flen);
    if (get(b, hlen) != fnv(std::string_view(b).substr(0, hlen)))
      throw damaged("the header's checksum does not match");
    const std::string fp = b.substr(tag_.size() + 8, static_cast<std::size_t>(flen));
    if (fp != fingerprint_)
      throw config_error(fmt::format(
          "{} was written by a run with another configuration; resume with the same one, or "
          "start again without --resume",
          name));
    std::size_t at = hlen + 8;
    while (b.size() - at >= 24) {
      const std::uint64_t item = get(b, at), len = get(b, at + 8);
      if (len > b.size() - at - 24) break;  // cut short
      const std::string_view bytes = std::string_view(b).substr(at + 16, len);
      if (get(b, at + 16 + len) != record_checksum(item, bytes)) break;  // damaged
      loaded_[item] = std::string(bytes);
      at += 24 + len;
    }
    fd_ = open_regular_nofollow(path_, O_WRONLY | O_APPEND);
    if (fd_ < 0 || ::ftruncate(fd_, static_cast<off_t>(at)) != 0)
      throw io_error(fmt::format("cannot reopen '{}' to resume: {}", name, std::strerror(errno)));
    created_ = true;
    size_ = at;
  }

  std::filesystem::path path_;
  file_lock lock_;
  std::string fingerprint_;
  std::map<std::uint64_t, std::string> loaded_;
  std::string pending_;
  int fd_ = -1;
  bool created_ = false, broken_ = false;
  std::size_t size_ = 0;
};

}  // namespace ouro::inline v0::io
