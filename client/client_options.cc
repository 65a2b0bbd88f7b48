#include "client/client_options.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace lion::client {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read TLS file '", path, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(const TlsOptions& tls) {
  if (!tls.on()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(tls.root_cert_file));
  ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(tls.client_cert_file));
  ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(tls.client_key_file));
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::Status ClientOptions::Validate() const {
  if (address.empty()) return absl::InvalidArgumentError("client: address must not be empty");
  if (deadline.count() <= 0) return absl::InvalidArgumentError("client: deadline must be positive");
  if (tls.client_cert_file.empty() != tls.client_key_file.empty()) {
    return absl::InvalidArgumentError("client: TLS client cert and key go together");
  }
  if (api_key.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError("client: api_key must be one line");
  }
  if (max_message_bytes <= 0)
    return absl::InvalidArgumentError("client: max_message_bytes must be positive");
  return retry.Validate();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(auto credentials, MakeCredentials(options.tls));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (!options.tls.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name_override);
  }
  return grpc::CreateCustomChannel(options.address, credentials, args);
}

}  // namespace lion::client
