#include "serving/llm_models.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

namespace gputwin::serving {
namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct BuiltinEntry {
  std::vector<std::string> names;  // the base and its instruction-tuned variants
  LlmArchitecture arch;            // name filled from names[0]
};

// Facts of each model's config.json on the Hugging Face hub. Variants that share an
// architecture (base and instruct) share an entry; max_position_embeddings differs between
// Llama 3 (8192) and 3.1+ (131072), so those are separate.
LlmArchitecture Arch(int layers, int hidden, int inter, int heads, int kv, int head_dim, int vocab,
                     int64_t max_pos, bool tied, int experts = 0, int top_k = 0) {
  LlmArchitecture a;
  a.num_hidden_layers = layers;
  a.hidden_size = hidden;
  a.intermediate_size = inter;
  a.num_attention_heads = heads;
  a.num_key_value_heads = kv;
  a.head_dim = head_dim;
  a.vocab_size = vocab;
  a.max_position_embeddings = max_pos;
  a.tie_word_embeddings = tied;
  a.num_local_experts = experts;
  a.num_experts_per_tok = top_k;
  a.torch_dtype = "bfloat16";
  return a;
}

const std::vector<BuiltinEntry>& Builtin() {
  static const std::vector<BuiltinEntry> table = [] {
    std::vector<BuiltinEntry> t = {
        {{"meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B-Instruct"},
         Arch(32, 4096, 14336, 32, 8, 128, 128256, 8192, false)},
        {{"meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct",
          "meta-llama/Meta-Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B-Instruct"},
         Arch(32, 4096, 14336, 32, 8, 128, 128256, 131072, false)},
        {{"meta-llama/Meta-Llama-3-70B", "meta-llama/Meta-Llama-3-70B-Instruct"},
         Arch(80, 8192, 28672, 64, 8, 128, 128256, 8192, false)},
        {{"meta-llama/Llama-3.1-70B", "meta-llama/Llama-3.1-70B-Instruct",
          "meta-llama/Meta-Llama-3.1-70B", "meta-llama/Meta-Llama-3.1-70B-Instruct",
          "meta-llama/Llama-3.3-70B-Instruct"},
         Arch(80, 8192, 28672, 64, 8, 128, 128256, 131072, false)},
        {{"meta-llama/Llama-3.1-405B", "meta-llama/Llama-3.1-405B-Instruct",
          "meta-llama/Meta-Llama-3.1-405B", "meta-llama/Meta-Llama-3.1-405B-Instruct"},
         Arch(126, 16384, 53248, 128, 8, 128, 128256, 131072, false)},
        {{"meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B-Instruct"},
         Arch(16, 2048, 8192, 32, 8, 64, 128256, 131072, true)},
        {{"meta-llama/Llama-3.2-3B", "meta-llama/Llama-3.2-3B-Instruct"},
         Arch(28, 3072, 8192, 24, 8, 128, 128256, 131072, true)},
        {{"mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1",
          "mistralai/Mistral-7B-Instruct-v0.2"},
         Arch(32, 4096, 14336, 32, 8, 128, 32000, 32768, false)},
        {{"mistralai/Mistral-7B-v0.3", "mistralai/Mistral-7B-Instruct-v0.3"},
         Arch(32, 4096, 14336, 32, 8, 128, 32768, 32768, false)},
        {{"mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"},
         Arch(32, 4096, 14336, 32, 8, 128, 32000, 32768, false, 8, 2)},
        {{"Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct"},
         Arch(28, 3584, 18944, 28, 4, 128, 152064, 32768, false)},
        {{"Qwen/Qwen2.5-32B", "Qwen/Qwen2.5-32B-Instruct"},
         Arch(64, 5120, 27648, 40, 8, 128, 152064, 32768, false)},
        {{"Qwen/Qwen2.5-72B", "Qwen/Qwen2.5-72B-Instruct"},
         Arch(80, 8192, 29568, 64, 8, 128, 152064, 32768, false)},
        {{"google/gemma-2-9b", "google/gemma-2-9b-it"},
         Arch(42, 3584, 14336, 16, 8, 256, 256000, 8192, true)},
        {{"google/gemma-2-27b", "google/gemma-2-27b-it"},
         Arch(46, 4608, 36864, 32, 16, 128, 256000, 8192, true)},
    };
    for (auto& e : t) e.arch.name = e.names[0];
    return t;
  }();
  return table;
}

// 1-based line of byte `at` of a text.
int LineAt(const std::string& text, size_t at) {
  at = std::min(at, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

// 1-based line of the first `"key"` in a JSON text, 0 if absent.
int LineOf(const std::string& text, const std::string& key) {
  size_t at = text.find("\"" + key + "\"");
  return at == std::string::npos ? 0 : LineAt(text, at);
}

}  // namespace

int64_t LlmArchitecture::EmbeddingParams() const {
  return int64_t{vocab_size} * hidden_size;
}

int64_t LlmArchitecture::AttentionParamsPerLayer() const {
  const int64_t q = int64_t{num_attention_heads} * head_dim;
  const int64_t kv = int64_t{num_key_value_heads} * head_dim;
  return int64_t{hidden_size} * (q + 2 * kv) + q * hidden_size;
}

int64_t LlmArchitecture::ExpertParams() const {
  return 3 * int64_t{hidden_size} * intermediate_size;
}

int64_t LlmArchitecture::TotalParams() const {
  const int64_t experts = std::max(1, num_local_experts);
  const int64_t router = num_local_experts > 0 ? int64_t{hidden_size} * num_local_experts : 0;
  const int64_t per_layer = AttentionParamsPerLayer() + experts * ExpertParams() + router;
  return int64_t{num_hidden_layers} * per_layer + EmbeddingParams() * (tie_word_embeddings ? 1 : 2);
}

int64_t LlmArchitecture::ForwardParams() const {
  return TotalParams() - (tie_word_embeddings ? 0 : EmbeddingParams());
}

int64_t LlmArchitecture::ActiveParamsPerToken() const {
  const int64_t experts = num_local_experts > 0 ? num_experts_per_tok : 1;
  const int64_t router = num_local_experts > 0 ? int64_t{hidden_size} * num_local_experts : 0;
  return int64_t{num_hidden_layers} *
             (AttentionParamsPerLayer() + experts * ExpertParams() + router) +
         EmbeddingParams();  // the LM head
}

int64_t LlmArchitecture::KvBytesPerToken(int dtype_bytes) const {
  return int64_t{2} * num_hidden_layers * num_key_value_heads * head_dim * dtype_bytes;
}

const LlmArchitecture* LlmModelTable::Find(const std::string& name) const {
  const std::string want = Lower(name);
  for (const auto& m : added_) {
    if (Lower(m.name) == want) return &m;
  }
  for (const auto& e : Builtin()) {
    for (const auto& n : e.names) {
      if (Lower(n) == want) return &e.arch;
    }
  }
  return nullptr;
}

std::vector<std::string> LlmModelTable::BuiltinNames() const {
  std::vector<std::string> out;
  for (const auto& e : Builtin()) out.insert(out.end(), e.names.begin(), e.names.end());
  return out;
}

void LlmModelTable::Add(const LlmArchitecture& model) {
  for (auto& m : added_) {
    if (Lower(m.name) == Lower(model.name)) {
      m = model;
      return;
    }
  }
  added_.push_back(model);
}

std::string UnknownModelMessage(const LlmModelTable& table, const std::string& name) {
  std::string known;
  for (const auto& e : Builtin()) known += (known.empty() ? "" : ", ") + e.names.back();
  (void)table;
  return "unknown model \"" + name + "\": built in are " + known +
         " (and their base or instruct variants); add any other model from its Hugging Face "
         "config.json (spec.serving.models: [{name, config}] in a scenario, or --model "
         "path/to/config.json)";
}

LlmArchitecture ParseHfConfig(const std::string& text, const std::string& file,
                              const std::string& name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(SourceRef{file, LineAt(text, e.byte)}, "",
                     std::string("not valid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    // A number past double's range ("number overflow parsing '1e309'"): its line, by its text.
    const std::string what = e.what();
    const size_t open = what.find('\''), close = what.rfind('\'');
    int line = 0;
    if (open != std::string::npos && close > open + 1) {
      const size_t at = text.find(what.substr(open + 1, close - open - 1));
      if (at != std::string::npos) line = LineAt(text, at);
    }
    throw InputError(SourceRef{file, line}, "", "not valid JSON: " + what);
  }
  if (!j.is_object()) throw InputError(SourceRef{file, 1}, "", "a config.json is a JSON object");
  // Multimodal configs keep the language model under text_config.
  const nlohmann::json& c = (!j.contains("num_hidden_layers") && j.contains("text_config") &&
                             j["text_config"].is_object())
                                ? j["text_config"]
                                : j;
  auto where = [&](const std::string& key) { return SourceRef{file, LineOf(text, key)}; };
  auto integer = [&](const std::string& key, std::optional<int64_t> fallback) -> int64_t {
    if (!c.contains(key) || c[key].is_null()) {
      if (fallback) return *fallback;
      throw InputError(SourceRef{file, 0}, key,
                       "Required value: a Hugging Face config.json states " + key);
    }
    if (!c[key].is_number_integer() || c[key].get<int64_t>() <= 0) {
      throw InputError(where(key), key, "must be a positive integer, not " + c[key].dump());
    }
    return c[key].get<int64_t>();
  };
  auto as_int = [&](const std::string& key, int64_t v) {
    if (v > 1'000'000'000) throw InputError(where(key), key, "is implausibly large");
    return static_cast<int>(v);
  };
  LlmArchitecture a;
  a.name = name;
  a.num_hidden_layers = as_int("num_hidden_layers", integer("num_hidden_layers", std::nullopt));
  a.hidden_size = as_int("hidden_size", integer("hidden_size", std::nullopt));
  a.num_attention_heads =
      as_int("num_attention_heads", integer("num_attention_heads", std::nullopt));
  a.vocab_size = as_int("vocab_size", integer("vocab_size", std::nullopt));
  // MoE configs: Mixtral's num_local_experts, Qwen-MoE's num_experts with
  // moe_intermediate_size per expert.
  const bool qwen_moe = c.contains("num_experts") && c.contains("moe_intermediate_size");
  a.intermediate_size =
      qwen_moe ? as_int("moe_intermediate_size", integer("moe_intermediate_size", std::nullopt))
               : as_int("intermediate_size", integer("intermediate_size", std::nullopt));
  a.num_key_value_heads =
      as_int("num_key_value_heads", integer("num_key_value_heads", int64_t{a.num_attention_heads}));
  a.head_dim =
      as_int("head_dim", integer("head_dim", int64_t{a.hidden_size / a.num_attention_heads}));
  if (a.head_dim <= 0) {  // transformers' hidden_size // num_attention_heads
    throw InputError(where("num_attention_heads"), "num_attention_heads",
                     "exceeds hidden_size (" + std::to_string(a.hidden_size) +
                         "): the head dimension would be 0 (state head_dim)");
  }
  if (c.contains("num_local_experts") && !c["num_local_experts"].is_null()) {
    a.num_local_experts = as_int("num_local_experts", integer("num_local_experts", std::nullopt));
  } else if (qwen_moe) {
    a.num_local_experts = as_int("num_experts", integer("num_experts", std::nullopt));
  }
  if (a.num_local_experts > 0) {
    a.num_experts_per_tok =
        as_int("num_experts_per_tok", integer("num_experts_per_tok", std::nullopt));
    if (a.num_experts_per_tok > a.num_local_experts) {
      throw InputError(where("num_experts_per_tok"), "num_experts_per_tok",
                       "exceeds the number of experts");
    }
  }
  if (a.num_key_value_heads > a.num_attention_heads ||
      a.num_attention_heads % a.num_key_value_heads != 0) {
    throw InputError(
        where("num_key_value_heads"), "num_key_value_heads",
        "must divide num_attention_heads (" + std::to_string(a.num_attention_heads) + ")");
  }
  // Each size alone may be plausible and their product not: the parameter counts are int64
  // (the largest open models have about 2 × 10^12 parameters).
  {
    const long double q = static_cast<long double>(a.num_attention_heads) * a.head_dim;
    const long double kv = static_cast<long double>(a.num_key_value_heads) * a.head_dim;
    const long double experts = std::max(1, a.num_local_experts);
    const long double per_layer = a.hidden_size * (2 * q + 2 * kv) +
                                  experts * 3 * a.hidden_size * a.intermediate_size +
                                  static_cast<long double>(a.hidden_size) * a.num_local_experts;
    const long double total = a.num_hidden_layers * per_layer + 2.0L * a.vocab_size * a.hidden_size;
    if (total > 1e15L) {
      char about[32];
      std::snprintf(about, sizeof about, "%.2g", static_cast<double>(total));
      throw InputError(where("hidden_size"), "hidden_size",
                       std::string("with these sizes the model would have about ") + about +
                           " parameters: implausibly large (at most 10^15)");
    }
  }
  if (c.contains("tie_word_embeddings") && c["tie_word_embeddings"].is_boolean()) {
    a.tie_word_embeddings = c["tie_word_embeddings"].get<bool>();
  }
  // vLLM treats a config without torch_dtype as float32.
  a.torch_dtype = "float32";
  if (c.contains("torch_dtype") && c["torch_dtype"].is_string()) {
    a.torch_dtype = c["torch_dtype"].get<std::string>();
  } else if (c.contains("dtype") && c["dtype"].is_string()) {
    a.torch_dtype = c["dtype"].get<std::string>();
  }
  if (a.torch_dtype != "float32" && a.torch_dtype != "float16" && a.torch_dtype != "bfloat16") {
    throw InputError(where("torch_dtype"), "torch_dtype",
                     "Unsupported value: \"" + a.torch_dtype +
                         "\": supported values: \"bfloat16\", \"float16\", \"float32\"");
  }
  // vLLM derives the context length from the first of these keys it finds, else 2048.
  a.max_position_embeddings = 2048;
  for (const char* key : {"max_position_embeddings", "n_positions", "max_seq_len", "seq_length",
                          "model_max_length", "max_sequence_length"}) {
    if (c.contains(key) && c[key].is_number_integer() && c[key].get<int64_t>() > 0) {
      a.max_position_embeddings = c[key].get<int64_t>();
      break;
    }
  }
  return a;
}

}  // namespace gputwin::serving
