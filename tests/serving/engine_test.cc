// The engine's continuous batching, checked against step-by-step sums derived by hand from
// the V1 scheduler's rules (vllm/v1/core/sched/scheduler.py).
#include <gtest/gtest.h>

#include <map>

#include "serving/engine.h"
#include "serving/llm_models.h"

namespace gputwin::serving {
namespace {

struct Recorder : EngineSink {
  std::map<uint64_t, double> first, done;
  std::map<uint64_t, int> tokens;
  std::map<uint64_t, double> scheduled;
  void OnFirstToken(const RequestTag& r, double at, double sched, int32_t) override {
    first[r.id] = at;
    scheduled[r.id] = sched;
  }
  void OnFinished(const RequestTag& r, double at, double first_token, int32_t n, int32_t) override {
    EXPECT_EQ(first_token, first[r.id]);
    done[r.id] = at;
    tokens[r.id] = n;
  }
};

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    LlmModelTable t;
    arch_ = *t.Find("meta-llama/Llama-3.1-8B-Instruct");
    devices::GpuModelTable gpus;
    hw_.gpu = gpus.Find("H100")->performance;
    model_ = std::make_unique<StepTimeModel>(arch_, hw_, EngineDtypes{});
    limits_.max_num_seqs = 256;
    limits_.max_num_batched_tokens = 2048;
    limits_.num_blocks = 100000;
    limits_.max_model_len = 8192;
  }
  double Prefill(int n, int decoders = 0, int64_t decode_context = 0, int prior = 0) const {
    StepWork w;
    w.prefill_tokens = n;
    w.prefill_pairs = double(n) * prior + double(n) * n / 2;
    w.prefill_context = prior;
    w.decode_seqs = decoders;
    w.decode_context = decode_context;
    w.sampled = decoders + 1;
    return model_->Seconds(w);
  }
  double Decode(int n, int64_t context) const {
    StepWork w;
    w.decode_seqs = w.sampled = n;
    w.decode_context = context;
    return model_->Seconds(w);
  }
  LlmArchitecture arch_;
  EngineHardware hw_;
  std::unique_ptr<StepTimeModel> model_;
  EngineLimits limits_;
};

TEST_F(EngineTest, OneRequestIsAPrefillThenOneDecodeStepPerToken) {
  VllmEngineSim e(limits_, model_.get());
  Recorder r;
  e.AdvanceTo(10.0, &r);
  e.Add(10.0, 1, 512, 10);
  e.AdvanceTo(100.0, &r);
  // The prefill samples token 1; tokens 2..10 take one decode step each, the context
  // growing from 513.
  double t = 10.0 + Prefill(512);
  EXPECT_NEAR(r.first[1], t, 1e-9);
  for (int j = 0; j < 9; ++j) t += Decode(1, 513 + j);
  EXPECT_NEAR(r.done[1], t, 1e-9);
  EXPECT_EQ(r.tokens[1], 10);
  EXPECT_EQ(e.steps(), 10);
  EXPECT_TRUE(e.Idle());
  EXPECT_EQ(e.kv_usage(), 0);
}

TEST_F(EngineTest, AnArrivalJoinsTheStepAfterTheOneUnderWay) {
  VllmEngineSim e(limits_, model_.get());
  Recorder r;
  e.Add(0.0, 1, 100, 1000);
  const double a_first = Prefill(100);
  // Request 2 arrives 0.5 s in, during A's decode stretch.
  e.AdvanceTo(0.5, &r);
  e.Add(0.5, 2, 200, 5);
  e.AdvanceTo(1000.0, &r);
  // Replay A's decode steps by hand up to the one under way at 0.5 s.
  double t = a_first;
  int64_t len = 101;
  while (t + Decode(1, len) <= 0.5) t += Decode(1, len++);
  t += Decode(1, len++);  // the step under way at 0.5 s
  // Next step: A decodes and B's whole prompt is prefilled (a mixed step).
  t += Prefill(200, 1, len++);
  EXPECT_NEAR(r.first[2], t, 1e-9);
  // B's 4 remaining tokens decode beside A: two sequences per step.
  for (int j = 0; j < 4; ++j) t += Decode(2, (len++) + (201 + j));
  EXPECT_NEAR(r.done[2], t, 1e-9);
  EXPECT_GT(r.done[1], r.done[2]);
}

TEST_F(EngineTest, MaxNumSeqsQueuesRequests) {
  limits_.max_num_seqs = 1;
  VllmEngineSim e(limits_, model_.get());
  Recorder r;
  e.Add(0.0, 1, 64, 3);
  e.Add(0.0, 2, 64, 3);
  EXPECT_EQ(e.waiting(), 1);
  EXPECT_EQ(e.running(), 1);
  e.AdvanceTo(100.0, &r);
  // Request 2 waits for request 1 to finish, then runs the same steps.
  const double one = Prefill(64) + Decode(1, 65) + Decode(1, 66);
  EXPECT_NEAR(r.done[1], one, 1e-9);
  EXPECT_NEAR(r.first[2], one + Prefill(64), 1e-9);
  // Its queue time ended when it entered a step.
  EXPECT_NEAR(r.scheduled[2], one, 1e-9);
  EXPECT_EQ(r.scheduled[1], 0.0);
  EXPECT_NEAR(r.done[2], 2 * one, 1e-9);
}

TEST_F(EngineTest, ChunkedPrefillSplitsALongPromptOverTheTokenBudget) {
  VllmEngineSim e(limits_, model_.get());
  Recorder r;
  e.Add(0.0, 1, 5000, 2);
  e.AdvanceTo(100.0, &r);
  // 2048 + 2048 + 904 tokens, each chunk attending to the ones before it.
  auto chunk = [&](int n, int prior) {
    StepWork w;
    w.prefill_tokens = n;
    w.prefill_pairs = double(n) * prior + double(n) * n / 2;
    w.prefill_context = prior;
    w.sampled = prior + n == 5000 ? 1 : 0;
    return model_->Seconds(w);
  };
  const double ttft = chunk(2048, 0) + chunk(2048, 2048) + chunk(904, 4096);
  EXPECT_NEAR(r.first[1], ttft, 1e-9);
  EXPECT_NEAR(r.done[1], ttft + Decode(1, 5001), 1e-9);
}

// Ten blocks of 16 tokens for two requests of 64 + 64 tokens, the second a step behind:
// both fit until the first needs its sixth block (length 81, while the second holds 5);
// the one admitted last is preempted, recomputes its 80 tokens after the
// first finishes, and goes on. One preemption, as vllm:num_preemptions_total counts.
TEST_F(EngineTest, RunningOutOfKvBlocksPreemptsTheNewestRequest) {
  limits_.num_blocks = 10;
  limits_.max_model_len = 160;
  VllmEngineSim e(limits_, model_.get());
  Recorder r;
  e.Add(0.0, 1, 64, 64);
  e.Add(0.0, 2, 64, 64);
  e.AdvanceTo(1000.0, &r);
  EXPECT_EQ(e.preemptions(), 1);
  ASSERT_TRUE(r.done.count(1) && r.done.count(2));
  EXPECT_EQ(r.tokens[1], 64);
  EXPECT_EQ(r.tokens[2], 64);
  // Request 2 joined the step after request 1's prefill, streamed its first token before
  // it was preempted, and finished after request 1 freed the cache.
  EXPECT_NEAR(r.first[2], r.first[1] + Prefill(64, 1, 65), 1e-9);
  EXPECT_GT(r.done[2], r.done[1]);
  EXPECT_TRUE(e.Idle());
  EXPECT_EQ(e.kv_usage(), 0);
}

TEST_F(EngineTest, KillDropsEverything) {
  VllmEngineSim e(limits_, model_.get());
  Recorder r;
  e.Add(0.0, 1, 100, 100);
  e.Add(0.0, 2, 100, 100);
  e.AdvanceTo(0.2, &r);
  auto in = e.Requests();
  ASSERT_EQ(in.size(), 2u);
  EXPECT_TRUE(in[0].streaming && in[1].streaming);
  e.Kill();
  EXPECT_TRUE(e.Idle());
  EXPECT_EQ(e.NextFinish(), std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace gputwin::serving
