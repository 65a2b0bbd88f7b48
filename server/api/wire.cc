#include "server/api/wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include "absl/strings/str_cat.h"
#include "server/tokenizer/utf8.h"

namespace lion::api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

absl::Status NotAMessage(const google::protobuf::Message& m) {
  return absl::InvalidArgumentError(absl::StrCat("request: not a valid ",
                                                 m.GetDescriptor()->full_name(),
                                                 " message (malformed protobuf wire data)"));
}

// Byte offset of the first invalid UTF-8 sequence in `s`, or npos.
size_t FirstBadUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    const size_t len = tokenizer::DecodeUtf8Char(s, i, &c);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Walks the top-level fields of the message in `bytes`. Each string field's
// length is checked against its limit before it is read; with `check_utf8`
// the string fields are also read and checked for valid UTF-8 (the slow path,
// taken only for messages that failed to parse).
absl::Status ScanTopLevel(const grpc::ByteBuffer& bytes, const WireLimits& limits,
                          const google::protobuf::Message& prototype, bool check_utf8) {
  grpc::ByteBuffer shared(bytes);  // shares the slices; the reader needs a mutable one
  grpc::ProtoBufferReader reader(&shared);
  google::protobuf::io::CodedInputStream in(&reader);
  const google::protobuf::Descriptor* type = prototype.GetDescriptor();
  std::string value;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return absl::OkStatus();  // end, or malformed (the parse will tell)
    const FieldDescriptor* field = type->FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool is_string = field != nullptr && field->type() == FieldDescriptor::TYPE_STRING &&
                           WireFormatLite::GetTagWireType(tag) ==
                               WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (!is_string) {
      if (!WireFormatLite::SkipField(&in, tag)) return NotAMessage(prototype);
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return NotAMessage(prototype);
    const bool text = field->name() == "text";
    const int64_t limit = text ? limits.max_text_bytes : limits.max_name_bytes;
    if (static_cast<int64_t>(length) > limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          field->name(), ": ", length, " bytes, more than the limit of ", limit, " bytes",
          text ? " (--max_text_bytes)" : ""));
    }
    if (!check_utf8) {
      if (!in.Skip(static_cast<int>(length))) return NotAMessage(prototype);
      continue;
    }
    if (!in.ReadString(&value, static_cast<int>(length))) return NotAMessage(prototype);
    if (const size_t bad = FirstBadUtf8(value); bad != std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(field->name(), ": not valid UTF-8 (bad byte at offset ", bad, ")"));
    }
  }
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, const WireLimits& limits,
                          google::protobuf::Message* out) {
  out->Clear();
  if (absl::Status s = ScanTopLevel(bytes, limits, *out, /*check_utf8=*/false); !s.ok()) return s;
  grpc::ByteBuffer shared(bytes);
  grpc::ProtoBufferReader reader(&shared);
  bool parsed;
  {
    // protobuf logs every invalid UTF-8 string at ERROR level; the client gets
    // the reason instead (and a hostile client cannot flood the log).
    google::protobuf::LogSilencer quiet;
    parsed = out->ParseFromZeroCopyStream(&reader);
  }
  if (parsed) return absl::OkStatus();
  out->Clear();
  if (absl::Status s = ScanTopLevel(bytes, limits, *out, /*check_utf8=*/true); !s.ok()) return s;
  return NotAMessage(*out);
}

absl::Status SerializeResponse(const google::protobuf::Message& message, int64_t max_bytes,
                               grpc::ByteBuffer* out) {
  const size_t size = message.ByteSizeLong();
  if (static_cast<int64_t>(size) > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the response would be ", size, " bytes, more than --max_message_bytes=", max_bytes,
        " (ask for fewer outputs)"));
  }
  bool own_buffer = false;
  grpc::Status s = grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(
      message, out, &own_buffer);
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("cannot serialize the response: ", s.error_message()));
  }
  return absl::OkStatus();
}

std::string Quoted(absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return absl::StrCat("'", value, "'");
  size_t cut = max_bytes;
  // Back up to a character start so the message stays valid UTF-8.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat("'", value.substr(0, cut), "...' (", value.size(), " bytes)");
}

}  // namespace lion::api
