#include "server/serial_executor.h"

#include <utility>

#include "server/thread_name.h"

namespace pigtail {

SerialExecutor::SerialExecutor(const char* name)
    : thread_([this, name] {
        SetThreadName(name);
        Run();
      }) {}

SerialExecutor::~SerialExecutor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SerialExecutor::Post(std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
}

bool SerialExecutor::idle() const {
  std::lock_guard lock(mu_);
  return queue_.empty() && !running_;
}

void SerialExecutor::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping with nothing left
    std::deque<std::function<void()>> work;
    work.swap(queue_);
    running_ = true;
    lock.unlock();
    for (std::function<void()>& f : work) f();
    lock.lock();
    running_ = false;
  }
}

}  // namespace pigtail
