#include "server/api/oip_infer.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/oip_proto.h"

namespace lion::api {
namespace {

using ::testing::HasSubstr;

ServedModel TextModel(runtime::Task task) {
  ServedModel m;
  m.description.name = "m";
  m.description.architecture = runtime::Architecture::kBert;
  m.description.task = task;
  m.description.hidden_size = 4;
  m.description.labels = {"a", "b", "c"};
  return m;
}

OipTensor Ids(std::vector<int64_t> shape, std::vector<int64_t> values,
              std::string name = "input_ids") {
  OipTensor t;
  t.name = std::move(name);
  t.datatype = "INT64";
  t.shape = std::move(shape);
  t.ints = std::move(values);
  return t;
}

TEST(OipInferTest, SplitsRowsAndDropsPaddingByTheMask) {
  const ServedModel m = TextModel(runtime::Task::kMlm);
  OipRequest req;
  req.inputs.push_back(Ids({2, 3}, {2, 7, 3, 2, 3, 0}));
  req.inputs.push_back(Ids({2, 3}, {1, 1, 1, 1, 1, 0}, "attention_mask"));
  req.parameters["pooling"] = std::string("cls");
  req.parameters["normalize"] = true;
  absl::StatusOr<OipPlan> plan = PlanInfer(req, m, {});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->rows.size(), 2u);
  EXPECT_EQ(plan->rows[1]->input.token_ids().ids_size(), 2);  // padding gone
  EXPECT_EQ(plan->rows[0]->input.pooling(), v1::POOLING_CLS);
  EXPECT_TRUE(plan->rows[0]->input.normalize());
  EXPECT_EQ(plan->outputs, std::vector<std::string>{"embeddings"});
  EXPECT_TRUE(plan->rows[0]->embeddings && !plan->rows[0]->logits);
}

TEST(OipInferTest, RefusesWhatItCannotServeByName) {
  const ServedModel m = TextModel(runtime::Task::kMlm);
  auto fails = [&](OipRequest req, const std::string& words) {
    absl::Status s = PlanInfer(req, m, {}).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << words;
    EXPECT_THAT(s.message(), HasSubstr(words));
  };
  OipRequest req;
  req.inputs.push_back(Ids({1, 2}, {2, 3}));
  OipRequest unknown = req;
  unknown.parameters["colour"] = std::string("blue");
  fails(unknown, "colour");
  OipRequest logits = req;
  logits.outputs.push_back({"logits", {}});
  fails(logits, "logits");
  OipRequest shape = req;
  shape.inputs[0].shape = {2};
  fails(shape, "shape");
  OipRequest count = req;
  count.inputs[0].ints.push_back(4);
  fails(count, "3 elements");
  OipRequest both = req;
  OipTensor text;
  text.name = "text";
  text.datatype = "BYTES";
  text.shape = {1};
  text.bytes = {"x"};
  both.inputs.push_back(text);
  fails(both, "exactly one");
  OipRequest gap = req;
  gap.inputs.push_back(Ids({1, 2}, {0, 0}, "attention_mask"));
  fails(gap, "attention_mask");
  OipRequest form = req;
  form.parameters["form"] = std::string("quantum");
  fails(form, "form");
}

TEST(OipInferTest, AssemblesRowsInOrderAndPadsTokenEmbeddings) {
  OipPlan plan;
  plan.outputs = {"logits", "token_embeddings"};
  plan.hidden_size = 2;
  std::vector<runtime::Result> results(2);
  results[0].output.logits = {1, 2, 3};
  results[0].output.token_embeddings = {1, 1, 2, 2};
  results[1].output.logits = {4, 5, 6};
  results[1].output.token_embeddings = {3, 3};
  std::vector<OipOutput> out = AssembleOutputs(plan, results);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(out[0].data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(out[1].shape, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(out[1].data, (std::vector<float>{1, 1, 2, 2, 3, 3, 0, 0}));
}

TEST(OipProtoTest, RawContentsAreCheckedAgainstTheShape) {
  OipTensor t;
  t.name = "text";
  t.datatype = "BYTES";
  std::string raw;
  const uint32_t len = 2;
  raw.append(reinterpret_cast<const char*>(&len), 4).append("hi");
  ASSERT_TRUE(DecodeRaw(raw, 1, &t).ok());
  EXPECT_EQ(t.bytes, std::vector<std::string>{"hi"});
  OipTensor more = t;
  more.bytes.clear();
  EXPECT_THAT(DecodeRaw(raw + raw, 1, &more).message(), HasSubstr("more raw BYTES"));
  OipTensor cut = t;
  cut.bytes.clear();
  EXPECT_THAT(DecodeRaw(raw.substr(0, 5), 1, &cut).message(), HasSubstr("cut short"));
  OipTensor f;
  f.name = "pixel_values";
  f.datatype = "FP32";
  EXPECT_THAT(DecodeRaw(std::string(7, '\0'), 2, &f).message(), HasSubstr("expected 2 x 4"));
  OipTensor d;
  d.name = "x";
  d.datatype = "FP16";
  EXPECT_THAT(DecodeRaw(std::string(4, '\0'), 2, &d).message(), HasSubstr("not taken"));
}

}  // namespace
}  // namespace lion::api
