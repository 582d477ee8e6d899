#include "server/serial_executor.h"

#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace pigtail
