#include "serving/step_time.h"

#include <algorithm>
#include <cmath>

namespace gputwin::serving {
namespace {

// Fitted (max error 6.6 % with these rounded values) to
// ../shared/data/h200-measured/serving-and-power.json: decode steps of a Llama-3-8B-shaped model as
// CUDA graphs at batch 1-256 and context 1024/4096, and eager prefills of 128-8192 tokens
// (README.md, "Step time").
constexpr double kGraphOverheadPerLayer = 61e-6;  // s: kernel gaps inside a graph replay
constexpr double kEagerHostPerLayer = 207e-6;     // s: Python and launches, eager steps
constexpr double kMemoryEfficiency = 0.90;        // of datasheet bandwidth (bounded)
constexpr double kGemmEfficiency = 0.60;          // of dense tensor TFLOPS
constexpr double kAttentionEfficiency = 0.56;     // attention FLOPs

// Not fitted (no multi-GPU measurement in the shared data): NCCL/custom all-reduce reaches
// about 80 % of the link, and each call costs a fixed latency.
constexpr double kLinkEfficiency = 0.8;
constexpr double kNvlinkLatency = 8e-6;
constexpr double kPcieLatency = 25e-6;
// Pipeline parallelism across nodes: each stage sends its hidden state to the next over
// the network (NCCL send/recv over EFA or InfiniBand): assumed 100 Gbit/s at 80 % and 30 µs
// per send.
constexpr double kInterNodeBandwidth = 100e9 / 8 * 0.8;
constexpr double kInterNodeLatency = 30e-6;

}  // namespace

StepTimeModel::StepTimeModel(const LlmArchitecture& m, const EngineHardware& hw,
                             const EngineDtypes& dt)
    : layers_(m.num_hidden_layers),
      tensor_parallel_(std::max(1, hw.tensor_parallel)),
      pipeline_parallel_(std::max(1, hw.pipeline_parallel)),
      cuda_graphs_(hw.cuda_graphs) {
  // Pipeline stages run one after the other for a step (vLLM V1 keeps one batch in flight
  // per engine here): a step's time is every layer's at the stage's GPUs, which is what
  // the per-GPU terms below already count, plus the sends between stages.
  stage_send_bytes_per_token_ = double(m.hidden_size) * dt.weight_bytes;
  const double tp = tensor_parallel_;
  const double head = static_cast<double>(m.EmbeddingParams());
  const double attn = static_cast<double>(m.AttentionParamsPerLayer());
  const double expert = static_cast<double>(m.ExpertParams());
  experts_ = m.num_local_experts;
  top_k_ = m.num_experts_per_tok;
  const double router = experts_ > 0 ? double(m.hidden_size) * experts_ : 0;
  const double dense_layer = attn + router + (experts_ > 0 ? 0 : expert);
  weight_read_bytes_ = (layers_ * dense_layer + head) * dt.weight_bytes / tp;
  expert_bytes_per_layer_ = experts_ > 0 ? expert * dt.weight_bytes / tp : 0;
  const double active_mlp = experts_ > 0 ? top_k_ * expert : expert;
  linear_flops_per_token_ = 2.0 * layers_ * (attn + router + active_mlp) / tp;
  head_flops_per_token_ = 2.0 * head / tp;
  attention_flops_per_pair_ = 4.0 * layers_ * double(m.num_attention_heads) * m.head_dim / tp;
  // vLLM replicates KV heads when TP exceeds them: each GPU keeps at least one.
  const double kv_heads_per_gpu = std::max(1.0, double(m.num_key_value_heads) / tp);
  kv_bytes_per_token_ = 2.0 * layers_ * kv_heads_per_gpu * m.head_dim * dt.kv_bytes;
  // Two all-reduces of the hidden state per layer (after attention and after the MLP).
  allreduce_bytes_per_token_ =
      tp > 1 ? 2.0 * layers_ * m.hidden_size * 2.0 * 2.0 * (tp - 1) / tp : 0;
  bandwidth_ = hw.gpu.memory_bandwidth_gbps * 1e9 * hw.bandwidth_share * kMemoryEfficiency;
  double tf = dt.weight_bytes == 1 && hw.gpu.fp8_tflops > 0 ? hw.gpu.fp8_tflops
              : dt.fp16_tensor || hw.gpu.bf16_tflops == 0   ? hw.gpu.fp16_tflops
                                                            : hw.gpu.bf16_tflops;
  tflops_ = tf * 1e12 * hw.compute_share;
  link_bandwidth_ = hw.gpu.link_gbps * 1e9 * kLinkEfficiency;
  link_latency_ = hw.gpu.nvlink ? kNvlinkLatency : kPcieLatency;
}

double StepTimeModel::Seconds(const StepWork& w) const {
  const double tokens = double(w.decode_seqs) + double(w.prefill_tokens);
  if (tokens <= 0) return 0;
  // Decode-only steps within the capture sizes replay a CUDA graph; others launch eagerly,
  // and the host's launches bound the step from below.
  const bool graph = cuda_graphs_ && w.prefill_tokens == 0 && tokens <= kMaxCudaGraphTokens;
  const double host = graph ? 0 : layers_ * kEagerHostPerLayer;
  return layers_ * kGraphOverheadPerLayer + std::max(host, GpuSeconds(w));
}

double StepTimeModel::GpuSeconds(const StepWork& w) const {
  const double tokens = double(w.decode_seqs) + double(w.prefill_tokens);
  double weights = weight_read_bytes_;
  if (experts_ > 0) {
    // Distinct experts the step's tokens touch, in expectation, per layer.
    const double miss = std::pow(1.0 - double(top_k_) / experts_, tokens);
    weights += layers_ * experts_ * (1.0 - miss) * expert_bytes_per_layer_;
  }
  const double memory_time = weights / bandwidth_;
  const double compute_time =
      (linear_flops_per_token_ * tokens + head_flops_per_token_ * w.sampled) /
      (tflops_ * kGemmEfficiency);
  // A smooth roofline: the memory and compute times of the linear layers add as the two
  // sides of a right triangle (close to the larger one far from the ridge point, 1.41 x
  // it at the ridge).
  // (std::hypot guards against overflow these magnitudes never reach, at 5x the cost.)
  const double linear = std::sqrt(memory_time * memory_time + compute_time * compute_time);
  const double kv_time =
      double(w.decode_context + w.prefill_context) * kv_bytes_per_token_ / bandwidth_;
  const double attention_time = (double(w.decode_context) + w.prefill_pairs) *
                                attention_flops_per_pair_ / (tflops_ * kAttentionEfficiency);
  double gpu = linear + kv_time + attention_time;
  if (tensor_parallel_ > 1) {
    gpu += allreduce_bytes_per_token_ * tokens / link_bandwidth_ + 2.0 * layers_ * link_latency_;
  }
  if (pipeline_parallel_ > 1) {
    gpu += (pipeline_parallel_ - 1) *
           (kInterNodeLatency + stage_send_bytes_per_token_ * tokens / kInterNodeBandwidth);
  }
  return gpu;
}

bool StepTimeModel::DecodeLinear(int seqs, double* a, double* b) const {
  StepWork w;
  w.decode_seqs = w.sampled = seqs;
  *a = Seconds(w);
  *b = kv_bytes_per_token_ / bandwidth_ +
       attention_flops_per_pair_ / (tflops_ * kAttentionEfficiency);
  if (cuda_graphs_ && seqs <= kMaxCudaGraphTokens) return true;
  // Eager: linear only while the GPU's time already exceeds the host's at context 0.
  return GpuSeconds(w) > layers_ * kEagerHostPerLayer;
}

}  // namespace gputwin::serving
