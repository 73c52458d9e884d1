// Output files written whole or not at all: through a temporary in the same folder,
// fsynced, then renamed; temporaries of writers that died are cleaned up.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace gputwin::report {

// Writes dir/name through a temporary file and a rename, so a reader never sees half a
// file. Creates `dir` if needed. Throws std::runtime_error on failure.
// Before the clock starts: `dir` is (or can be made) a folder this process can write into;
// an InputError naming `flag` otherwise.
void CheckOutputDir(const std::string& flag, const std::string& dir);
void WriteFileAtomically(const std::string& dir, const std::string& name,
                         const std::function<void(std::ostream&)>& write);
// The same for a writer that opens the file itself (SQLite): `write` gets the temporary's
// path; anything it leaves under that path plus a suffix (`-journal`) is removed too.
void WritePathAtomically(const std::string& dir, const std::string& name,
                         const std::function<void(const std::string& tmp)>& write);

}  // namespace gputwin::report
