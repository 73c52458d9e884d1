#include "serving/experiment.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "serving/step_time.h"
#include "serving/vllm_config.h"

namespace gputwin::serving {

std::vector<int> ParsePositiveList(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v <= 0 || v > 10'000'000) {
      throw InputError(flag + ": \"" + item + "\" is not a positive integer (a list like 1,8,32)");
    }
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) throw InputError(flag + ": give at least one value");
  return out;
}

std::string RunServingExperiment(const ServingExperiment& e) {
  devices::GpuModelTable gpus;
  const devices::GpuModel* gpu = gpus.Find(e.gpu);
  if (!gpu) {
    std::string known;
    for (const auto& n : gpus.Names()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("--gpu: unknown GPU model \"" + e.gpu + "\" (known: " + known + ")");
  }
  LlmModelTable models;
  LlmArchitecture arch;
  if (const LlmArchitecture* m = models.Find(e.model)) {
    arch = *m;
  } else if (std::filesystem::is_regular_file(e.model)) {
    std::ifstream f(e.model);
    std::stringstream text;
    text << f.rdbuf();
    arch = ParseHfConfig(text.str(), e.model, e.model);
  } else {
    throw InputError("--model: " + UnknownModelMessage(models, e.model));
  }
  VllmEngineArgs args;
  args.model = arch.name;
  args.tensor_parallel_size = e.tensor_parallel;
  args.dtype = e.dtype;
  const EngineDtypes dtypes = ResolveDtypes(args, arch, *gpu, SourceRef{"--dtype", 0});
  CheckTensorParallel(args, arch, SourceRef{"--tensor-parallel", 0});
  EngineHardware hw;
  hw.gpu = gpu->performance;
  hw.tensor_parallel = e.tensor_parallel;
  StepTimeModel model(arch, hw, dtypes);

  std::string out = "phase,batch,context,prompt,ms,tokens_per_s\n";
  for (int c : e.context) {
    for (int b : e.batch) {
      StepWork w;
      w.decode_seqs = b;
      w.decode_context = int64_t{b} * c;
      w.sampled = b;
      const double s = model.Seconds(w);
      out += fmt::format("decode,{},{},,{:.3f},{:.1f}\n", b, c, s * 1e3, b / s);
    }
  }
  for (int p : e.prompt) {
    StepWork w;
    w.prefill_tokens = p;
    w.prefill_pairs = double(p) * p / 2.0;
    w.sampled = 1;
    const double s = model.Seconds(w);
    out += fmt::format("prefill,1,,{},{:.3f},{:.1f}\n", p, s * 1e3, p / s);
  }
  return out;
}

}  // namespace gputwin::serving
