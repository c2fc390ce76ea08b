// Unique temporary file names for tests, and a file removed when it goes out of scope.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace tern::test {

// A path in the temporary directory no other test (or process) uses:
// "tern-<stem>-<pid>-<random>-<n><ext>". Nothing is created.
inline std::filesystem::path temp_path(std::string_view stem, std::string_view ext) {
  static std::atomic<int> n{0};
  std::random_device rd;
  return std::filesystem::temp_directory_path() /
         fmt::format("tern-{}-{}-{:x}-{}{}", stem, ::getpid(), rd(), n++, ext);
}

// A temporary file holding `contents`, removed on destruction.
class temp_file {
 public:
  temp_file(std::string_view stem, std::string_view ext, std::string_view contents) : path_(temp_path(stem, ext)) {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace tern::test
