// Adaptive group commit: how long the ingest sequencer waits, before its
// next batch, for the clients it has just answered to send their next
// requests, so that they share one synced log append with the requests
// that queued while the last append was in flight.
//
// A synced append costs about the same whatever it holds. Without waiting,
// P clients with one request each in flight split into two groups that
// take turns: one group's requests queue while the other's append syncs,
// about P/2 requests per sync. Waiting, after the replies, until as many
// requests have arrived as were answered lets both groups share each
// append: up to P requests per sync, for a delay of the clients' round
// trip. That pays while the round trip is shorter than an append, and only
// while the append is most of a batch's cost: when deciding and applying
// cost as much (large requests), the sequencer thread bounds the rate, and
// waiting would idle it. Both are measured as the node runs; while waiting
// does not pay, one batch in kProbeEvery waits anyway, to see whether it
// pays again.
//
// Thread safety: none; the sequencer thread owns it.
#ifndef PIGTAIL_SERVER_GROUP_COMMIT_H_
#define PIGTAIL_SERVER_GROUP_COMMIT_H_

#include <chrono>

namespace pigtail {

class GroupCommitWindow {
 public:
  // While waiting does not pay, one batch in this many waits.
  static constexpr int kProbeEvery = 64;

  // `max_window`: the longest wait, whatever the appends take.
  explicit GroupCommitWindow(std::chrono::nanoseconds max_window) : max_window_(max_window) {}

  // Notes a batch that appended to the log: the append (with its sync)
  // took `append`, and deciding and applying the batch took `rest`.
  void OnBatch(std::chrono::nanoseconds append, std::chrono::nanoseconds rest);

  // Notes a wait that Window() asked for: from the replies until as many
  // requests had arrived as were answered, or until the window ran out.
  void OnWait(std::chrono::nanoseconds waited);

  // How long to wait after a batch's replies for as many new requests as
  // it answered: the recent append time (at most max_window) when the last
  // batch's append took at least twice the rest of it and recent waits took
  // less than 3/4 of an append (or a probe is due); else zero.
  std::chrono::nanoseconds Window();

 private:
  const std::chrono::nanoseconds max_window_;
  // The last batch, and moving averages of the recent appends and waits,
  // in nanoseconds; 0 before the first.
  std::chrono::nanoseconds last_append_{0};
  std::chrono::nanoseconds last_rest_{0};
  double append_ns_ = 0;
  double wait_ns_ = 0;
  int since_probe_ = 0;  // batches that did not wait since the last that did
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_GROUP_COMMIT_H_
