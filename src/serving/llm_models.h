// Large language models as vLLM loads them: the facts of a Hugging Face config.json that
// decide memory and time (layers, widths, heads, vocabulary, experts, dtype).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/errors.h"

namespace gputwin::serving {

struct LlmArchitecture {
  std::string name;  // Hugging Face repository id, e.g. "meta-llama/Llama-3.1-8B-Instruct"
  int num_hidden_layers = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;  // hidden_size / num_attention_heads unless the config says otherwise
  int vocab_size = 0;
  int num_local_experts = 0;    // MoE (Mixtral); 0 for dense models
  int num_experts_per_tok = 0;  // experts each token is routed to
  bool tie_word_embeddings = false;
  std::string torch_dtype = "bfloat16";
  int64_t max_position_embeddings = 0;

  // Parameter counts (norms and biases are under 0.1 % and left out).
  int64_t EmbeddingParams() const;
  int64_t AttentionParamsPerLayer() const;
  int64_t ExpertParams() const;  // one gated MLP (gate, up, down)
  int64_t TotalParams() const;
  // Weights a forward pass reads (all but the embedding table, whose rows are gathered;
  // tied embeddings are read once as the LM head). MoE: every expert.
  int64_t ForwardParams() const;
  // Parameters each token multiplies through (top-k experts of an MoE).
  int64_t ActiveParamsPerToken() const;
  // Keys and values of one token across all layers.
  int64_t KvBytesPerToken(int dtype_bytes) const;
};

// The models one run knows: a built-in table of popular open models by their Hugging Face
// names, plus models a scenario adds from config.json files.
class LlmModelTable {
 public:
  // nullptr for an unknown model. Case-insensitive on the Hugging Face id.
  const LlmArchitecture* Find(const std::string& name) const;
  std::vector<std::string> BuiltinNames() const;
  void Add(const LlmArchitecture& model);

 private:
  std::deque<LlmArchitecture> added_;
};

// Reads a Hugging Face config.json (`text` from `file`), naming the model `name`. Errors
// name the file, line and field.
LlmArchitecture ParseHfConfig(const std::string& text, const std::string& file,
                              const std::string& name);

// "unknown model X: built in are ...; add one with ..." for errors.
std::string UnknownModelMessage(const LlmModelTable& table, const std::string& name);

}  // namespace gputwin::serving
