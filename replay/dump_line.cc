#include "replay/dump_line.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

namespace pigtail::replay {

std::string DumpLine(std::string_view bytes) {
  if (bytes.find_first_of("\r\n") == std::string_view::npos && !bytes.starts_with('"')) {
    return std::string(bytes);
  }
  return boost::json::serialize(boost::json::string(bytes));
}

Result<std::string> DumpLineBytes(std::string_view line) {
  if (!line.starts_with('"')) return std::string(line);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_string()) {
    return Status::InvalidArgument("a line starting with '\"' is not one JSON string" +
                                   (ec ? ": " + ec.message() : std::string()));
  }
  return std::string(v.get_string());
}

}  // namespace pigtail::replay
