// Tokenised text for the n-gram language model: a reader for plain text (one sentence per line,
// tokens separated by spaces), a vocabulary with a minimum count, and a corpus of word ids that is
// a Dataset (one sample per sentence). See docs/ngram.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "ouroboros/core/checkpoint.hpp"
#include "ouroboros/core/concepts/dataset.hpp"
#include "ouroboros/core/errors.hpp"
#include "ouroboros/io/read_file.hpp"

namespace ouro::inline v0::text {

using word_id = std::uint32_t;

/// Sentences of word ids, stored flat: sentence i is tokens[starts[i], starts[i + 1]). Sentence
/// markers are not stored; the model adds them.
struct corpus {
  std::vector<word_id> tokens;
  std::vector<std::size_t> starts{0};

  std::size_t sentences() const noexcept { return starts.size() - 1; }
  std::size_t token_count() const noexcept { return tokens.size(); }
  std::span<const word_id> sentence(std::size_t i) const noexcept {
    return {tokens.data() + starts[i], starts[i + 1] - starts[i]};
  }
  void add_sentence(std::span<const word_id> s) {
    tokens.insert(tokens.end(), s.begin(), s.end());
    starts.push_back(tokens.size());
  }
  void append(const corpus& other) {
    for (std::size_t i = 0; i < other.sentences(); ++i) add_sentence(other.sentence(i));
  }
};

/// Sentences of strings, as read from a file.
using sentences = std::vector<std::vector<std::string>>;

namespace detail {
/// Byte offset of the first invalid UTF-8 sequence in s, or npos.
inline std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    const unsigned c = byte(i);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
    if (len == 0 || i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k)
      if ((byte(i + k) >> 6) != 2) return i;
    if (len == 2 && c < 0xC2) return i;                          // overlong
    if (len == 3 && c == 0xE0 && byte(i + 1) < 0xA0) return i;   // overlong
    if (len == 3 && c == 0xED && byte(i + 1) >= 0xA0) return i;  // surrogate
    if (len == 4 &&
        (c > 0xF4 || (c == 0xF0 && byte(i + 1) < 0x90) || (c == 0xF4 && byte(i + 1) >= 0x90)))
      return i;  // overlong or beyond U+10FFFF
    i += len;
  }
  return std::string_view::npos;
}
}  // namespace detail

/// Parses text held in memory (named `name` in messages) as read_sentences does a file.
inline sentences parse_sentences(std::string_view content, const std::string& name) {
  sentences out;
  std::size_t lineno = 0, offset = 0;
  while (offset < content.size()) {
    ++lineno;
    std::size_t end = content.find('\n', offset);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(offset, end - offset);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const auto bad = detail::invalid_utf8_at(line); bad != std::string_view::npos)
      throw data_error(fmt::format("{}:{}: invalid UTF-8 at byte offset {} of the file", name,
                                   lineno, offset + bad));
    if (line.find('\0') != std::string_view::npos)
      throw data_error(fmt::format("{}:{}: NUL byte in a text file", name, lineno));
    std::vector<std::string> toks;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      if (j > i) toks.emplace_back(line.substr(i, j - i));
      i = j;
    }
    if (!toks.empty()) out.push_back(std::move(toks));
    offset = end + 1;
  }
  if (out.empty())
    throw data_error(
        fmt::format("{}: no tokens (the file is empty or blank); expected one "
                    "sentence per line, tokens separated by spaces",
                    name));
  return out;
}

/// Reads a text file: every line with at least one token is a sentence; tokens are separated by
/// spaces or tabs; blank lines are skipped. Throws data_error naming the file (and line and byte
/// offset) when the file cannot be opened, is not valid UTF-8, contains a NUL byte or holds no
/// token at all.
inline sentences read_sentences(const std::string& path) {
  return parse_sentences(io::read_file(path), path);
}

/// Words and their ids. Ids 0, 1 and 2 are `<s>` (sentence start: context only, never
/// predicted), `</s>` (sentence end: predicted and counted) and `<unk>` (every word not in the
/// vocabulary).
class vocabulary {
 public:
  static constexpr word_id bos = 0, eos = 1, unk = 2;

  vocabulary() : words_{"<s>", "</s>", "<unk>"} {
    for (word_id i = 0; i < words_.size(); ++i) index_.emplace(words_[i], i);
  }

  /// The words seen at least min_count times in `text` (in order of first appearance), plus the
  /// three markers.
  static vocabulary build(const sentences& text, std::size_t min_count) {
    std::unordered_map<std::string_view, std::size_t> count;
    std::vector<std::string_view> order;
    for (const auto& s : text)
      for (const auto& w : s)
        if (count[w]++ == 0) order.push_back(w);
    vocabulary v;
    for (auto w : order)
      if (count[w] >= min_count && !v.index_.contains(std::string(w))) v.add(std::string(w));
    return v;
  }

  std::size_t size() const noexcept { return words_.size(); }
  const std::string& word(word_id id) const { return words_.at(id); }
  /// The id of w, or unk. The marker strings "<s>" and "</s>" in a text are unknown words too:
  /// the markers themselves are never part of a sentence.
  word_id id(const std::string& w) const {
    const auto it = index_.find(w);
    return it == index_.end() || it->second < unk ? unk : it->second;
  }
  bool contains(const std::string& w) const { return index_.contains(w); }

  /// The text as word ids (unknown words become unk). With `oov`, also counts the tokens that
  /// were not in the vocabulary.
  corpus encode(const sentences& text, std::size_t* oov = nullptr) const {
    corpus c;
    std::vector<word_id> ids;
    std::size_t unknown = 0;
    for (const auto& s : text) {
      ids.clear();
      for (const auto& w : s) {
        const word_id i = id(w);
        unknown += i == unk && w != "<unk>";  // "<s>" and "</s>" count as out of vocabulary
        ids.push_back(i);
      }
      c.add_sentence(ids);
    }
    if (oov) *oov = unknown;
    return c;
  }

  /// The words of a sentence joined by spaces.
  std::string decode(std::span<const word_id> s) const {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i) out += ' ';
      out += word(s[i]);
    }
    return out;
  }

 private:
  void add(std::string w) {
    index_.emplace(w, static_cast<word_id>(words_.size()));
    words_.push_back(std::move(w));
  }
  std::vector<std::string> words_;
  std::unordered_map<std::string, word_id> index_;
};

}  // namespace ouro::inline v0::text

namespace ouro::inline v0 {
/// A corpus is a dataset of sentences.
template <>
struct dataset_traits<text::corpus> {
  using dataset = text::corpus;
  static std::size_t size(const dataset& d) noexcept { return d.sentences(); }
  static dataset concat(const dataset& a, const dataset& b) {
    dataset r = a;
    r.append(b);
    return r;
  }
  static dataset subset(const dataset& d, std::span<const std::size_t> idx) {
    dataset r;
    for (std::size_t i : idx) r.add_sentence(d.sentence(i));
    return r;
  }
  static void append(dataset& a, const dataset& b) { a.append(b); }
  static std::span<const text::word_id> sample(const dataset& d, std::size_t i) noexcept {
    return d.sentence(i);
  }
};
}  // namespace ouro::inline v0

namespace ouro::inline v0 {
/// The word ids and the sentence starts.
template <>
struct checkpoint_traits<text::corpus> {
  static void save(const text::corpus& c, io::binary_writer& w) {
    w.put_tag("corpus");
    w.put_vector(c.tokens);
    std::vector<std::uint64_t> starts(c.starts.begin(), c.starts.end());
    w.put_vector(starts);
  }
  static text::corpus load(io::binary_reader& r) {
    r.expect_tag("corpus");
    text::corpus c;
    c.tokens = r.get_vector<text::word_id>("tokens");
    const auto starts = r.get_vector<std::uint64_t>("sentence starts");
    if (starts.empty() || starts.front() != 0 || starts.back() != c.tokens.size())
      r.fail("sentence starts do not span the tokens");
    for (std::size_t i = 1; i < starts.size(); ++i)
      if (starts[i] < starts[i - 1]) r.fail("sentence starts decrease");
    c.starts.assign(starts.begin(), starts.end());
    return c;
  }
};
}  // namespace ouro::inline v0
