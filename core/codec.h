// Canonical binary encodings of the registers. The same bytes are hashed for
// the digest and stored by the backends, so two states are equal iff their
// encodings are. Format (all integers big-endian) in docs/registers.md.
#ifndef PIGTAIL_CORE_CODEC_H_
#define PIGTAIL_CORE_CODEC_H_

#include <string>
#include <string_view>

#include "core/registers.h"
#include "core/status.h"

namespace pigtail {

std::string EncodeQueueRecord(const QueueRecord& queue);
Result<QueueRecord> DecodeQueueRecord(std::string_view bytes);

std::string EncodeTaskRecord(const TaskRecord& task);
// Appends the same bytes as EncodeTaskRecord to `*out` (not cleared), so a
// caller can reuse one buffer.
void AppendTaskRecord(const TaskRecord& task, std::string* out);
Result<TaskRecord> DecodeTaskRecord(std::string_view bytes);

// A rejected op: the event id and the reason.
std::string EncodeRejected(const Uuid& event_id, std::string_view reason);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_CODEC_H_
