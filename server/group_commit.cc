#include "server/group_commit.h"

#include <algorithm>

namespace pigtail {
namespace {

// Weight of the newest sample in the moving averages.
constexpr double kNewest = 1.0 / 8;

void Average(double* average, std::chrono::nanoseconds sample) {
  const double ns = static_cast<double>(sample.count());
  *average = *average == 0 ? ns : *average + kNewest * (ns - *average);
}

}  // namespace

void GroupCommitWindow::OnBatch(std::chrono::nanoseconds append, std::chrono::nanoseconds rest) {
  last_append_ = append;
  last_rest_ = rest;
  Average(&append_ns_, append);
}

void GroupCommitWindow::OnWait(std::chrono::nanoseconds waited) { Average(&wait_ns_, waited); }

std::chrono::nanoseconds GroupCommitWindow::Window() {
  // A batch whose deciding and applying cost as much as its append (large
  // requests) would not gain from more of them per sync.
  if (last_append_.count() <= 0 || last_append_ < 2 * last_rest_) {
    return std::chrono::nanoseconds(0);
  }
  const bool pays = wait_ns_ < 0.75 * append_ns_;
  if (!pays && ++since_probe_ < kProbeEvery) return std::chrono::nanoseconds(0);
  since_probe_ = 0;
  return std::min(std::chrono::nanoseconds(static_cast<int64_t>(append_ns_)), max_window_);
}

}  // namespace pigtail
