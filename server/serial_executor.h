// Runs closures one at a time, in the order they were posted, on a thread
// of its own. The sequencer hands each batch's reply callbacks to one, so
// that building the replies (JSON of claimed tasks, per-item results)
// overlaps the next batch instead of delaying it.
//
// Thread safety: Post() may be called from any thread.
#ifndef PIGTAIL_SERVER_SERIAL_EXECUTOR_H_
#define PIGTAIL_SERVER_SERIAL_EXECUTOR_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace pigtail {

class SerialExecutor {
 public:
  // `name`: the thread's name (at most 15 characters).
  explicit SerialExecutor(const char* name);
  ~SerialExecutor();  // runs everything posted, then joins
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  void Post(std::function<void()> work);

  // True when nothing posted is waiting or running. Only meaningful to the
  // one thread that posts: if it sees idle(), running work itself instead
  // of posting it keeps the order.
  bool idle() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool running_ = false;                     // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_SERIAL_EXECUTOR_H_
