// A serving model's Hugging Face config.json (serving/llm_models.h ParseHfConfig), as a
// scenario's spec.serving.models or --model reads it. A config is read or refused with an
// InputError naming the file; an accepted one must give the positive, finite parameter and
// KV-cache counts the engine derives from it (serving_controller.cc, vllm_config.cc).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/errors.h"
#include "serving/llm_models.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gputwin;
  static const std::string kFile = "models/fuzz/config.json";
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const serving::LlmArchitecture a = serving::ParseHfConfig(text, kFile, "fuzz/model");
    // What the engine computes from every accepted model (int64: UBSan sees an overflow).
    const int64_t total = a.TotalParams();
    const int64_t forward = a.ForwardParams();
    const int64_t active = a.ActiveParamsPerToken();
    const int64_t kv = a.KvBytesPerToken(4);
    if (total <= 0 || forward <= 0 || forward > total || active <= 0 || kv <= 0 ||
        a.max_position_embeddings <= 0) {
      std::fprintf(stderr, "accepted config with total %lld forward %lld active %lld kv %lld\n",
                   static_cast<long long>(total), static_cast<long long>(forward),
                   static_cast<long long>(active), static_cast<long long>(kv));
      std::abort();
    }
  } catch (const InputError& e) {
    if (std::string_view(e.what()).find(kFile) == std::string_view::npos) {
      std::fprintf(stderr, "InputError without the file name: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
