// Queue operations (the `data` of an event): never throw, and every op that
// parses serializes to text that parses back to the same op, and that text
// is a fixed point. Inputs holding a number Boost.JSON itself does not
// round-trip (its 1.81 parser rounds some long numbers inexactly, so an
// Add's info changes with each serialize and parse) are skipped.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/queue_op.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pigtail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  const boost::json::value tree = boost::json::parse(text, ec);
  if (!ec) {
    const std::string once = boost::json::serialize(tree);
    const boost::json::value again = boost::json::parse(once, ec);
    if (ec || boost::json::serialize(again) != once) return 0;
  }
  OpParse parsed = ParseQueueOpText(text);
  const QueueOp* op = std::get_if<QueueOp>(&parsed);
  if (op == nullptr) return 0;
  std::string serialized = SerializeQueueOp(*op);
  OpParse again = ParseQueueOpText(serialized);
  const QueueOp* op2 = std::get_if<QueueOp>(&again);
  FUZZ_CHECK(op2 != nullptr, "serialized op does not parse as an op: " + serialized);
  FUZZ_CHECK(*op2 == *op, "op changed through serialization: " + serialized);
  FUZZ_CHECK(SerializeQueueOp(*op2) == serialized, serialized);
  return 0;
}
