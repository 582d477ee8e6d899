// A WriteBatch kept by one writer from write to write. A fresh batch grows
// its buffer by doubling, copying what it holds and touching new memory at
// each step: for a state commit or a log append of thousands of keys that
// cost about as much as building the batch. Internal to backends/.
#ifndef PIGTAIL_BACKENDS_ROCKSDB_WRITE_BATCH_H_
#define PIGTAIL_BACKENDS_ROCKSDB_WRITE_BATCH_H_

#include <rocksdb/write_batch.h>

#include <cstddef>

namespace pigtail::rocks {

// Not thread-safe: its owner serializes its writes (a store's write lock).
class ReusedWriteBatch {
 public:
  // The batch, emptied, keeping the buffer of the writes before unless one
  // grew beyond kKeptBytes (then it starts small again, so one huge write
  // does not hold its memory for good).
  rocksdb::WriteBatch& Cleared() {
    if (batch_.GetDataSize() > kKeptBytes) {
      batch_ = rocksdb::WriteBatch();
    } else {
      batch_.Clear();
    }
    return batch_;
  }

  static constexpr size_t kKeptBytes = 8 << 20;

 private:
  rocksdb::WriteBatch batch_;
};

}  // namespace pigtail::rocks

#endif  // PIGTAIL_BACKENDS_ROCKSDB_WRITE_BATCH_H_
