#include "server/serial_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace pigtail {
namespace {

TEST(SerialExecutorTest, RunsEverythingInPostOrderOnOneThread) {
  std::vector<int> ran;  // touched only by the executor's thread
  std::set<std::thread::id> threads;
  {
    SerialExecutor executor("test-serial");
    for (int i = 0; i < 1000; ++i) {
      executor.Post([&, i] {
        ran.push_back(i);
        threads.insert(std::this_thread::get_id());
      });
    }
  }  // the destructor runs what is still queued
  ASSERT_EQ(ran.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(ran[static_cast<size_t>(i)], i);
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
}

TEST(SerialExecutorTest, PostsFromManyThreadsAndFromInsideWorkAllRun) {
  std::atomic<int> count{0};
  {
    SerialExecutor executor("test-serial");
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t) {
      posters.emplace_back([&] {
        for (int i = 0; i < 250; ++i) {
          executor.Post([&] {
            ++count;
            executor.Post([&] { ++count; });  // work may post more work
          });
        }
      });
    }
    for (std::thread& t : posters) t.join();
  }
  EXPECT_EQ(count.load(), 2000);
}

TEST(SerialExecutorTest, IdleOnlyWhenNothingWaitsOrRuns) {
  SerialExecutor executor("test-serial");
  EXPECT_TRUE(executor.idle());
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  executor.Post([&] {
    started.set_value();
    released.wait();
  });
  started.get_future().wait();
  EXPECT_FALSE(executor.idle());  // running
  executor.Post([] {});
  EXPECT_FALSE(executor.idle());  // running, and one waiting
  release.set_value();
  for (int i = 0; i < 1000 && !executor.idle(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(executor.idle());
}

}  // namespace
}  // namespace pigtail
