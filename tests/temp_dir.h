// A fresh, empty folder under the system's temporary directory for one test, named after
// the test and this process (so parallel test processes never share one).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace gputwin::test_support {

inline std::filesystem::path FreshTempDir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("gputwin-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace gputwin::test_support
