// Library version.
#pragma once

#include <string_view>

#define OUROBOROS_VERSION_MAJOR 0
#define OUROBOROS_VERSION_MINOR 1
#define OUROBOROS_VERSION_PATCH 0

namespace ouro {
inline constexpr std::string_view version_string = "0.1.0";
}  // namespace ouro
