#include "report/atomic_write.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "core/errors.h"

namespace gputwin::report {

namespace {

// Temporaries `.<name>.tmp.<pid>` of writers that died (kill -9, a crash): removed, so that
// a killed run leaves nothing behind for long. A live writer's are left alone.
void RemoveStaleTemporaries(const std::filesystem::path& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const std::string prefix = "." + name + ".tmp.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with(prefix)) continue;
    const std::string pid_text = file.substr(prefix.size());
    if (pid_text.empty() || pid_text.size() > 18 ||
        !std::all_of(pid_text.begin(), pid_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const long long n = std::stoll(pid_text);
    // A number no pid can be (pid_t is 32 bits) is no live writer's.
    const pid_t pid = n > std::numeric_limits<pid_t>::max() ? 0 : static_cast<pid_t>(n);
    if (pid == 0) {
      fs::remove(entry.path(), ec);
      continue;
    }
    if (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)) fs::remove(entry.path(), ec);
  }
}

void SyncFile(const std::filesystem::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void CheckOutputDir(const std::string& flag, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw InputError(flag + ": " + dir + " is a file, not a folder");
  }
  fs::create_directories(dir, ec);
  if (ec) throw InputError(flag + ": cannot create folder " + dir + ": " + ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw InputError(flag + ": cannot write into folder " + dir);
  }
}

void WriteFileAtomically(const std::string& dir, const std::string& name,
                         const std::function<void(std::ostream&)>& write) {
  WritePathAtomically(dir, name, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot write");
    write(out);
    out.flush();
    if (!out) throw std::runtime_error(tmp + ": write failed");
  });
}

void WritePathAtomically(const std::string& dir, const std::string& name,
                         const std::function<void(const std::string& tmp)>& write) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create directory: " + ec.message());
  RemoveStaleTemporaries(dir, name);
  fs::path final_path = fs::path(dir) / name;
  fs::path tmp = fs::path(dir) / ("." + name + ".tmp." + std::to_string(::getpid()));
  auto remove_tmp = [&] {
    fs::remove(tmp, ec);
    fs::remove(tmp.string() + "-journal", ec);
  };
  try {
    write(tmp.string());
  } catch (...) {
    remove_tmp();  // nothing half-written stays behind
    throw;
  }
  // On disk before it takes the final name: a crash leaves the old file or the new one.
  SyncFile(tmp);
  fs::rename(tmp, final_path, ec);
  if (ec) {
    remove_tmp();
    throw std::runtime_error(final_path.string() + ": cannot rename into place");
  }
  SyncFile(dir);
}

}  // namespace gputwin::report
