// Library version. Everything the library declares lives in the inline namespace ouro::v0 (the
// major version): code names it ouro::..., and two builds of different major versions in one
// program do not clash at link time (their symbols differ), so an incompatible change bumps it.
#pragma once

#include <string_view>

#define OUROBOROS_VERSION_MAJOR 0
#define OUROBOROS_VERSION_MINOR 1
#define OUROBOROS_VERSION_PATCH 0
/// The inline namespace of this version: ouro::v0.
#define OUROBOROS_ABI_NAMESPACE v0

namespace ouro::inline v0 {
inline constexpr std::string_view version_string = "0.1.0";
}  // namespace ouro::inline v0
