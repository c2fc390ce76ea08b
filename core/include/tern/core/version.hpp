#pragma once
#include <string_view>

namespace tern {
// The project version, "MAJOR.MINOR.PATCH".
std::string_view version() noexcept;
}  // namespace tern
