// How long one vLLM engine step takes: a roofline of the GPU's memory bandwidth and tensor
// throughput, with efficiencies fitted to real H200 measurements (README.md, "Step time").
#pragma once

#include <cstdint>

#include "devices/gpu_models.h"
#include "serving/llm_models.h"

namespace gputwin::serving {

// The work of one engine step (continuous batching: running decodes plus prefill chunks).
struct StepWork {
  int decode_seqs = 0;          // sequences producing one token each
  int64_t decode_context = 0;   // Σ their context lengths (KV tokens read)
  int64_t prefill_tokens = 0;   // new prompt tokens in prefill chunks
  double prefill_pairs = 0;     // Σ over chunks of n·c + n²/2 (query-key pairs, causal)
  int64_t prefill_context = 0;  // Σ over chunks of the prior context c (KV tokens read)
  int sampled = 0;              // sequences that produce a token (LM head rows)
};

// What one replica runs on.
struct EngineHardware {
  devices::GpuPerformance gpu;  // one whole GPU
  int tensor_parallel = 1;
  int pipeline_parallel = 1;     // stages in sequence, on different nodes
  double compute_share = 1.0;    // MIG slice: its SMs / the GPU's
  double bandwidth_share = 1.0;  // MIG slice: its memory slices / the GPU's
  bool cuda_graphs = true;       // false with --enforce-eager: every step launches eagerly
};

// Dtypes as vLLM runs them (after resolving "auto").
struct EngineDtypes {
  int weight_bytes = 2;      // bfloat16/float16: 2; fp8: 1
  int kv_bytes = 2;          // kv-cache-dtype auto follows the weights; fp8: 1
  bool fp16_tensor = false;  // float16 math (GPUs without bf16)
};

class StepTimeModel {
 public:
  StepTimeModel(const LlmArchitecture& model, const EngineHardware& hw, const EngineDtypes& dt);

  double Seconds(const StepWork& work) const;

  // A decode-only step of `seqs` sequences as `a + b × context` (context: Σ of their
  // lengths). False when that step is not linear in context (the host bounds an eager step).
  bool DecodeLinear(int seqs, double* a, double* b) const;

  // Tokens of one step's worth of work run as CUDA graphs (vLLM's largest capture size).
  static constexpr int kMaxCudaGraphTokens = 512;

 private:
  double GpuSeconds(const StepWork& work) const;  // the kernels' time, without the host

  int layers_;
  double weight_read_bytes_;       // per GPU, dense part (MoE: non-expert weights)
  double expert_bytes_per_layer_;  // per GPU, one expert (MoE only)
  int experts_ = 0, top_k_ = 0;
  double linear_flops_per_token_;     // per GPU, excluding the LM head
  double head_flops_per_token_;       // per GPU, the LM head
  double attention_flops_per_pair_;   // per GPU
  double kv_bytes_per_token_;         // per GPU
  double allreduce_bytes_per_token_;  // per GPU per step, TP > 1
  double bandwidth_, tflops_;         // bytes/s and FLOP/s of this replica's share, per GPU
  double link_bandwidth_, link_latency_;
  double stage_send_bytes_per_token_ = 0;  // hidden state to the next pipeline stage
  int tensor_parallel_, pipeline_parallel_;
  bool cuda_graphs_;
};

}  // namespace gputwin::serving
