// One vLLM engine serving requests: the V1 scheduler's continuous batching on the virtual
// clock. Each step runs the running sequences (one token each, or the next chunk of a
// prompt) and admits waiting requests while the token budget, max_num_seqs and free KV
// blocks allow; when blocks run out the most recently admitted request is preempted
// (its KV freed, recomputed later from the front of the queue), as vllm/v1/core/sched/
// scheduler.py does. Stretches of identical decode steps are jumped in closed form, so the
// cost is per request, not per token.
#pragma once

#include <cstdint>
#include <deque>
#include <queue>
#include <vector>

#include "serving/step_time.h"

namespace gputwin::serving {

struct EngineLimits {
  int max_num_seqs = 256;
  int64_t max_num_batched_tokens = 2048;
  int64_t num_blocks = 0;
  int block_size = 16;
  int64_t max_model_len = 0;
  bool chunked_prefill = true;
};

// What the caller attaches to a request; the engine hands it back in its reports. The
// request's state travels with its sequence, so reporting a finish touches no table the
// engine does not already hold in cache.
struct RequestTag {
  uint64_t id = 0;
  double arrival = 0;            // when the user sent it
  int32_t requested_output = 0;  // before clamping to max_model_len
  uint32_t stream = 0;           // the caller's traffic stream
};

// What the engine reports as its steps complete (times in seconds of the run's clock).
class EngineSink {
 public:
  virtual ~EngineSink() = default;
  // `scheduled`: when the request first entered a step (its queue time ends).
  virtual void OnFirstToken(const RequestTag& request, double at, double scheduled,
                            int32_t prompt_tokens) = 0;
  virtual void OnFinished(const RequestTag& request, double at, double first_token,
                          int32_t output_tokens, int32_t prompt_tokens) = 0;
};

class VllmEngineSim {
 public:
  VllmEngineSim(const EngineLimits& limits, const StepTimeModel* model);

  // A request arrives at `t` (after AdvanceTo(t)). It joins the next step.
  void Add(double t, const RequestTag& tag, int32_t prompt_tokens, int32_t output_tokens);
  void Add(double t, uint64_t id, int32_t prompt_tokens, int32_t output_tokens) {
    Add(t, RequestTag{id, t, output_tokens, 0}, prompt_tokens, output_tokens);
  }
  // Commits every step that ends at or before `t`, reporting first tokens and finishes in
  // time order.
  void AdvanceTo(double t, EngineSink* sink);
  // When the next request will finish if nothing arrives (infinity when idle).
  double NextFinish() const { return next_finish_; }

  // Requests in the engine (running or waiting), and whether each has streamed a token.
  struct InFlight {
    RequestTag tag;
    int32_t prompt_tokens;
    bool streaming;
  };
  std::vector<InFlight> Requests() const;
  // The process dies: everything is dropped.
  void Kill();
  // Steps planned from now on take `scale` times as long (CUDA time-slicing among the
  // busy processes on one GPU).
  void set_time_scale(double scale) { time_scale_ = scale; }

  int running() const { return static_cast<int>(decoding_count_ + prefilling_.size()); }
  int waiting() const { return static_cast<int>(waiting_.size()); }
  double kv_usage() const {
    return limits_.num_blocks > 0 ? double(used_blocks_) / double(limits_.num_blocks) : 0;
  }
  int64_t preemptions() const { return preemptions_; }
  int64_t steps() const { return steps_; }
  // Seconds the engine spent running steps (its busy time).
  double busy_seconds() const { return busy_seconds_; }
  // Tokens the committed steps computed (prefill chunks and decoded tokens).
  int64_t tokens_computed() const { return tokens_computed_; }
  bool Idle() const { return running() == 0 && waiting_.empty(); }

 private:
  struct Seq {
    RequestTag tag;
    double first_token = 0;
    int32_t prompt = 0, output = 0;
    int32_t generated = 0;    // tokens sampled so far
    int32_t computed = 0;     // tokens whose KV is in the cache (prefill progress)
    int64_t blocks = 0;       // KV blocks held
    int64_t admitted = 0;     // admission order
    int64_t finish_step = 0;  // decoders: the decode step index of their last token
    bool streaming = false;
    bool live = true;
    double scheduled = -1;
  };
  // A planned step: decoders' count and context, prefill chunks (slot, tokens).
  struct Plan {
    double start = 0, end = 0;
    int decoders = 0;
    int64_t decode_steps = 1;  // identical decode steps jumped at once
    double decode_a = 0;       // decode-only: the step's time at context 0
    double decode_b = 0;       // and per token of context
    std::vector<std::pair<uint32_t, int32_t>> chunks;
    bool valid = false;
    // Back to empty, keeping the chunks' storage (a step is planned per request or two).
    void Reset() {
      start = end = 0;
      decoders = 0;
      decode_steps = 1;
      decode_a = decode_b = 0;
      chunks.clear();
      valid = false;
    }
  };

  int64_t BlocksFor(int64_t tokens) const { return (tokens + block_mask_) >> block_shift_; }
  void PlanStep(double start);
  void CommitStep(EngineSink* sink);
  void FreeSeq(uint32_t slot);
  void Preempt(uint32_t slot);
  uint32_t NewSlot();
  void StartDecoding(uint32_t slot);
  // Decode blocks newly needed over the next `k` decode steps.
  int64_t NewDecodeBlocks(int64_t k) const;
  double DecodeA(int n) const;
  void ComputeNextFinish();

  EngineLimits limits_;
  int64_t block_mask_ = 0;  // block_size - 1 (a power of two)
  int block_shift_ = 0;     // log2(block_size)
  const StepTimeModel* model_;
  double decode_b_ = 0;
  double time_scale_ = 1;
  mutable std::vector<double> decode_a_;    // per batch size; NaN until computed
  mutable std::vector<uint8_t> decode_ok_;  // 0 unknown, 1 linear, 2 not linear

  std::vector<Seq> seqs_;  // slots
  std::vector<uint32_t> free_slots_;
  std::deque<uint32_t> waiting_;
  std::vector<uint32_t> prefilling_;  // running, prompt not yet computed, admission order
  // Decoders: count, Σ of their lengths (prompt + generated), by length phase mod block
  // size, and a min-heap of finish steps (lazy deletion).
  int64_t decoding_count_ = 0;
  int64_t decode_len_sum_ = 0;
  std::vector<int64_t> phase_count_;
  std::priority_queue<std::pair<int64_t, uint32_t>, std::vector<std::pair<int64_t, uint32_t>>,
                      std::greater<>>
      finish_heap_;
  // Decoders by admission, newest on top (lazy deletion): the preemption victims.
  std::vector<std::pair<int64_t, uint32_t>> newest_decoder_;  // a max-heap
  int64_t decode_step_ = 0;  // decode steps taken (every decoder advances by one per step)
  int64_t used_blocks_ = 0;
  int64_t admitted_ = 0;
  int64_t preemptions_ = 0;
  int64_t steps_ = 0;
  double busy_seconds_ = 0;
  int64_t tokens_computed_ = 0;
  double clock_ = 0;  // end of the last committed step (or when the engine went idle)
  Plan plan_;
  int64_t plan_blocks_ = 0;  // decode blocks the plan took
  double next_finish_;
};

}  // namespace gputwin::serving
