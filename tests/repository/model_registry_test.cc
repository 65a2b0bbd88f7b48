#include "server/repository/model_registry.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/repository/repository_scan.h"
#include "tests/common/temp_path.h"

namespace lion::repository {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<ServedModel> Model(const std::string& name, int64_t hidden) {
  auto m = std::make_shared<ServedModel>();
  m->description.name = name;
  m->description.hidden_size = hidden;
  return m;
}

TEST(ModelRegistryTest, SwapsKeepWhatRequestsHold) {
  ModelRegistry registry;
  registry.Put(Model("a", 1));
  EXPECT_EQ(registry.Find("a").status().code(), absl::StatusCode::kUnavailable);  // not published
  registry.MarkPublished();
  ModelRef held = *registry.Find("a");
  ModelRef replaced = registry.Put(Model("a", 2));
  EXPECT_EQ(replaced, held);
  EXPECT_EQ((*registry.Find("a"))->description.hidden_size, 2);
  EXPECT_EQ(held->description.hidden_size, 1);  // a request in flight keeps its version
  EXPECT_EQ(registry.Remove("a")->description.hidden_size, 2);
  EXPECT_EQ(registry.Find("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(held.use_count(), 2);  // `held` and `replaced`: the registry let go
}

TEST(ModelRegistryTest, StatesAndReasons) {
  ModelRegistry registry;
  registry.MarkPublished();
  registry.SetState("b", ModelState::kLoading, "");
  registry.SetState("c", ModelState::kUnavailable, "failed to load c: bad config.json");
  registry.Put(Model("d", 1));
  EXPECT_THAT(registry.Find("b").status().message(), HasSubstr("loading"));
  absl::Status broken = registry.Find("c").status();
  EXPECT_EQ(broken.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(broken.message(), HasSubstr("bad config.json"));
  EXPECT_EQ((*registry.Find(""))->description.name, "d");  // the first *served* model
  absl::Status missing = registry.Find("e").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("models: d"));
  // A failed reload keeps the served version and reports why.
  registry.SetState("d", ModelState::kUnavailable, "reload failed");
  std::vector<ModelStatus> index = registry.Index();
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index[2].name, "d");
  EXPECT_EQ(index[2].state, ModelState::kReady);
  EXPECT_EQ(index[2].reason, "reload failed");
  EXPECT_TRUE(registry.Find("d").ok());
  EXPECT_EQ(registry.models().size(), 1u);
}

TEST(RepositoryScanTest, ListsModelFoldersAndSeesChanges) {
  namespace fs = std::filesystem;
  const fs::path root = testing_util::UniqueTempPath("repo_scan");
  fs::create_directories(root / "m1");
  fs::create_directories(root / ".staging");
  fs::create_directories(root / "no_config");
  std::ofstream(root / "m1" / "config.json") << "{}";
  std::ofstream(root / ".staging" / "config.json") << "{}";
  std::vector<ModelDirectory> dirs = ScanRepository(root.string());
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs[0].name, "m1");
  const std::string before = dirs[0].fingerprint;
  std::ofstream(root / "m1" / "model.safetensors") << "weights";
  EXPECT_NE(Fingerprint((root / "m1").string()), before);
  std::ofstream(root / "m1" / "calibration.json") << "{}";  // written by the server itself
  EXPECT_EQ(Fingerprint((root / "m1").string()), ScanRepository(root.string())[0].fingerprint);
  EXPECT_TRUE(ScanRepository((root / "missing").string()).empty());
  fs::remove_all(root);
}

}  // namespace
}  // namespace lion::repository
