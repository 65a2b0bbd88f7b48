// lion-model-run: runs a model directory on inputs from a .safetensors file
// and writes every output to another .safetensors file. Used by the parity
// tests against the PyTorch reference (tests/python/test_model_parity.py) and
// handy for debugging a converted checkpoint.
//
//   lion-model-run MODEL_DIR INPUTS.safetensors OUTPUTS.safetensors [full|chunk|rnn] [CHUNK]
//                  [cpu|cuda|cuda:N] [float32|bfloat16|float16]
//
// Inputs (F32): lion_bert: input_ids [B, L] and lengths [B] (ids stored as
// floats, exact below 2^24), optional token_type_ids; lion_vit: pixel_values
// [B, C, H, W]. Outputs: hidden_states, pooled (config pooling), logits (when
// the model classifies), mlm_logits [B, L, V] (MLM models, when B*L*V <= 2^28).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"
#include "server/model/lion_model.h"
#include "server/model/safetensors.h"

namespace lion::model {
namespace {

absl::Status WriteSafetensors(const std::string& path,
                              const std::map<std::string, at::Tensor>& ts) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  std::vector<at::Tensor> data;
  for (const auto& [name, t] : ts) {
    at::Tensor c = t.to(at::kCPU).to(at::kFloat).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(c.numel()) * 4;
    header[name] = {
        {"dtype", "F32"}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string text = header.dump();
  while (text.size() % 8) text.push_back(' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(text.data(), static_cast<std::streamsize>(n));
  for (const at::Tensor& c : data) {
    out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * 4));
  }
  return out.good() ? absl::OkStatus() : absl::InternalError("cannot write " + path);
}

absl::Status Run(int argc, char** argv) {
  if (argc < 4) {
    return absl::InvalidArgumentError(
        "usage: lion-model-run MODEL_DIR INPUTS.safetensors OUTPUTS.safetensors [form] [chunk] "
        "[device] [dtype]");
  }
  at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  ForwardOptions options;
  if (argc > 4 && !kernels::ParseForm(argv[4], &options.form)) {
    return absl::InvalidArgumentError(std::string("unknown form ") + argv[4]);
  }
  if (argc > 5) options.chunk_size = std::stoll(argv[5]);
  LoadOptions placement;
  if (argc > 6) {
    ASSIGN_OR_RETURN(placement.device, kernels::TorchCall(absl::StatusCode::kInvalidArgument,
                                                          std::string("bad device ") + argv[6],
                                                          [&] { return at::Device(argv[6]); }));
  }
  if (argc > 7) {
    const std::string dtype = argv[7];
    if (dtype == "bfloat16")
      placement.dtype = at::kBFloat16;
    else if (dtype == "float16")
      placement.dtype = at::kHalf;
    else if (dtype != "float32")
      return absl::InvalidArgumentError("bad dtype " + dtype);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LionModel> model, LionModel::Load(argv[1], placement));
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> inputs, SafetensorsFile::Open(argv[2]));
  BatchInput batch;
  const ModelConfig& c = model->config();
  if (c.is_bert()) {
    ASSIGN_OR_RETURN(at::Tensor ids, inputs->Float32("input_ids"));
    ASSIGN_OR_RETURN(at::Tensor lengths, inputs->Float32("lengths"));
    batch.input_ids = ids.to(at::kLong);
    batch.lengths = lengths.to(at::kLong);
    if (inputs->contains("token_type_ids")) {
      ASSIGN_OR_RETURN(at::Tensor types, inputs->Float32("token_type_ids"));
      batch.token_type_ids = types.to(at::kLong);
    }
  } else {
    ASSIGN_OR_RETURN(batch.pixels, inputs->Float32("pixel_values"));
    batch.pixels = batch.pixels.contiguous();
  }
  ASSIGN_OR_RETURN(Encoded enc, model->Encode(batch, options));
  std::map<std::string, at::Tensor> out = {{"hidden_states", enc.hidden},
                                           {"pooled", model->Pool(enc, model->default_pooling())}};
  if (c.task == Task::kClassification) {
    ASSIGN_OR_RETURN(out["logits"], model->ClassLogits(enc));
  }
  const int64_t B = enc.hidden.size(0), L = enc.hidden.size(1);
  // Every position's vocabulary logits, unless that would not fit (long inputs).
  if (c.is_bert() && c.has_mlm_head && B * L * c.vocab_size <= (int64_t{1} << 28)) {
    ASSIGN_OR_RETURN(at::Tensor logits, model->MlmLogits(enc.hidden.reshape({B * L, -1})));
    const at::Tensor valid =
        at::arange(L, enc.lengths.options()).unsqueeze(0).lt(enc.lengths.unsqueeze(1)).unsqueeze(2);
    out["mlm_logits"] = logits.view({B, L, -1}) * valid.to(logits.scalar_type());
  }
  return WriteSafetensors(argv[3], out);
}

}  // namespace
}  // namespace lion::model

int main(int argc, char** argv) {
  const absl::Status s = lion::model::Run(argc, argv);
  if (!s.ok()) {
    std::cerr << "lion-model-run: " << s << "\n";
    return 1;
  }
  return 0;
}
