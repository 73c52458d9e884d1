// `gputwin experiment serving`: the step-time model's decode and prefill figures for a
// model on a GPU, as CSV, to check against one's own measurements.
#pragma once

#include <string>
#include <vector>

namespace gputwin::serving {

struct ServingExperiment {
  std::string gpu;    // a GPU model name (devices::GpuModelTable)
  std::string model;  // a built-in Hugging Face name or a path to a config.json
  int tensor_parallel = 1;
  std::string dtype = "auto";
  std::vector<int> batch = {1, 8, 32};
  std::vector<int> context = {1024, 4096};
  std::vector<int> prompt = {128, 512, 2048};
};

// CSV with header `phase,batch,context,prompt,ms,tokens_per_s`: a decode row per batch
// and context (one step of `batch` sequences each `context` tokens long), then a prefill
// row per prompt (one prompt alone). Throws InputError on bad input.
std::string RunServingExperiment(const ServingExperiment& e);

// "1,8,32" -> {1, 8, 32}; `flag` names the option in errors.
std::vector<int> ParsePositiveList(const std::string& text, const std::string& flag);

}  // namespace gputwin::serving
