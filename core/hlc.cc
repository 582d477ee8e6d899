#include "core/hlc.h"

#include <boost/json.hpp>

#include "core/json_fields.h"

namespace pigtail {
namespace {

template <typename T>
void AppendBigEndian(T value, std::string* out) {
  for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

template <typename T>
T ReadBigEndian(std::string_view bytes) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<T>(value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

}  // namespace

void Hlc::AppendEncoded(std::string* out) const {
  AppendBigEndian(epoch, out);
  AppendBigEndian(time, out);
  AppendBigEndian(count, out);
}

std::string Hlc::Encoded() const {
  std::string out;
  out.reserve(kEncodedSize);
  AppendEncoded(&out);
  return out;
}

Result<Hlc> Hlc::Decode(std::string_view bytes) {
  if (bytes.size() != kEncodedSize) return Status::Corruption("HLC must be 16 bytes");
  Hlc hlc;
  hlc.epoch = ReadBigEndian<uint32_t>(bytes.substr(0, 4));
  hlc.time = ReadBigEndian<uint64_t>(bytes.substr(4, 8));
  hlc.count = ReadBigEndian<uint32_t>(bytes.substr(12, 4));
  return hlc;
}

std::string Hlc::ToJson() const {
  return "[" + std::to_string(epoch) + ",[" + std::to_string(time) + "]," + std::to_string(count) +
         "]";
}

Result<Hlc> ParseHlc(std::string_view json_text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json_text, ec);
  if (ec) return Status::InvalidArgument("HLC is not valid JSON: " + ec.message());
  return json_fields::ToHlc(v, "HLC");
}

}  // namespace pigtail
