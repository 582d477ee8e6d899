// How Pigtail values travel to and from PostgreSQL in text format: array
// literals for the unnest(...) batch statements, bytea in hex form, and
// decoding of result fields. Every value travels as a statement parameter;
// the array literals are built only from hex digits, canonical UUIDs and
// integers, so no input byte can change their structure.
#ifndef PIGTAIL_BACKENDS_POSTGRES_VALUES_H_
#define PIGTAIL_BACKENDS_POSTGRES_VALUES_H_

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

// Builds a PostgreSQL array literal ("{a,b,NULL}") element by element.
// Pass the result as a parameter cast to the matching array type
// ($1::bytea[], $1::uuid[], $1::bigint[], $1::text[]).
class PgArrayBuilder {
 public:
  PgArrayBuilder() : text_("{") {}

  void AddBytea(std::string_view bytes);  // element of a bytea[]
  void AddUuid(const Uuid& id);           // element of a uuid[]
  void AddUuidOrNull(const std::optional<Uuid>& id);
  void AddInt(int64_t v);                 // element of a bigint[]
  void AddHexText(std::string_view hex);  // REQUIRES: only [0-9a-f]; element of a text[]
  void AddNull();

  size_t size() const { return count_; }
  // The literal. The builder is empty afterwards.
  std::string Take();

 private:
  void Separate();

  std::string text_;
  size_t count_ = 0;
};

// `s` as PostgreSQL text can hold it: valid UTF-8 (invalid bytes become
// U+FFFD, as ValidUtf8 does), without NUL (also U+FFFD). For columns
// meant for reading; the exact bytes stay in the registers.
std::string DisplayText(std::string_view s);

// The text input form of a bytea: \x followed by lower-case hex digits.
std::string ByteaHexLiteral(std::string_view bytes);

// The bytes of a bytea result field (text format). REQUIRES: not null.
std::string ByteaField(const pqxx::field& f);

// A uuid result field; Corruption if it does not parse. REQUIRES: not null.
Result<Uuid> UuidField(const pqxx::field& f);

// An int64 result field as uint64; Corruption if negative.
Result<uint64_t> U64Field(const pqxx::field& f);

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_POSTGRES_VALUES_H_
