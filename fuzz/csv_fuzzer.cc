// The CSV readers, each given the same bytes as a file: Alibaba's GPU trace (nodes and pods)
// through the scenario's trace import, Azure's LLM inference trace, an instance catalog, a
// workload generator's arrival times. Each reads or refuses with an InputError naming the
// file; anything else is a finding.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cloud/catalog.h"
#include "core/errors.h"
#include "serving/traffic.h"
#include "sim/csv_arrivals.h"
#include "sim/trace_import.h"

namespace gputwin::cloud {
// The built-in catalog is generated into the full build only; no reader here uses it.
const char* BuiltinCatalogText() {
  return "";
}
}  // namespace gputwin::cloud

namespace {

const std::string& InputPath() {
  static const std::string path = [] {
    // Every input is written to the file the readers open: in memory when /dev/shm exists.
    for (std::string dir : {"/dev/shm/gputwin-fuzz-csv-XXXXXX", "/tmp/gputwin-fuzz-csv-XXXXXX"}) {
      if (mkdtemp(dir.data())) {
        static std::string made;
        made = dir;
        std::atexit([] { std::filesystem::remove_all(made); });
        return dir + "/input.csv";
      }
    }
    std::abort();
  }();
  return path;
}

template <typename F>
void ExpectReadOrInputError(const std::string& path, F read) {
  try {
    read();
  } catch (const gputwin::InputError& e) {
    if (std::string_view(e.what()).find(path) == std::string_view::npos) {
      std::fprintf(stderr, "InputError without the file name: %s\n", e.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gputwin;
  const std::string& path = InputPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ExpectReadOrInputError(path, [&] {
    api::TraceSpec spec;
    spec.format = "alibaba-gpu-v2023";
    spec.nodes = path;
    std::vector<api::Node> nodes;
    sim::ImportTrace(spec, &nodes);
  });
  ExpectReadOrInputError(path, [&] {
    api::TraceSpec spec;
    spec.format = "alibaba-gpu-v2023";
    spec.pods = path;
    std::vector<api::Node> nodes;
    sim::ImportTrace(spec, &nodes);
  });
  ExpectReadOrInputError(path, [&] { serving::ReadAzureLlmTrace(path); });
  ExpectReadOrInputError(path, [&] {
    cloud::Catalog c;
    c.Merge(cloud::ParseCatalogCsv(std::string(reinterpret_cast<const char*>(data), size), path));
  });
  for (const char* column : {"", "arrival"}) {
    ExpectReadOrInputError(path, [&] {
      api::WorkloadGenerator g;
      g.source = SourceRef{"scenario.yaml", 1};
      g.arrival.type = "csv";
      g.arrival.csv_file = path;
      g.arrival.csv_column = column;
      sim::ReadCsvArrivals(g);
    });
  }
  return 0;
}
