#include "serving/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gputwin::serving {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

VllmEngineSim::VllmEngineSim(const EngineLimits& limits, const StepTimeModel* model)
    : limits_(limits), model_(model), next_finish_(kInf) {
  phase_count_.assign(static_cast<size_t>(limits_.block_size), 0);
  block_mask_ = limits_.block_size - 1;
  while ((int64_t{1} << block_shift_) < limits_.block_size) ++block_shift_;
  double a = 0;
  model_->DecodeLinear(1, &a, &decode_b_);
}

double VllmEngineSim::DecodeA(int n) const {
  if (decode_a_.size() <= static_cast<size_t>(n)) {
    decode_a_.resize(static_cast<size_t>(n) + 1, 0);
    decode_ok_.resize(static_cast<size_t>(n) + 1, 0);
  }
  if (decode_ok_[n] == 0) {
    double a = 0, b = 0;
    decode_ok_[n] = model_->DecodeLinear(n, &a, &b) ? 1 : 2;
    decode_a_[n] = a;
  }
  return decode_a_[n];
}

uint32_t VllmEngineSim::NewSlot() {
  if (!free_slots_.empty()) {
    uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  seqs_.emplace_back();
  return static_cast<uint32_t>(seqs_.size() - 1);
}

void VllmEngineSim::Add(double t, const RequestTag& tag, int32_t prompt, int32_t output) {
  const uint32_t slot = NewSlot();
  Seq& s = seqs_[slot];
  s = Seq{};
  s.tag = tag;
  s.prompt = prompt;
  s.output = static_cast<int32_t>(
      std::max<int64_t>(1, std::min<int64_t>(output, limits_.max_model_len - prompt)));
  waiting_.push_back(slot);
  if (!plan_.valid) {
    clock_ = std::max(clock_, t);
    PlanStep(clock_);
  } else if (plan_.decode_steps > 1) {
    // The step under way when the request arrived runs as planned; the request joins the
    // one after it.
    plan_.decode_steps = 1;
    plan_.end = plan_.start + plan_.decode_a + plan_.decode_b * double(decode_len_sum_);
    used_blocks_ -= plan_blocks_ - NewDecodeBlocks(1);
    plan_blocks_ = NewDecodeBlocks(1);
  }
  next_finish_ = plan_.valid ? plan_.end : kInf;
}

int64_t VllmEngineSim::NewDecodeBlocks(int64_t k) const {
  // Step d needs a new block for each decoder whose length phase p has (d - 1 + p) % bs
  // == 0; over k steps every phase comes round k / bs times, plus the first k % bs.
  // Block sizes are powers of two (vLLM's choices), so phases are masks, not divisions.
  const int64_t full = k >> block_shift_;
  int64_t blocks = full * decoding_count_;
  const int64_t rest = k & block_mask_;
  for (int64_t j = 0; j < rest; ++j) {
    blocks += phase_count_[static_cast<size_t>((1 - decode_step_ - j) & block_mask_)];
  }
  return blocks;
}

void VllmEngineSim::StartDecoding(uint32_t slot) {
  Seq& s = seqs_[slot];
  const int64_t len = int64_t{s.prompt} + s.generated;
  ++phase_count_[static_cast<size_t>((len - decode_step_) & block_mask_)];
  ++decoding_count_;
  decode_len_sum_ += len;
  // Decode step d produces token generated + 1 + (d - decode_step_).
  s.finish_step = decode_step_ + (s.output - s.generated) - 1;
  s.computed = -1;  // marks a decoder; its length follows from decode_step_
  finish_heap_.push({s.finish_step, slot});
  newest_decoder_.push_back({s.admitted, slot});
  std::push_heap(newest_decoder_.begin(), newest_decoder_.end());
  // Lazy deletion leaves finished decoders behind: drop them when they outnumber the live
  // (a pass over the heap, not over every slot: waiting requests hold slots too).
  if (newest_decoder_.size() > 2 * static_cast<size_t>(decoding_count_) + 64) {
    std::erase_if(newest_decoder_, [&](const std::pair<int64_t, uint32_t>& e) {
      const Seq& q = seqs_[e.second];
      return !q.live || q.computed >= 0 || q.admitted != e.first;
    });
    std::make_heap(newest_decoder_.begin(), newest_decoder_.end());
  }
}

void VllmEngineSim::FreeSeq(uint32_t slot) {
  Seq& s = seqs_[slot];
  used_blocks_ -= s.blocks;
  s.live = false;
  free_slots_.push_back(slot);
}

// Frees a decoder's or prefiller's KV and puts it at the front of the queue (recompute).
void VllmEngineSim::Preempt(uint32_t slot) {
  Seq& s = seqs_[slot];
  if (s.computed < 0) {
    // A decoder's progress follows from the step counter.
    s.generated = static_cast<int32_t>(s.output - (s.finish_step - decode_step_ + 1));
    const int64_t len = int64_t{s.prompt} + s.generated;
    --phase_count_[static_cast<size_t>((len - decode_step_) & block_mask_)];
    --decoding_count_;
    decode_len_sum_ -= len;
    s.blocks = BlocksFor(len - 1);
    s.finish_step = -1;  // its heap entry is stale now
  } else {
    prefilling_.erase(std::find(prefilling_.begin(), prefilling_.end(), slot));
  }
  used_blocks_ -= s.blocks;
  s.blocks = 0;
  s.computed = 0;
  ++preemptions_;
  waiting_.push_front(slot);
}

void VllmEngineSim::PlanStep(double start) {
  plan_.Reset();
  plan_blocks_ = 0;
  if (decoding_count_ == 0 && prefilling_.empty() && waiting_.empty()) {
    next_finish_ = kInf;
    return;
  }
  plan_.start = start;
  int64_t budget = limits_.max_num_batched_tokens;
  const int64_t bs = limits_.block_size;
  bool preempted = false;
  // Running sequences first: decoders need a block when they cross a block boundary,
  // prefillers the blocks of their next chunk. Without room, the most recently admitted
  // running sequence is preempted until the rest fit.
  for (;;) {
    int64_t need = NewDecodeBlocks(1);
    int64_t left = budget - decoding_count_;
    plan_.chunks.clear();
    for (uint32_t slot : prefilling_) {
      if (left <= 0) break;
      const Seq& s = seqs_[slot];
      const int64_t target = int64_t{s.prompt} + s.generated;
      const int64_t n = std::min<int64_t>(target - s.computed, left);
      need += BlocksFor(s.computed + n) - s.blocks;
      plan_.chunks.push_back({slot, static_cast<int32_t>(n)});
      left -= n;
    }
    if (used_blocks_ + need <= limits_.num_blocks || running() == 0) break;
    // The victim: the running sequence admitted last.
    uint32_t victim = 0;
    int64_t newest = -1;
    for (uint32_t slot : prefilling_) {
      if (seqs_[slot].admitted > newest) newest = seqs_[slot].admitted, victim = slot;
    }
    while (!newest_decoder_.empty()) {
      const auto [admitted, slot] = newest_decoder_.front();
      const Seq& q = seqs_[slot];
      if (!q.live || q.computed >= 0 || q.admitted != admitted) {
        // Finished, preempted or a reused slot.
        std::pop_heap(newest_decoder_.begin(), newest_decoder_.end());
        newest_decoder_.pop_back();
        continue;
      }
      if (admitted > newest) newest = admitted, victim = slot;
      break;
    }
    Preempt(victim);
    preempted = true;
  }
  // Blocks the running sequences take this step.
  int64_t tokens = decoding_count_;
  for (auto& [slot, n] : plan_.chunks) {
    Seq& s = seqs_[slot];
    const int64_t nb = BlocksFor(s.computed + n);
    used_blocks_ += nb - s.blocks;
    s.blocks = nb;
    tokens += n;
  }
  const int64_t decode_blocks = NewDecodeBlocks(1);
  used_blocks_ += decode_blocks;
  budget -= tokens;
  // Then waiting requests, in order, unless this step preempted.
  if (!preempted) {
    while (!waiting_.empty() && budget > 0 && running() < limits_.max_num_seqs) {
      const uint32_t slot = waiting_.front();
      Seq& s = seqs_[slot];
      const int64_t target = int64_t{s.prompt} + s.generated;
      if (!limits_.chunked_prefill && target > budget) break;
      const int64_t n = std::min<int64_t>(target, budget);
      const int64_t nb = BlocksFor(n);
      if (used_blocks_ + nb > limits_.num_blocks) break;
      waiting_.pop_front();
      used_blocks_ += nb;
      s.blocks = nb;
      s.computed = 0;
      s.admitted = admitted_++;
      if (s.scheduled < 0) s.scheduled = start;
      prefilling_.push_back(slot);
      plan_.chunks.push_back({slot, static_cast<int32_t>(n)});
      budget -= n;
      tokens += n;
    }
  }
  if (tokens == 0) {
    // Nothing fits (waiting requests blocked with nothing running cannot happen: the
    // engine checked at start-up that one max_model_len request fits).
    plan_.Reset();
    next_finish_ = kInf;
    return;
  }
  plan_.valid = true;
  plan_.decoders = static_cast<int>(decoding_count_);
  plan_blocks_ = decode_blocks;
  if (plan_.chunks.empty()) {
    // Identical decode steps until the first finish or until blocks run short.
    // Time-sliced co-tenants stretch every step by the same factor.
    const double a = DecodeA(plan_.decoders) * time_scale_, b = decode_b_ * time_scale_;
    plan_.decode_a = a;
    plan_.decode_b = b;
    int64_t k = 1;
    if (decode_ok_[static_cast<size_t>(plan_.decoders)] == 1) {
      while (!finish_heap_.empty() &&
             seqs_[finish_heap_.top().second].finish_step != finish_heap_.top().first) {
        finish_heap_.pop();
      }
      k = finish_heap_.top().first - decode_step_ + 1;
      // Blocks: never plan past the free ones (conservatively, a block per decoder per
      // block size of steps).
      const int64_t free = limits_.num_blocks - (used_blocks_ - decode_blocks);
      const int64_t rounds = decoding_count_ > 0 ? free / decoding_count_ : k;
      k = std::max<int64_t>(1, std::min(k, rounds * bs));
      if (k > 1) {
        used_blocks_ += NewDecodeBlocks(k) - decode_blocks;
        plan_blocks_ = NewDecodeBlocks(k);
      }
    }
    plan_.decode_steps = k;
    const double kd = double(k);
    if (decode_ok_[static_cast<size_t>(plan_.decoders)] == 1) {
      plan_.end =
          start + kd * a +
          b * (kd * double(decode_len_sum_) + double(decoding_count_) * kd * (kd - 1) / 2.0);
    } else {
      // Not linear in context (an eager step the host bounds): one step, timed exactly.
      StepWork w;
      w.decode_seqs = w.sampled = plan_.decoders;
      w.decode_context = decode_len_sum_;
      plan_.end = start + time_scale_ * model_->Seconds(w);
    }
  } else {
    StepWork w;
    w.decode_seqs = plan_.decoders;
    w.decode_context = decode_len_sum_;
    w.sampled = plan_.decoders;
    for (auto& [slot, n] : plan_.chunks) {
      const Seq& s = seqs_[slot];
      const double c = s.computed, nn = n;
      w.prefill_tokens += n;
      w.prefill_pairs += nn * c + nn * nn / 2.0;
      w.prefill_context += s.computed;
      if (s.computed + n == s.prompt + s.generated) ++w.sampled;
    }
    plan_.end = start + time_scale_ * model_->Seconds(w);
  }
  next_finish_ = plan_.end;
}

void VllmEngineSim::CommitStep(EngineSink* sink) {
  const double end = plan_.end;
  const int64_t k = plan_.decode_steps;
  busy_seconds_ += end - plan_.start;
  // Decoders advance k tokens.
  tokens_computed_ += decoding_count_ * k;
  decode_len_sum_ += decoding_count_ * k;
  decode_step_ += k;
  steps_ += k;
  while (!finish_heap_.empty() && finish_heap_.top().first < decode_step_) {
    auto [step, slot] = finish_heap_.top();
    finish_heap_.pop();
    Seq& s = seqs_[slot];
    if (!s.live || s.finish_step != step) continue;  // stale
    const int64_t len_at_end = int64_t{s.prompt} + s.output;
    --phase_count_[static_cast<size_t>((len_at_end - decode_step_) & block_mask_)];
    --decoding_count_;
    decode_len_sum_ -= len_at_end;
    s.blocks = BlocksFor(len_at_end - 1);
    s.generated = s.output;
    sink->OnFinished(s.tag, end, s.first_token, s.output, s.prompt);
    FreeSeq(slot);
  }
  // Prefill chunks; a prompt computed in full samples a token.
  for (auto& [slot, n] : plan_.chunks) {
    Seq& s = seqs_[slot];
    tokens_computed_ += n;
    s.computed += n;
    if (s.computed < s.prompt + s.generated) continue;
    prefilling_.erase(std::find(prefilling_.begin(), prefilling_.end(), slot));
    ++s.generated;
    if (!s.streaming) {
      s.streaming = true;
      s.first_token = end;
      sink->OnFirstToken(s.tag, end, s.scheduled, s.prompt);
    }
    if (s.generated >= s.output) {
      sink->OnFinished(s.tag, end, s.first_token, s.output, s.prompt);
      FreeSeq(slot);
    } else {
      StartDecoding(slot);
    }
  }
  clock_ = end;
  plan_.Reset();
}

void VllmEngineSim::AdvanceTo(double t, EngineSink* sink) {
  for (;;) {
    if (!plan_.valid) break;
    if (plan_.end <= t) {
      CommitStep(sink);
      PlanStep(clock_);
      continue;
    }
    if (plan_.decode_steps > 1) {
      // Commit the whole steps of the stretch that end by t.
      const double a = plan_.decode_a, b = plan_.decode_b;
      const double n = plan_.decoders, s = double(decode_len_sum_);
      const double qa = b * n / 2.0, qb = a + b * s - b * n / 2.0, qc = -(t - plan_.start);
      double j = qa > 0 ? (-qb + std::sqrt(qb * qb - 4 * qa * qc)) / (2 * qa) : -qc / qb;
      int64_t steps =
          std::clamp<int64_t>(static_cast<int64_t>(std::floor(j)), 0, plan_.decode_steps - 1);
      auto end_of = [&](int64_t k) {
        const double kd = double(k);
        return plan_.start + kd * a + b * (kd * s + n * kd * (kd - 1) / 2.0);
      };
      while (steps > 0 && end_of(steps) > t) --steps;
      while (steps + 1 < plan_.decode_steps && end_of(steps + 1) <= t) ++steps;
      if (steps > 0) {
        used_blocks_ -= plan_blocks_;
        // Recompute the blocks of the shorter stretch before the counters move.
        const int64_t taken = NewDecodeBlocks(steps);
        used_blocks_ += taken;
        plan_.decode_steps = steps;
        plan_.end = end_of(steps);
        CommitStep(sink);
        PlanStep(clock_);
        continue;
      }
    }
    break;
  }
  next_finish_ = plan_.valid ? plan_.end : kInf;
}

std::vector<VllmEngineSim::InFlight> VllmEngineSim::Requests() const {
  std::vector<InFlight> out;
  for (const Seq& s : seqs_) {
    if (s.live) out.push_back({s.tag, s.prompt, s.streaming});
  }
  return out;
}

void VllmEngineSim::Kill() {
  for (uint32_t slot = 0; slot < seqs_.size(); ++slot) {
    if (seqs_[slot].live) FreeSeq(slot);
  }
  waiting_.clear();
  prefilling_.clear();
  decoding_count_ = 0;
  decode_len_sum_ = 0;
  std::fill(phase_count_.begin(), phase_count_.end(), 0);
  finish_heap_ = {};
  newest_decoder_.clear();
  used_blocks_ = 0;
  plan_.Reset();
  next_finish_ = kInf;
}

}  // namespace gputwin::serving
