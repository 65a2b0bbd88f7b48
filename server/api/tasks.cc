#include "server/api/tasks.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/api/input.h"
#include "server/common/status_macros.h"
#include "server/metrics/metrics.h"

namespace lion::api {
namespace {

using model::TaskName;

// A method missing from Metrics::kMethods would have no zero series.
constexpr bool Counted(std::string_view method) {
  for (std::string_view m : metrics::Metrics::kMethods) {
    if (m == method) return true;
  }
  return false;
}
static_assert(Counted(ClassifyTask::kMethod) && Counted(ClassifyTask::kStreamMethod) &&
              Counted(EmbedTask::kMethod) && Counted(EmbedTask::kStreamMethod) &&
              Counted(FillMaskTask::kMethod) && Counted(TokenizeTask::kMethod) &&
              Counted(InferRowTask::kMethod));

absl::Status NeedTask(const ServedModel& m, runtime::Task task, const char* method) {
  if (m.description.task == task) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(method, " needs a ", TaskName(task), " model; model ", m.description.name,
                   " is a ", TaskName(m.description.task), " model"));
}

// Decodes input and form into a Request with `length` set.
template <typename Req>
absl::StatusOr<std::unique_ptr<runtime::Request>> Common(const Req& req, const ServedModel& m,
                                                         const std::function<bool()>& should_stop) {
  auto r = std::make_unique<runtime::Request>();
  ASSIGN_OR_RETURN(r->forced_form, DecodeForm(req.form()));
  ASSIGN_OR_RETURN(r->input, DecodeInput(ViewOf(req), m, should_stop));
  r->length = r->input.Length(m.description.patch_size);
  return r;
}

// INVALID_ARGUMENT when a response of about `bytes` could not be sent.
absl::Status CheckResponseSize(const ServedModel& m, double bytes, const std::string& what) {
  if (bytes <= static_cast<double>(m.max_response_bytes)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      what, " make a response of about ", static_cast<int64_t>(bytes),
      " bytes, more than --max_message_bytes=", m.max_response_bytes));
}

// Protobuf bytes of one candidate or prediction beyond its string: field
// tags, an int32 id and a float score (a generous round figure).
constexpr double kEntryOverheadBytes = 24;

// Candidates per mask FillMask returns for `top_k`.
size_t FillMaskK(uint32_t top_k, int64_t vocab) {
  const size_t k = top_k == 0 ? 5 : top_k;
  return std::min<size_t>(k, static_cast<size_t>(std::max<int64_t>(vocab, 1)));
}

// Softmax of `logits` (stable).
std::vector<float> Softmax(const float* logits, size_t n) {
  std::vector<float> p(logits, logits + n);
  if (n == 0) return p;
  const float max = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (float& v : p) sum += (v = std::exp(v - max));
  for (float& v : p) v = static_cast<float>(v / sum);
  return p;
}

// Indices of the k largest scores, best first (ties: lower index first).
std::vector<int32_t> TopK(const std::vector<float>& scores, size_t k) {
  std::vector<int32_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](int32_t a, int32_t b) {
                      return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
                    });
  idx.resize(k);
  return idx;
}

// L2-normalises `v` in place (a zero vector stays zero).
void Normalize(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& x : v) x = static_cast<float>(x / norm);
  }
}

runtime::Pooling PoolingOf(v1::Pooling p) {
  return p == v1::POOLING_MEAN  ? runtime::Pooling::kMean
         : p == v1::POOLING_CLS ? runtime::Pooling::kCls
                                : runtime::Pooling::kDefault;
}

absl::Status CheckPooling(v1::Pooling p) {
  if (v1::Pooling_IsValid(p)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("pooling: unknown value ", static_cast<int>(p)));
}

// The token embeddings of `r` must fit a response.
absl::Status CheckTokenEmbeddingsSize(const ServedModel& m, const runtime::Request& r) {
  // Packed floats: 4 bytes each.
  return CheckResponseSize(
      m, 4.0 * static_cast<double>(r.length) * static_cast<double>(m.description.hidden_size),
      absl::StrCat("return_token_embeddings: ", r.length, " tokens x ", m.description.hidden_size,
                   " floats"));
}

}  // namespace

void FillUsage(const runtime::Usage& u, v1::Usage* out) {
  out->set_input_tokens(static_cast<uint32_t>(u.input_tokens));
  out->set_form(static_cast<v1::Form>(static_cast<int>(u.form)));
  out->set_batch_size(static_cast<uint32_t>(u.batch_size));
  out->set_queue_us(static_cast<uint64_t>(u.queue_us));
  out->set_compute_us(static_cast<uint64_t>(u.compute_us));
  out->set_total_us(static_cast<uint64_t>(u.total_us));
}

absl::StatusOr<std::unique_ptr<runtime::Request>> ClassifyTask::Build(
    const Req& req, const ServedModel& m, const std::function<bool()>& should_stop) {
  RETURN_IF_ERROR(NeedTask(m, runtime::Task::kClassification, kMethod));
  ASSIGN_OR_RETURN(auto r, Common(req, m, should_stop));
  r->outputs.logits = true;
  return r;
}

void ClassifyTask::Fill(const Req& req, const ServedModel& m, const runtime::OutputRequest& asked,
                        runtime::Result result, Resp* resp) {
  const std::vector<float>& logits = result.output.logits;
  std::vector<float> scores =
      req.raw_scores() ? logits : Softmax(logits.data(), logits.size());
  const size_t k = req.top_k() == 0 ? scores.size() : req.top_k();
  for (int32_t i : TopK(scores, k)) {
    v1::Prediction* p = resp->add_predictions();
    p->set_index(i);
    p->set_score(scores[i]);
    if (static_cast<size_t>(i) < m.description.labels.size()) p->set_label(m.description.labels[i]);
  }
  FillUsage(result.usage, resp->mutable_usage());
}

absl::StatusOr<std::unique_ptr<runtime::Request>> EmbedTask::Build(
    const Req& req, const ServedModel& m, const std::function<bool()>& should_stop) {
  RETURN_IF_ERROR(CheckPooling(req.pooling()));
  ASSIGN_OR_RETURN(auto r, Common(req, m, should_stop));
  if (req.return_token_embeddings()) RETURN_IF_ERROR(CheckTokenEmbeddingsSize(m, *r));
  r->outputs.pooled = true;
  r->outputs.pooling = PoolingOf(req.pooling());
  r->outputs.token_embeddings = req.return_token_embeddings();
  return r;
}

void EmbedTask::Fill(const Req& req, const ServedModel& m, const runtime::OutputRequest& asked,
                     runtime::Result result, Resp* resp) {
  std::vector<float>& e = result.output.pooled;
  if (req.normalize()) Normalize(e);
  resp->mutable_embedding()->Assign(e.begin(), e.end());
  if (req.return_token_embeddings()) {
    const std::vector<float>& t = result.output.token_embeddings;
    const int64_t hidden = m.description.hidden_size;
    v1::Tensor* tensor = resp->mutable_token_embeddings();
    tensor->add_shape(hidden > 0 ? static_cast<int64_t>(t.size()) / hidden : 0);
    tensor->add_shape(hidden);
    tensor->mutable_data()->Assign(t.begin(), t.end());
  }
  FillUsage(result.usage, resp->mutable_usage());
}

absl::StatusOr<std::unique_ptr<runtime::Request>> FillMaskTask::Build(
    const Req& req, const ServedModel& m, const std::function<bool()>& should_stop) {
  RETURN_IF_ERROR(NeedTask(m, runtime::Task::kMlm, kMethod));
  ASSIGN_OR_RETURN(auto r, Common(req, m, should_stop));
  const int32_t mask = m.tokenizer != nullptr ? m.tokenizer->mask_id() : -1;
  for (size_t i = 0; i < r->input.token_ids.size(); ++i) {
    if (r->input.token_ids[i] == mask) r->outputs.mlm_positions.push_back(static_cast<int32_t>(i));
  }
  if (mask < 0 || r->outputs.mlm_positions.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        req.has_text() ? "text" : "token_ids", ": no mask token ([MASK], id ", mask,
        ") in the input of model ", m.description.name));
  }
  const size_t k = FillMaskK(req.top_k(), m.description.vocab_size);
  const size_t masks = r->outputs.mlm_positions.size();
  const double token_bytes = m.tokenizer != nullptr ? m.tokenizer->longest_token_bytes() : 16;
  RETURN_IF_ERROR(CheckResponseSize(
      m, static_cast<double>(masks * k) * (token_bytes + kEntryOverheadBytes),
      absl::StrCat("top_k: ", k, " candidates for each of ", masks, " masks")));
  return r;
}

void FillMaskTask::Fill(const Req& req, const ServedModel& m, const runtime::OutputRequest& asked,
                        runtime::Result result, Resp* resp) {
  const size_t vocab = static_cast<size_t>(m.description.vocab_size);
  const size_t k = FillMaskK(req.top_k(), m.description.vocab_size);
  const std::vector<float>& logits = result.output.mlm_logits;
  const size_t rows = std::min(asked.mlm_positions.size(), logits.size() / std::max<size_t>(1, vocab));
  for (size_t row = 0; row < rows; ++row) {
    std::vector<float> probs = Softmax(logits.data() + row * vocab, vocab);
    v1::MaskPrediction* mask = resp->add_masks();
    mask->set_position(asked.mlm_positions[row]);
    for (int32_t id : TopK(probs, k)) {
      v1::Candidate* c = mask->add_candidates();
      c->set_id(id);
      c->set_score(probs[id]);
      if (m.tokenizer != nullptr) c->set_token(std::string(m.tokenizer->IdToToken(id)));
    }
  }
  FillUsage(result.usage, resp->mutable_usage());
}

absl::StatusOr<TokenizeTask::Resp> TokenizeTask::Respond(const Req& req, const ServedModel& m,
                                                         const std::function<bool()>& should_stop) {
  if (m.tokenizer == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Tokenize needs a text model; model ", m.description.name, " takes images"));
  }
  if (!v1::Truncation_IsValid(req.truncation())) {
    return absl::InvalidArgumentError(
        absl::StrCat("truncation: unknown value ", static_cast<int>(req.truncation())));
  }
  if (req.text().empty()) return absl::InvalidArgumentError("text: must not be empty");
  if (static_cast<int64_t>(req.text().size()) > m.max_text_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("text: ", req.text().size(),
                                                   " bytes, more than the limit of ",
                                                   m.max_text_bytes, " bytes (--max_text_bytes)"));
  }
  tokenizer::EncodeOptions options;
  options.add_special_tokens = req.add_special_tokens();
  options.max_length = static_cast<uint32_t>(m.max_input_tokens);
  options.truncation = ToTokenizerTruncation(req.truncation());
  options.should_stop = should_stop;
  auto encoding = m.tokenizer->Encode(req.text(), options);
  if (!encoding.ok()) {
    if (encoding.status().code() == absl::StatusCode::kCancelled) return encoding.status();
    return absl::InvalidArgumentError(absl::StrCat("text: ", encoding.status().message()));
  }
  Resp resp;
  resp.set_id(req.id());
  resp.set_model(m.description.name);
  resp.mutable_ids()->Assign(encoding->ids.begin(), encoding->ids.end());
  for (size_t i = 0; i < encoding->size(); ++i) {
    resp.add_tokens(encoding->tokens[i]);
    v1::Offset* offset = resp.add_offsets();
    offset->set_start(encoding->offsets[i].first);
    offset->set_end(encoding->offsets[i].second);
  }
  return resp;
}

absl::StatusOr<std::unique_ptr<runtime::Request>> InferRowTask::Build(
    const Req& req, const ServedModel& m, const std::function<bool()>& should_stop) {
  if (req.logits && m.description.task != runtime::Task::kClassification) {
    return absl::InvalidArgumentError(absl::StrCat(
        "outputs: model ", m.description.name, " has no output 'logits' (its task is ",
        TaskName(m.description.task), " model)"));
  }
  RETURN_IF_ERROR(CheckPooling(req.input.pooling()));
  ASSIGN_OR_RETURN(auto r, Common(req.input, m, should_stop));
  if (req.token_embeddings) RETURN_IF_ERROR(CheckTokenEmbeddingsSize(m, *r));
  r->outputs.logits = req.logits;
  r->outputs.pooled = req.embeddings;
  r->outputs.pooling = PoolingOf(req.input.pooling());
  r->outputs.token_embeddings = req.token_embeddings;
  return r;
}

void InferRowTask::Fill(const Req& req, const ServedModel& m, const runtime::OutputRequest& asked,
                        runtime::Result result, Resp* resp) {
  if (req.input.normalize()) Normalize(result.output.pooled);
  *resp = std::move(result);
}

}  // namespace lion::api
