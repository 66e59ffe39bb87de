// Replays every input of the fuzz corpora (tests/fuzz/corpus/<target>/: the seeds, and every
// input a fuzzer ever crashed on, copied there) through the fuzz targets' checks in the ordinary
// test run, so a fixed crash stays fixed. A failing input aborts this program.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define OUROBOROS_FUZZ_ENTRY fuzz_idx_entry
#include "fuzz/fuzz_idx.cpp"
#undef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY fuzz_text_entry
#include "fuzz/fuzz_text.cpp"
#undef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY fuzz_vae_file_entry
#include "fuzz/fuzz_vae_file.cpp"
#undef OUROBOROS_FUZZ_ENTRY
#define OUROBOROS_FUZZ_ENTRY fuzz_checkpoint_entry
#include "fuzz/fuzz_checkpoint.cpp"
#undef OUROBOROS_FUZZ_ENTRY

namespace {
std::size_t replay(const std::string& target, int (*entry)(const std::uint8_t*, std::size_t)) {
  const std::filesystem::path dir = std::filesystem::path(OUROBOROS_FUZZ_CORPUS) / target;
  std::size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                          std::istreambuf_iterator<char>());
    INFO(f.path().string());
    CHECK(entry(bytes.data(), bytes.size()) == 0);
    ++n;
  }
  return n;
}
}  // namespace

TEST_CASE("fuzz corpora replay without findings", "[fuzz]") {
  CHECK(replay("fuzz_idx", fuzz_idx_entry) >= 4);
  CHECK(replay("fuzz_text", fuzz_text_entry) >= 2);
  CHECK(replay("fuzz_vae_file", fuzz_vae_file_entry) >= 1);
  CHECK(replay("fuzz_checkpoint", fuzz_checkpoint_entry) >= 7);
}
