#include "serving/vllm_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace gputwin::serving {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Splits a shell command line into words (quotes and backslashes as sh does, no
// expansion), for `sh -c "vllm serve ..."` containers.
std::vector<std::string> ShellWords(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      if (s[i + 1] != '\n') cur += s[i + 1];
      ++i;
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

// The words a container runs: command then args, with `sh -c STRING` expanded.
std::vector<std::string> Words(const std::vector<std::string>& command,
                               const std::vector<std::string>& args) {
  std::vector<std::string> all = command;
  all.insert(all.end(), args.begin(), args.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& w = all[i];
    const bool shell = w == "sh" || w == "bash" || w == "/bin/sh" || w == "/bin/bash";
    if (shell && i + 2 < all.size() + 1 && i + 1 < all.size() && all[i + 1] == "-c") {
      for (size_t j = i + 2; j < all.size(); ++j) {
        for (auto& x : ShellWords(all[j])) out.push_back(x);
      }
      return out;
    }
    if (w.find(' ') != std::string::npos && w.find("vllm") != std::string::npos) {
      for (auto& x : ShellWords(w)) out.push_back(x);
    } else {
      out.push_back(w);
    }
  }
  return out;
}

// Flags that change the engine's behaviour but that the twin does not model.
const std::set<std::string>& UnmodelledFlags() {
  static const std::set<std::string> flags = {"--data-parallel-size",
                                              "-dp",
                                              "--enable-expert-parallel",
                                              "--speculative-config",
                                              "--max-num-partial-prefills",
                                              "--long-prefill-token-threshold",
                                              "--cpu-offload-gb",
                                              "--swap-space",
                                              "--enable-lora",
                                              "--scheduling-policy",
                                              "--num-scheduler-steps",
                                              "--kv-transfer-config",
                                              "--enable-prefix-caching",
                                              "--rope-scaling",
                                              "--max-seq-len-to-capture"};
  return flags;
}

int64_t ParseInt(const std::string& flag, const std::string& v, const SourceRef& where) {
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  // vLLM also accepts human-readable sizes such as 32k for --max-model-len.
  int64_t mult = 1;
  if (used > 0 && used + 1 == v.size()) {
    const char s = v.back();
    if (s == 'k')
      mult = 1000;
    else if (s == 'K')
      mult = 1024;
    else if (s == 'm')
      mult = 1000000;
    else if (s == 'M')
      mult = 1024 * 1024;
    else
      used = 0;
    if (used) ++used;
  }
  if (used != v.size() || n <= 0) {
    throw InputError(where, "args", flag + ": \"" + v + "\" is not a positive integer");
  }
  return n * mult;
}

}  // namespace

bool LooksLikeVllm(const std::string& image, const std::vector<std::string>& command,
                   const std::vector<std::string>& args, const std::string& server_annotation) {
  if (server_annotation == "vllm") return true;
  if (server_annotation == "none") return false;
  std::string repo = image.substr(0, image.find('@'));
  const size_t slash = repo.rfind('/');
  const size_t colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  if (repo == "vllm/vllm-openai" || repo.ends_with("/vllm/vllm-openai")) return true;
  const auto words = Words(command, args);
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].ends_with("vllm") && i + 1 < words.size() && words[i + 1] == "serve") return true;
    if (words[i] == "vllm.entrypoints.openai.api_server") return true;
  }
  return false;
}

VllmEngineArgs ParseVllmArgs(const std::vector<std::string>& command,
                             const std::vector<std::string>& args, const SourceRef& where,
                             Diagnostics* diagnostics) {
  VllmEngineArgs a;
  const auto words = Words(command, args);
  size_t i = 0;
  // Skip the program: `vllm serve`, `python -m vllm.entrypoints...`; the image's entrypoint
  // is `vllm serve`, so plain args start with the model or flags.
  for (size_t k = 0; k < words.size(); ++k) {
    if (words[k].ends_with("vllm") && k + 1 < words.size() && words[k + 1] == "serve") {
      i = k + 2;
      break;
    }
    if (words[k] == "vllm.entrypoints.openai.api_server") {
      i = k + 1;
      break;
    }
  }
  auto value = [&](const std::string& flag, size_t& k, const std::string& inline_value,
                   bool has_inline) -> std::string {
    if (has_inline) return inline_value;
    if (k + 1 >= words.size()) throw InputError(where, "args", flag + " needs a value");
    return words[++k];
  };
  for (size_t k = i; k < words.size(); ++k) {
    std::string w = words[k];
    if (w.empty()) continue;
    if (w[0] != '-') {
      // `vllm serve MODEL`: the first positional word is the model.
      if (a.model.empty() && k == i) a.model = w;
      continue;
    }
    std::string flag = w, inline_value;
    bool has_inline = false;
    if (const size_t eq = w.find('='); eq != std::string::npos) {
      flag = w.substr(0, eq);
      inline_value = w.substr(eq + 1);
      has_inline = true;
    }
    // vLLM accepts underscores for dashes in flag names.
    for (size_t c = 2; c < flag.size(); ++c) {
      if (flag[c] == '_') flag[c] = '-';
    }
    if (flag == "--model") {
      a.model = value(flag, k, inline_value, has_inline);
    } else if (flag == "--tensor-parallel-size" || flag == "-tp") {
      a.tensor_parallel_size =
          static_cast<int>(ParseInt(flag, value(flag, k, inline_value, has_inline), where));
    } else if (flag == "--pipeline-parallel-size" || flag == "-pp") {
      a.pipeline_parallel_size =
          static_cast<int>(ParseInt(flag, value(flag, k, inline_value, has_inline), where));
    } else if (flag == "--max-model-len") {
      a.max_model_len = ParseInt(flag, value(flag, k, inline_value, has_inline), where);
    } else if (flag == "--max-num-seqs") {
      a.max_num_seqs =
          static_cast<int>(ParseInt(flag, value(flag, k, inline_value, has_inline), where));
    } else if (flag == "--max-num-batched-tokens") {
      a.max_num_batched_tokens = ParseInt(flag, value(flag, k, inline_value, has_inline), where);
    } else if (flag == "--gpu-memory-utilization") {
      const std::string v = value(flag, k, inline_value, has_inline);
      size_t used = 0;
      double d = 0;
      try {
        d = std::stod(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || !(d > 0) || d > 1) {
        throw InputError(where, "args", flag + ": \"" + v + "\" must be a fraction in (0, 1]");
      }
      a.gpu_memory_utilization = d;
    } else if (flag == "--dtype") {
      a.dtype = value(flag, k, inline_value, has_inline);
      static const std::set<std::string> ok = {"auto",     "half",  "float16",
                                               "bfloat16", "float", "float32"};
      if (!ok.contains(a.dtype)) {
        throw InputError(where, "args",
                         "--dtype: invalid choice: '" + a.dtype +
                             "' (choose from 'auto', 'half', 'float16', 'bfloat16', 'float', "
                             "'float32')");
      }
    } else if (flag == "--kv-cache-dtype") {
      a.kv_cache_dtype = value(flag, k, inline_value, has_inline);
      static const std::set<std::string> ok = {"auto", "fp8", "fp8_e4m3", "fp8_e5m2"};
      if (!ok.contains(a.kv_cache_dtype)) {
        throw InputError(where, "args",
                         "--kv-cache-dtype: invalid choice: '" + a.kv_cache_dtype +
                             "' (choose from 'auto', 'fp8', 'fp8_e4m3', 'fp8_e5m2')");
      }
    } else if (flag == "--enable-chunked-prefill") {
      a.enable_chunked_prefill = !has_inline || inline_value != "false";
    } else if (flag == "--enforce-eager") {
      a.enforce_eager = !has_inline || inline_value != "false";
    } else if (flag == "--no-enable-chunked-prefill") {
      a.enable_chunked_prefill = false;
    } else if (flag == "--block-size") {
      a.block_size =
          static_cast<int>(ParseInt(flag, value(flag, k, inline_value, has_inline), where));
      // vllm/config/cache.py: BlockSize = Literal[1, 8, 16, 32, 64, 128].
      if (a.block_size != 1 &&
          (a.block_size < 8 || a.block_size > 128 || (a.block_size & (a.block_size - 1)) != 0)) {
        throw InputError(where, "args",
                         "--block-size: invalid choice: " + std::to_string(a.block_size) +
                             " (choose from 1, 8, 16, 32, 64, 128)");
      }
    } else if (flag == "--quantization" || flag == "-q") {
      a.quantization = value(flag, k, inline_value, has_inline);
      if (a.quantization != "fp8") {
        diagnostics->Warn(where, "args",
                          flag + " " + a.quantization +
                              ": vLLM would run quantized weights; the twin times the model at "
                              "its unquantized dtype");
      }
    } else if (UnmodelledFlags().contains(flag)) {
      diagnostics->Warn(where, "args",
                        flag +
                            " changes how vLLM runs; the twin does not model it and runs the "
                            "engine without it");
      // Skip its value when it has one.
      if (!has_inline && flag != "--enable-expert-parallel" && flag != "--enable-lora" &&
          flag != "--enable-prefix-caching" && k + 1 < words.size() &&
          !words[k + 1].starts_with("-")) {
        ++k;
      }
    }
  }
  return a;
}

EngineDtypes ResolveDtypes(const VllmEngineArgs& args, const LlmArchitecture& model,
                           const devices::GpuModel& gpu, const SourceRef& where) {
  EngineDtypes d;
  const bool bf16_ok = gpu.compute_major >= 8;
  std::string dtype = args.dtype;
  if (dtype == "half") dtype = "float16";
  if (dtype == "float") dtype = "float32";
  if (dtype == "auto") {
    dtype = model.torch_dtype;
    // float32 checkpoints are served in 16 bits.
    if (dtype == "float32") dtype = bf16_ok ? "bfloat16" : "float16";
    // Without bf16 (compute capability < 8.0), vLLM falls back to float16.
    if (dtype == "bfloat16" && !bf16_ok) dtype = "float16";
  }
  if (dtype == "bfloat16" && !bf16_ok) {
    throw InputError(where, "args",
                     fmt::format("Bfloat16 is only supported on GPUs with compute capability of "
                                 "at least 8.0. Your {} GPU has compute capability {}.{}. You "
                                 "can use float16 instead by explicitly setting the `dtype` flag "
                                 "in CLI, for example: --dtype=half.",
                                 gpu.product, gpu.compute_major, gpu.compute_minor));
  }
  d.weight_bytes = dtype == "float32" ? 4 : 2;
  d.fp16_tensor = dtype == "float16";
  if (args.quantization == "fp8") d.weight_bytes = 1;
  d.kv_bytes = args.kv_cache_dtype == "auto" ? (dtype == "float32" ? 4 : 2) : 1;
  return d;
}

void CheckTensorParallel(const VllmEngineArgs& args, const LlmArchitecture& model,
                         const SourceRef& where) {
  const int tp = args.tensor_parallel_size;
  if (tp < 1) throw InputError(where, "args", "--tensor-parallel-size must be at least 1");
  if (args.pipeline_parallel_size < 1) {
    throw InputError(where, "args", "--pipeline-parallel-size must be at least 1");
  }
  if (model.num_attention_heads % tp != 0) {
    throw InputError(where, "args",
                     fmt::format("Total number of attention heads ({}) must be divisible by "
                                 "tensor parallel size ({}).",
                                 model.num_attention_heads, tp));
  }
}

VllmEngine StartVllmEngine(const VllmEngineArgs& args, const LlmArchitecture& model,
                           const devices::GpuModel& gpu, int64_t memory_mib,
                           const SourceRef& where) {
  CheckTensorParallel(args, model, where);
  VllmEngine e;
  e.model = &model;
  e.dtypes = ResolveDtypes(args, model, gpu, where);
  e.tensor_parallel = args.tensor_parallel_size;
  e.pipeline_parallel = args.pipeline_parallel_size;
  e.block_size = args.block_size;
  e.chunked_prefill = args.enable_chunked_prefill.value_or(true);
  const int64_t derived = model.max_position_embeddings;
  if (args.max_model_len && *args.max_model_len > derived) {
    throw InputError(
        where, "args",
        fmt::format("User-specified max_model_len ({}) is greater than the derived max_model_len "
                    "(max_position_embeddings={} in model's config.json). This may lead to "
                    "incorrect model outputs or CUDA errors.",
                    *args.max_model_len, derived));
  }
  e.max_model_len = args.max_model_len.value_or(derived);
  // V1 defaults for the OpenAI server: larger batches on GPUs of 70 GiB or more (but A100).
  const bool large = double(gpu.memory_mib) * 1024 * 1024 >= 70 * kGiB &&
                     gpu.name.find("A100") == std::string::npos;
  e.max_num_seqs = args.max_num_seqs.value_or(large ? 1024 : 256);
  int64_t batched_default = large ? 8192 : 2048;
  if (!e.chunked_prefill) batched_default = std::max<int64_t>(e.max_model_len, 2048);
  e.max_num_batched_tokens = args.max_num_batched_tokens.value_or(batched_default);
  if (!e.chunked_prefill && e.max_num_batched_tokens < e.max_model_len) {
    throw InputError(
        where, "args",
        fmt::format("max_num_batched_tokens ({}) is smaller than max_model_len ({}). This "
                    "effectively limits the maximum sequence length to max_num_batched_tokens "
                    "and makes vLLM reject longer sequences. Please increase "
                    "max_num_batched_tokens or decrease max_model_len.",
                    e.max_num_batched_tokens, e.max_model_len));
  }
  if (e.max_num_batched_tokens < e.max_num_seqs) {
    throw InputError(where, "args",
                     fmt::format("max_num_batched_tokens ({}) must be greater than or equal to "
                                 "max_num_seqs ({}).",
                                 e.max_num_batched_tokens, e.max_num_seqs));
  }
  const double tp = e.tensor_parallel;
  // Pipeline stages hold consecutive layers (get_pp_indices: an even split), so a GPU holds
  // 1/(tp × pp) of the weights and the KV cache of its stage's layers.
  const double pp = e.pipeline_parallel;
  const double stage_layers = std::ceil(double(model.num_hidden_layers) / pp);
  e.gpu_memory_gib = double(memory_mib) / 1024.0;
  e.weights_gib = double(model.TotalParams()) * e.dtypes.weight_bytes / tp / pp / kGiB;
  // The profile run's peak: a forward pass of max_num_batched_tokens (MLP gate and up
  // outputs, the attention projections) and the sampler's float32 logits for max_num_seqs,
  // plus the runtime (CUDA context, NCCL, cuBLAS workspaces, CUDA graphs).
  constexpr double kRuntimeGiB = 1.0;
  const double act_bytes = e.dtypes.weight_bytes == 4 ? 4 : 2;
  const double forward = double(e.max_num_batched_tokens) *
                         (2.0 * model.intermediate_size + 4.0 * model.hidden_size) * act_bytes / tp;
  const double logits = double(e.max_num_seqs) * model.vocab_size * 4.0 / tp;
  e.activation_gib = (forward + logits) / kGiB + kRuntimeGiB;
  const double budget = e.gpu_memory_gib * args.gpu_memory_utilization;
  if (e.weights_gib > e.gpu_memory_gib) {
    throw InputError(where, "args",
                     fmt::format("torch.OutOfMemoryError: CUDA out of memory while loading the "
                                 "weights: {} needs {:.2f} GiB "
                                 "of weights per GPU with tensor parallel size {}, and the GPU "
                                 "has {:.2f} GiB in total",
                                 model.name, e.weights_gib, e.tensor_parallel, e.gpu_memory_gib));
  }
  e.kv_cache_gib = budget - e.weights_gib - e.activation_gib;
  if (e.kv_cache_gib <= 0) {
    throw InputError(where, "args",
                     "No available memory for the cache blocks. Try increasing "
                     "`gpu_memory_utilization` when initializing the engine.");
  }
  const double kv_heads_per_gpu = std::max(1.0, double(model.num_key_value_heads) / tp);
  const double per_token =
      2.0 * stage_layers * kv_heads_per_gpu * model.head_dim * e.dtypes.kv_bytes;
  e.num_gpu_blocks =
      static_cast<int64_t>(std::floor(e.kv_cache_gib * kGiB / (per_token * e.block_size)));
  const double needed = double(e.max_model_len) * per_token;
  if (needed > e.kv_cache_gib * kGiB) {
    const int64_t estimated = e.num_gpu_blocks * e.block_size;
    throw InputError(
        where, "args",
        fmt::format("To serve at least one request with the models's max seq len ({}), ({:.2f} "
                    "GiB KV cache is needed, which is larger than the available KV cache memory "
                    "({:.2f} GiB). Based on the available memory, the estimated maximum model "
                    "length is {}. Try increasing `gpu_memory_utilization` or decreasing "
                    "`max_model_len` when initializing the engine.",
                    e.max_model_len, needed / kGiB, e.kv_cache_gib, estimated));
  }
  return e;
}

}  // namespace gputwin::serving
