#include "config/proto_format.h"

#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include "util/error.h"

namespace diffuse {
namespace {

namespace pb = google::protobuf;

const char* format_name(ConfigFormat format) {
  switch (format) {
    case ConfigFormat::kBinary: return "binary";
    case ConfigFormat::kText: return "text";
    case ConfigFormat::kJson: return "json";
  }
  return "unknown format";
}

[[noreturn]] void fail_format(const pb::Message& message, ConfigFormat format, const std::string& details) {
  fail(ErrorCode::kInvalidConfig, "{} ({}): {}", message.GetDescriptor()->full_name(), format_name(format),
       details);
}

// Collects the text parser's errors instead of letting protobuf print them to stderr.
class CollectingErrors : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    // The parser counts from 0; editors count from 1.
    errors_.push_back(fmt::format("{}:{}: {}", line + 1, column + 1, message));
  }

  std::string joined() const {
    std::string out;
    for (const std::string& error : errors_) {
      if (!out.empty()) out += "; ";
      out += error;
    }
    return out.empty() ? "malformed text format" : out;
  }

 private:
  std::vector<std::string> errors_;
};

// proto3 `string` fields must hold UTF-8 (RFC 3629: no overlong forms, surrogates or code points above
// U+10FFFF). The binary and JSON parsers check it; the text parser accepts any escaped bytes.
bool is_utf8(const std::string& text) {
  static constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};  // by continuation-byte count
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    // Continuation bytes after the lead byte, and the payload bits the lead byte carries.
    int continuation = 0;
    uint32_t code_point = lead;
    if (lead >= 0xF8) {
      return false;
    } else if (lead >= 0xF0) {
      continuation = 3;
      code_point = lead & 0x07;
    } else if (lead >= 0xE0) {
      continuation = 2;
      code_point = lead & 0x0F;
    } else if (lead >= 0xC0) {
      continuation = 1;
      code_point = lead & 0x1F;
    } else if (lead >= 0x80) {
      return false;  // a continuation byte without a lead byte
    }
    if (text.size() - i <= static_cast<size_t>(continuation)) return false;
    for (int k = 1; k <= continuation; ++k) {
      const unsigned char byte = static_cast<unsigned char>(text[i + k]);
      if ((byte & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (byte & 0x3F);
    }
    if (code_point < kSmallest[continuation] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += continuation + 1;
  }
  return true;
}

bool has_invalid_utf8(const pb::Message& message, const pb::FieldDescriptor* field) {
  if (field->type() != pb::FieldDescriptor::TYPE_STRING ||
      field->file()->syntax() != pb::FileDescriptor::SYNTAX_PROTO3) {
    return false;
  }
  const pb::Reflection* reflection = message.GetReflection();
  if (!field->is_repeated()) return !is_utf8(reflection->GetString(message, field));
  for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
    if (!is_utf8(reflection->GetRepeatedString(message, field, i))) return true;
  }
  return false;
}

// Every format must give the same guarantees: binary parsing keeps fields it does not know in the
// UnknownFieldSet instead of failing, and text parsing lets invalid UTF-8 through. Returns a description
// of the first such problem in `message` or its sub-messages, or "" if there is none.
std::string find_problem(const pb::Message& message, const std::string& path) {
  const pb::Reflection* reflection = message.GetReflection();
  const pb::UnknownFieldSet& unknown = reflection->GetUnknownFields(message);
  if (!unknown.empty()) {
    return fmt::format("unknown field number {} in {}", unknown.field(0).number(), path);
  }
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    const std::string field_path = path + "." + field->name();
    if (has_invalid_utf8(message, field)) return fmt::format("invalid UTF-8 in {}", field_path);
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        std::string found = find_problem(reflection->GetRepeatedMessage(message, field, i),
                                         fmt::format("{}[{}]", field_path, i));
        if (!found.empty()) return found;
      }
    } else {
      std::string found = find_problem(reflection->GetMessage(message, field), field_path);
      if (!found.empty()) return found;
    }
  }
  return "";
}

void parse_binary(const void* data, size_t len, pb::Message* out) {
  if (len > static_cast<size_t>(INT_MAX)) {
    fail_format(*out, ConfigFormat::kBinary, fmt::format("{} bytes exceed the 2 GiB protobuf limit", len));
  }
  if (!out->ParseFromArray(data, static_cast<int>(len))) {
    fail_format(*out, ConfigFormat::kBinary, fmt::format("malformed protobuf ({} bytes)", len));
  }
}

void parse_text(const void* data, size_t len, pb::Message* out) {
  if (len > static_cast<size_t>(INT_MAX)) {
    fail_format(*out, ConfigFormat::kText, fmt::format("{} bytes exceed the 2 GiB limit", len));
  }
  pb::io::ArrayInputStream input(data, static_cast<int>(len));
  CollectingErrors errors;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.Parse(&input, out)) fail_format(*out, ConfigFormat::kText, errors.joined());
}

void parse_json(const void* data, size_t len, pb::Message* out) {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const pb::util::Status status =
      pb::util::JsonStringToMessage(pb::StringPiece(static_cast<const char*>(data), len), out, options);
  if (!status.ok()) fail_format(*out, ConfigFormat::kJson, status.ToString());
}

}  // namespace

void parse_config(const void* data, size_t len, ConfigFormat format, pb::Message* out) {
  out->Clear();
  if (data == nullptr && len > 0) {
    fail(ErrorCode::kInvalidArgument, "{}: null data with length {}", out->GetDescriptor()->full_name(), len);
  }
  switch (format) {
    case ConfigFormat::kBinary: parse_binary(data, len, out); break;
    case ConfigFormat::kText: parse_text(data, len, out); break;
    case ConfigFormat::kJson: parse_json(data, len, out); break;
    default:
      fail(ErrorCode::kInvalidArgument, "{}: unknown config format {}", out->GetDescriptor()->full_name(),
           static_cast<int>(format));
  }
  const std::string problem = find_problem(*out, out->GetDescriptor()->full_name());
  if (!problem.empty()) fail_format(*out, format, problem);
}

std::string print_config(const pb::Message& message, ConfigFormat format) {
  std::string out;
  switch (format) {
    case ConfigFormat::kBinary:
      if (!message.SerializeToString(&out)) fail_format(message, format, "cannot serialize");
      return out;
    case ConfigFormat::kText:
      if (!pb::TextFormat::Printer().PrintToString(message, &out)) fail_format(message, format, "cannot print");
      return out;
    case ConfigFormat::kJson: {
      pb::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      options.always_print_primitive_fields = false;
      const pb::util::Status status = pb::util::MessageToJsonString(message, &out, options);
      if (!status.ok()) fail_format(message, format, status.ToString());
      return out;
    }
  }
  fail(ErrorCode::kInvalidArgument, "{}: unknown config format {}", message.GetDescriptor()->full_name(),
       static_cast<int>(format));
}

}  // namespace diffuse

namespace diffuse {
namespace {

// A double or float field's value made canonical, or an error naming it.
template <typename T>
T canonical(T value, const std::string& field) {
  if (!std::isfinite(value)) fail(ErrorCode::kInvalidConfig, "{}: {} is not finite", field, value);
  return value == 0 ? T(0) : value;  // -0 == 0: both become +0
}

}  // namespace

void canonicalize_numbers(google::protobuf::Message* message, const std::string& name) {
  namespace pb = google::protobuf;
  const pb::Reflection* reflection = message->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string field = name + "." + f->name();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      case pb::FieldDescriptor::CPPTYPE_FLOAT: {
        const bool is_float = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT;
        const int n = f->is_repeated() ? reflection->FieldSize(*message, f) : 1;
        for (int i = 0; i < n; ++i) {
          const std::string where = f->is_repeated() ? fmt::format("{}[{}]", field, i) : field;
          if (is_float) {
            const float v = f->is_repeated() ? reflection->GetRepeatedFloat(*message, f, i) : reflection->GetFloat(*message, f);
            f->is_repeated() ? reflection->SetRepeatedFloat(message, f, i, canonical(v, where))
                             : reflection->SetFloat(message, f, canonical(v, where));
          } else {
            const double v = f->is_repeated() ? reflection->GetRepeatedDouble(*message, f, i) : reflection->GetDouble(*message, f);
            f->is_repeated() ? reflection->SetRepeatedDouble(message, f, i, canonical(v, where))
                             : reflection->SetDouble(message, f, canonical(v, where));
          }
        }
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (f->is_repeated()) {
          for (int i = 0; i < reflection->FieldSize(*message, f); ++i) {
            canonicalize_numbers(reflection->MutableRepeatedMessage(message, f, i), fmt::format("{}[{}]", field, i));
          }
        } else {
          canonicalize_numbers(reflection->MutableMessage(message, f), field);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace diffuse
