// The one description of each queue op's JSON form (docs/queue_ops.md): its
// tag and its payload's fields, in the order they are written. The op
// parser (core/op_parser.h) and SerializeQueueOp (core/queue_op.h) both
// work from these tables, so a new field is one line here plus the member
// in core/queue_op.h.
//
// A required field must be present; an optional one may be absent or null
// (both read as the member's default) and is written only when it differs
// from its default. A field's JSON type follows from its member's type
// (std::string: a string; uint64_t, uint32_t: a non-negative integer in
// range; int64_t: a signed integer; bool; Uuid: a UUID string;
// std::optional<T>: T), except where `text` says otherwise.
#ifndef PIGTAIL_CORE_OP_GRAMMAR_H_
#define PIGTAIL_CORE_OP_GRAMMAR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

#include "core/queue_op.h"

namespace pigtail::op_grammar {

enum class Presence : uint8_t { kRequired, kOptional };

// How a std::string member is read and written.
enum class Text : uint8_t {
  kString,     // any string
  kQueueName,  // a string that passes ValidateQueueName
  kJson,       // any JSON value, kept as its compact text (json::serialize)
};

template <typename Op, typename T>
struct Field {
  std::string_view name;
  T Op::*member;
  Presence presence;
  Text text;
};

template <typename Op, typename T>
constexpr Field<Op, T> Required(std::string_view name, T Op::*member, Text text = Text::kString) {
  return {name, member, Presence::kRequired, text};
}
template <typename Op, typename T>
constexpr Field<Op, T> Optional(std::string_view name, T Op::*member, Text text = Text::kString) {
  return {name, member, Presence::kOptional, text};
}

// Grammar<Op>: kTag, and kFields, a tuple of Fields. kBare: the payload is
// the value of the one field itself instead of an object.
template <typename Op>
struct Grammar;

template <>
struct Grammar<CreateOp> {
  static constexpr std::string_view kTag = "Create";
  static constexpr bool kBare = false;
  static constexpr auto kFields =
      std::make_tuple(Required("name", &CreateOp::name, Text::kQueueName),
                      Required("timeout_ms", &CreateOp::timeout_ms),
                      Optional("max_attempts", &CreateOp::max_attempts),
                      Optional("backoff_ms", &CreateOp::backoff_ms));
};

template <>
struct Grammar<DeleteOp> {
  static constexpr std::string_view kTag = "Delete";
  static constexpr bool kBare = true;
  static constexpr auto kFields =
      std::make_tuple(Required("name", &DeleteOp::name, Text::kQueueName));
};

template <>
struct Grammar<AddOp> {
  static constexpr std::string_view kTag = "Add";
  static constexpr bool kBare = false;
  static constexpr auto kFields = std::make_tuple(
      Required("queue_name", &AddOp::queue_name, Text::kQueueName),
      Required("task_name", &AddOp::task_name), Required("info", &AddOp::info_json, Text::kJson),
      Optional("priority", &AddOp::priority), Optional("delay_ms", &AddOp::delay_ms),
      Optional("max_attempts", &AddOp::max_attempts), Optional("timeout_ms", &AddOp::timeout_ms),
      Optional("run_at_ms", &AddOp::run_at_ms));
};

// The fields of the ops a worker's requests write.
template <typename Op>
constexpr auto WorkerFields() {
  return std::make_tuple(Required("queue_name", &Op::queue_name, Text::kQueueName),
                         Required("id", &Op::id), Required("worker_id", &Op::worker_id),
                         Optional("lease", &Op::lease), Optional("round", &Op::round));
}

template <>
struct Grammar<ProgressOp> {
  static constexpr std::string_view kTag = "Progress";
  static constexpr bool kBare = false;
  static constexpr auto kFields = std::tuple_cat(
      WorkerFields<ProgressOp>(),
      std::make_tuple(Optional("progress", &ProgressOp::progress_json, Text::kJson)));
};

template <>
struct Grammar<DoneOp> {
  static constexpr std::string_view kTag = "Done";
  static constexpr bool kBare = false;
  static constexpr auto kFields =
      std::tuple_cat(WorkerFields<DoneOp>(),
                     std::make_tuple(Optional("result", &DoneOp::result_json, Text::kJson)));
};

template <>
struct Grammar<FailOp> {
  static constexpr std::string_view kTag = "Fail";
  static constexpr bool kBare = false;
  static constexpr auto kFields = std::tuple_cat(
      WorkerFields<FailOp>(), std::make_tuple(Optional("error", &FailOp::error),
                                              Optional("retry_in_ms", &FailOp::retry_in_ms),
                                              Optional("dead", &FailOp::dead)));
};

template <>
struct Grammar<CancelOp> {
  static constexpr std::string_view kTag = "Cancel";
  static constexpr bool kBare = false;
  static constexpr auto kFields =
      std::make_tuple(Required("queue_name", &CancelOp::queue_name, Text::kQueueName),
                      Required("id", &CancelOp::id), Optional("round", &CancelOp::round));
};

template <>
struct Grammar<PauseOp> {
  static constexpr std::string_view kTag = "Pause";
  static constexpr bool kBare = false;
  static constexpr auto kFields =
      std::make_tuple(Required("queue_name", &PauseOp::queue_name, Text::kQueueName),
                      Required("paused", &PauseOp::paused));
};

template <>
struct Grammar<PurgeOp> {
  static constexpr std::string_view kTag = "Purge";
  static constexpr bool kBare = false;
  static constexpr auto kFields = std::make_tuple(
      Required("queue_name", &PurgeOp::queue_name, Text::kQueueName), Required("id", &PurgeOp::id));
};

template <>
struct Grammar<RetryOp> {
  static constexpr std::string_view kTag = "Retry";
  static constexpr bool kBare = false;
  static constexpr auto kFields =
      std::make_tuple(Required("queue_name", &RetryOp::queue_name, Text::kQueueName),
                      Required("id", &RetryOp::id), Required("round", &RetryOp::round));
};

// {"Batch":[op,...]}: an array of tagged task ops, not a field list.
template <>
struct Grammar<BatchOp> {
  static constexpr std::string_view kTag = "Batch";
};

// The tags in QueueOp's order: kTags[i] is the tag of alternative i.
inline constexpr auto kTags = []<size_t... I>(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{
      Grammar<std::variant_alternative_t<I, QueueOp>>::kTag...};
}
(std::make_index_sequence<std::variant_size_v<QueueOp>>());

// The index in QueueOp of the op tagged `tag`, or -1.
constexpr int TagIndex(std::string_view tag) {
  for (size_t i = 0; i < kTags.size(); ++i) {
    if (kTags[i] == tag) return static_cast<int>(i);
  }
  return -1;
}

template <typename Op>
inline constexpr int kIndexOf = TagIndex(Grammar<Op>::kTag);

template <typename Op>
inline constexpr size_t kFieldCount = std::tuple_size_v<decltype(Grammar<Op>::kFields)>;

// Calls fn(field) for every field of Op, in order.
template <typename Op, typename Fn>
constexpr void ForEachField(Fn&& fn) {
  std::apply([&](const auto&... field) { (fn(field), ...); }, Grammar<Op>::kFields);
}

}  // namespace pigtail::op_grammar

#endif  // PIGTAIL_CORE_OP_GRAMMAR_H_
