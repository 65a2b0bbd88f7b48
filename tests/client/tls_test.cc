// LionClient's TLS options against the fake server with the test-only
// certificates in testdata/ (make_certs.sh): server TLS, and mutual TLS.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "client/lion_client.h"
#include "tests/client/fake_inference_server.h"

namespace lion::client {
namespace {

std::string TestData(const std::string& name) {
  const char* root = std::getenv("LION_SOURCE_DIR");
  return std::string(root != nullptr ? root : ".") + "/tests/client/testdata/" + name;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TlsTest : public ::testing::Test {
 protected:
  void Start(bool require_client_cert) {
    testing::FakeServerOptions o;
    o.tls_cert_pem = Read(TestData("server.pem"));
    o.tls_key_pem = Read(TestData("server.key"));
    ASSERT_FALSE(o.tls_cert_pem.empty()) << "missing " << TestData("server.pem");
    if (require_client_cert) o.tls_client_ca_pem = Read(TestData("ca.pem"));
    server_ = testing::FakeInferenceServer::Start(o);
    ASSERT_NE(server_, nullptr);
  }

  absl::Status Call(const TlsOptions& tls) {
    ClientOptions options{.address = server_->address(), .tls = tls, .retry = {.max_attempts = 1}};
    auto client = LionClient::Create(options);
    if (!client.ok()) return client.status();
    return (*client)->ListModels({.deadline = std::chrono::milliseconds(5000)}).status();
  }

  std::unique_ptr<testing::FakeInferenceServer> server_;
};

TEST_F(TlsTest, ServerTlsWithTheRightCa) {
  Start(/*require_client_cert=*/false);
  EXPECT_TRUE(Call({.root_cert_file = TestData("ca.pem")}).ok());
  // The test CA is not among the system roots, and plaintext is refused.
  EXPECT_TRUE(absl::IsUnavailable(Call({.enabled = true})));
  EXPECT_TRUE(absl::IsUnavailable(Call({})));
}

TEST_F(TlsTest, MutualTlsNeedsTheClientCertificate) {
  Start(/*require_client_cert=*/true);
  EXPECT_TRUE(Call({.root_cert_file = TestData("ca.pem"),
                    .client_cert_file = TestData("client.pem"),
                    .client_key_file = TestData("client.key")})
                  .ok());
  EXPECT_TRUE(absl::IsUnavailable(Call({.root_cert_file = TestData("ca.pem")})));
}

TEST_F(TlsTest, ServerNameOverride) {
  Start(/*require_client_cert=*/false);
  // The certificate names localhost and 127.0.0.1, not this.
  EXPECT_TRUE(absl::IsUnavailable(
      Call({.root_cert_file = TestData("ca.pem"), .server_name_override = "not-the-server"})));
  EXPECT_TRUE(
      Call({.root_cert_file = TestData("ca.pem"), .server_name_override = "localhost"}).ok());
}

}  // namespace
}  // namespace lion::client
