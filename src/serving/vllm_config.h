// A vLLM server as a pod runs it: the engine arguments read from the container's command
// and args, resolved against the model and the GPU as vLLM does at start-up (defaults,
// dtype, tensor-parallel checks, KV cache size), with vLLM's own error texts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "devices/gpu_models.h"
#include "serving/llm_models.h"
#include "serving/step_time.h"

namespace gputwin::serving {

// vLLM whose defaults and messages the twin follows.
inline constexpr const char* kVllmVersion = "0.11";

struct VllmEngineArgs {
  std::string model;
  int tensor_parallel_size = 1;
  int pipeline_parallel_size = 1;  // stages, each its own tensor-parallel group of GPUs
  std::optional<int64_t> max_model_len;
  std::optional<int> max_num_seqs;
  std::optional<int64_t> max_num_batched_tokens;
  double gpu_memory_utilization = 0.9;
  std::string dtype = "auto";
  std::string kv_cache_dtype = "auto";
  std::optional<bool> enable_chunked_prefill;
  bool enforce_eager = false;  // no CUDA graphs
  int block_size = 16;
  std::string quantization;  // --quantization / -q (fp8 modelled; others warned)
};

// True when the container runs vLLM's OpenAI server: the image is vllm/vllm-openai (any
// registry or tag), or `server_annotation` is "vllm", or the command runs `vllm serve` or
// vllm.entrypoints.openai.api_server; never when the annotation is "none" (a placeholder
// GPU container that only uses the image).
bool LooksLikeVllm(const std::string& image, const std::vector<std::string>& command,
                   const std::vector<std::string>& args, const std::string& server_annotation);

// Reads the engine arguments from a container's command and args (a shell `-c` string is
// split into words). Unknown flags are left to vLLM; flags that change what the engine
// does but the twin does not model are warned about. `model` is empty when none is given.
// Throws InputError naming `where` for malformed values.
VllmEngineArgs ParseVllmArgs(const std::vector<std::string>& command,
                             const std::vector<std::string>& args, const SourceRef& where,
                             Diagnostics* diagnostics);

// Resolves --dtype and --kv-cache-dtype as vLLM does for this GPU.
EngineDtypes ResolveDtypes(const VllmEngineArgs& args, const LlmArchitecture& model,
                           const devices::GpuModel& gpu, const SourceRef& where);

// vLLM's check that tensor parallelism splits the attention heads evenly.
void CheckTensorParallel(const VllmEngineArgs& args, const LlmArchitecture& model,
                         const SourceRef& where);

// The engine as it starts on a replica's GPUs.
struct VllmEngine {
  const LlmArchitecture* model = nullptr;
  EngineDtypes dtypes;
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  int64_t max_model_len = 0;
  int max_num_seqs = 0;
  int64_t max_num_batched_tokens = 0;
  bool chunked_prefill = true;
  int block_size = 16;
  int64_t num_gpu_blocks = 0;  // KV cache blocks per replica
  double weights_gib = 0;      // per GPU
  double activation_gib = 0;   // per GPU, the profile run's peak and CUDA graphs
  double kv_cache_gib = 0;     // per GPU
  double gpu_memory_gib = 0;   // per GPU (or MIG slice)
};

// Sizes the KV cache as vLLM's profiling does: per GPU, memory × gpu_memory_utilization
// minus weights, activations and the runtime's own memory; throws InputError with vLLM's
// message when nothing is left or max_model_len does not fit. `memory_mib` is one GPU's
// (or MIG slice's) memory.
VllmEngine StartVllmEngine(const VllmEngineArgs& args, const LlmArchitecture& model,
                           const devices::GpuModel& gpu, int64_t memory_mib,
                           const SourceRef& where);

}  // namespace gputwin::serving
