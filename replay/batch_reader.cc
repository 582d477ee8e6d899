#include "replay/batch_reader.h"

#include <utility>

namespace pigtail::replay {

BatchReader::BatchReader(EventSource* source, const BatchLimits& limits, size_t ahead)
    : source_(source), limits_(limits), threaded_(ahead > 0) {
  size_t count = ahead + 1;
  for (size_t i = 0; i < count; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(slots_.back().get());
  }
  if (threaded_) thread_ = std::thread([this] { Produce(); });
}

BatchReader::~BatchReader() {
  if (!threaded_) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BatchReader::Read(Slot* slot) {
  slot->status = source_->Next(limits_, &slot->batch.events);
  slot->batch.position = source_->position();
  slot->batch.progress = source_->Progress();
}

void BatchReader::Produce() {
  while (true) {
    Slot* slot = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      slot = free_.back();
      free_.pop_back();
    }
    Read(slot);
    bool last = !slot->status.ok() || slot->batch.events.empty();
    {
      std::lock_guard lock(mu_);
      ready_.push_back(slot);
    }
    cv_.notify_all();
    if (last) return;
  }
}

Result<const SourceBatch*> BatchReader::Next() {
  if (finished_) {
    if (!held_->status.ok()) return held_->status;
    return &held_->batch;
  }
  if (!threaded_) {
    held_ = slots_.front().get();
    Read(held_);
  } else {
    std::unique_lock lock(mu_);
    if (held_ != nullptr) free_.push_back(held_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !ready_.empty(); });
    held_ = ready_.front();
    ready_.pop_front();
  }
  if (!held_->status.ok() || held_->batch.events.empty()) finished_ = true;
  if (!held_->status.ok()) return held_->status;
  return &held_->batch;
}

}  // namespace pigtail::replay
