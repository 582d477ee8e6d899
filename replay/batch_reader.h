// BatchReader: hands out an EventSource's batches, optionally reading them
// on a thread of its own up to `ahead` batches in advance, so parsing batch
// N+1 overlaps applying batch N when a spare core exists.
//
// Each batch carries the source's position and progress as they were right
// after it was read, since with read-ahead the source itself is further on:
// a replay checkpoints with the batch's position, not source->position().
//
// Memory: at most ahead + 1 batches exist at once (ahead ready or being
// read, one held by the consumer); their storage is recycled, so sources
// that reuse a batch's events (the JSONL source) keep doing so.
//
// Thread safety: one consumer thread calls Next(). The source must not be
// used by anyone else from construction until destruction.
#ifndef PIGTAIL_REPLAY_BATCH_READER_H_
#define PIGTAIL_REPLAY_BATCH_READER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "replay/event_source.h"

namespace pigtail::replay {

struct SourceBatch {
  std::vector<SourcedEvent> events;  // empty: the source is exhausted
  uint64_t position = 0;             // source->position() after the batch
  SourceProgress progress;           // source->Progress() after the batch
};

class BatchReader {
 public:
  // ahead == 0 reads synchronously in Next(); ahead > 0 starts a thread.
  BatchReader(EventSource* source, const BatchLimits& limits, size_t ahead);
  ~BatchReader();  // stops the thread (abandoning batches read ahead)
  BatchReader(const BatchReader&) = delete;
  BatchReader& operator=(const BatchReader&) = delete;

  // The next batch, valid until the next call. After the empty batch or an
  // error, further calls return the same result.
  Result<const SourceBatch*> Next();

 private:
  struct Slot {
    SourceBatch batch;
    Status status = Status::Ok();
  };
  void Produce();
  void Read(Slot* slot);

  EventSource* source_;
  BatchLimits limits_;
  const bool threaded_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Slot* held_ = nullptr;   // the batch the consumer has
  bool finished_ = false;  // the consumer has seen the end or an error

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Slot*> ready_;  // read, in order
  std::vector<Slot*> free_;  // to be read into
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_BATCH_READER_H_
