// Committed float64 oracle outputs (scripts/make_kernel_fixtures) against the
// scalar reference and every optimized form: catches a regression in the
// reference itself, not only disagreement between our implementations.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lion/kernels/lion_attention.h"
#include "lion/kernels/lion_attention_reference.h"
#include "tests/kernels/attention_test_util.h"

namespace lion::kernels {
namespace {

nlohmann::json LoadCases() {
  const char* root = std::getenv("LION_SOURCE_DIR");
  const std::string path =
      std::string(root ? root : LION_SOURCE_DIR_DEFAULT) + "/tests/kernels/fixtures/lion_attention_cases.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  return nlohmann::json::parse(in)["cases"];
}

at::Tensor FromJson(const nlohmann::json& values, at::IntArrayRef shape) {
  std::vector<float> data = values.get<std::vector<float>>();
  return at::tensor(data, at::kFloat).reshape(shape).contiguous();
}

TEST(LionAttentionFixtureTest, ReferenceAndFormsMatchOracle) {
  const nlohmann::json cases = LoadCases();
  ASSERT_EQ(cases.size(), 20u);
  for (const nlohmann::json& c : cases) {
    const int64_t L = c["length"], d = c["d"];
    AttentionOptions o;
    o.normalize = c["normalize"];
    o.scale = c["scale"].get<float>();
    o.eps = c["eps"].get<float>();
    const at::Tensor q = FromJson(c["q"], {1, 1, L, d}), k = FromJson(c["k"], {1, 1, L, d});
    const at::Tensor v = FromJson(c["v"], {1, 1, L, d});
    std::vector<double> expected_data = c["expected"];
    const at::Tensor expected = at::tensor(expected_data, at::kDouble).reshape({1, 1, L, d});
    std::vector<at::Tensor> gs;
    for (const auto& g : c["g"]) gs.push_back(FromJson(g, {1, 1, L}));
    const std::string name = c["variant"].get<std::string>() + " L=" + std::to_string(L);
    AttentionShape shape{1, 1, L, d, d};
    at::Tensor ref = at::empty({1, 1, L, d}, at::kFloat);
    if (!c.contains("orders")) {
      ASSERT_TRUE(LionAttentionReference(shape, q.data_ptr<float>(), k.data_ptr<float>(),
                                         v.data_ptr<float>(), gs[0].data_ptr<float>(), nullptr, o,
                                         ref.data_ptr<float>())
                      .ok());
      EXPECT_LE(testing::RelErr(ref, expected), 1e-6) << "reference " << name;
      for (auto [form, C] : {std::pair{Form::kFull, 1}, {Form::kChunk, 4}, {Form::kRnn, 1}}) {
        o.form = form;
        o.chunk_size = C;
        absl::StatusOr<at::Tensor> y = LionAttention(q, k, v, gs[0], at::Tensor(), o);
        ASSERT_TRUE(y.ok()) << y.status();
        EXPECT_LE(testing::RelErr(*y, expected), 1e-5) << FormName(form) << " " << name;
      }
    } else {
      std::vector<std::vector<int64_t>> orders = c["orders"];
      std::vector<at::Tensor> order_tensors;
      const int64_t* order_ptrs[2];
      const float* g_ptrs[2];
      for (int m = 0; m < 2; ++m) {
        order_tensors.push_back(at::tensor(orders[m], at::kLong));
        order_ptrs[m] = orders[m].data();
        g_ptrs[m] = gs[m].data_ptr<float>();
      }
      ASSERT_TRUE(LionAttentionMultiOrderReference(shape, q.data_ptr<float>(), k.data_ptr<float>(),
                                                   v.data_ptr<float>(), 2, order_ptrs, g_ptrs, o,
                                                   ref.data_ptr<float>())
                      .ok());
      EXPECT_LE(testing::RelErr(ref, expected), 1e-6) << "multi-order reference " << name;
      for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
        o.form = form;
        o.chunk_size = 3;
        absl::StatusOr<at::Tensor> y = LionAttentionMultiOrder(q, k, v, order_tensors, gs, o);
        ASSERT_TRUE(y.ok()) << y.status();
        EXPECT_LE(testing::RelErr(*y, expected), 1e-5) << "multi-order " << FormName(form);
      }
    }
  }
}

}  // namespace
}  // namespace lion::kernels
