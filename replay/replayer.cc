#include "replay/replayer.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/cold_tasks.h"
#include "replay/batch_reader.h"
#include "replay/commit_pipeline.h"

namespace pigtail::replay {
namespace {

class Timer {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

Result<ReplayReport> Replay(EventSource* source, State* state, StateStore* target,
                            const ReplayOptions& options, ProgressSink* progress) {
  Timer timer;
  ReplayReport report;
  const bool commit_batches = target != nullptr && options.write_mode == WriteMode::kCommitBatches;
  const bool drop_committed = commit_batches && options.drop_committed;
  state->set_evict_finished(drop_committed);

  // Nothing reads the claim indexes during a replay: they are built once
  // at the end (on every path out, if asked), over the tasks the State
  // still holds.
  struct ClaimIndexGuard {
    State* state;
    bool rebuild;
    ~ClaimIndexGuard() {
      state->set_evict_live(false);
      if (rebuild) state->set_claim_index(true);
    }
  } claim_index_guard{state, options.rebuild_claim_index};
  state->set_claim_index(false);
  // The changed registers between two commits, and the tasks kept in
  // memory beyond them, within the budget (kChangedTaskBytes each).
  const size_t max_changed_tasks =
      std::max<size_t>(1, options.memory_budget_bytes / kChangedTaskBytes);
  state->set_evict_live(drop_committed, max_changed_tasks);

  if (commit_batches) {
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t checkpoint, target->Checkpoint());
    if (checkpoint > 0) {
      if (!options.resume) {
        return Status::FailedPrecondition(
            "the target already holds state up to " + std::string(source->PositionName()) + " " +
            std::to_string(checkpoint) + "; resume, or start from a fresh target");
      }
      PIGTAIL_RETURN_IF_ERROR(target->LoadInto(state));
      PIGTAIL_RETURN_IF_ERROR(source->SeekAfter(checkpoint));
      report.resumed_after = checkpoint;
    }
  }
  // Only commits need the record of changed registers.
  state->set_track_changes(commit_batches);

  BatchLimits limits;
  limits.max_events = std::max<size_t>(1, options.batch_events);
  limits.max_bytes =
      std::max<size_t>(1, options.memory_budget_bytes / (options.read_ahead_batches + 1));
  uint64_t since_commit = 0;
  // The source's position and progress after the batch last applied.
  uint64_t position = source->position();
  SourceProgress source_progress = source->Progress();
  auto snapshot = [&]() {
    return ProgressSnapshot{"rebuild", report.events, source_progress, timer.Seconds()};
  };
  CommitPipeline committer(target, commit_batches && options.overlap_commits);
  auto commit = [&](bool sync) -> Status {
    state->TakeChangesInto(position, committer.next());
    PIGTAIL_RETURN_IF_ERROR(committer.Start(sync));
    // Overlapped, the committer serves reads of the batch in flight.
    if (drop_committed) state->EvictCommitted(position);
    ++report.commits;
    since_commit = 0;
    return Status::Ok();
  };

  {
    BatchReader reader(source, limits, options.read_ahead_batches);
    while (true) {
      PIGTAIL_ASSIGN_OR_RETURN(const SourceBatch* batch, reader.Next());
      position = batch->position;
      source_progress = batch->progress;
      if (batch->events.empty()) break;
      if (drop_committed) {
        // The tasks the batch names that left memory, back from the target.
        std::vector<TaskKey> absent;
        for (const SourcedEvent& e : batch->events) {
          AppendAbsentTasks(*state, e.event, /*fresh=*/false, &absent);
        }
        PIGTAIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> stored,
                                 committer.GetTasks(std::move(absent)));
        for (TaskRecord& t : stored) state->Reinstate(std::move(t));
      }
      for (const SourcedEvent& e : batch->events) report.stats.Count(ApplyEvent(e.event, state));
      report.events += batch->events.size();
      since_commit += batch->events.size();
      if (commit_batches && (since_commit >= options.commit_every_events ||
                             state->changed_task_count() >= max_changed_tasks)) {
        PIGTAIL_RETURN_IF_ERROR(commit(options.sync_each_commit));
      }
      if (progress != nullptr) progress->Update(snapshot());
    }
  }  // frees the batches

  report.last_position = position;
  // Settled here, once: BulkLoad and the callers' diffs read it as const.
  state->SettleDigests();
  report.digest = state->total_digest();
  if (target != nullptr) {
    if (commit_batches) {
      PIGTAIL_RETURN_IF_ERROR(commit(/*sync=*/true));
      PIGTAIL_RETURN_IF_ERROR(committer.Finish());
    } else {
      PIGTAIL_RETURN_IF_ERROR(target->BulkLoad(*state, report.last_position));
    }
    PIGTAIL_ASSIGN_OR_RETURN(DigestSummary written, target->Digests());
    if (written.total != report.digest) {
      return Status::Corruption("the target's digest " + written.total.ToHex() +
                                " differs from the replayed state's " + report.digest.ToHex());
    }
  }
  state->set_track_changes(true);
  state->set_evict_live(false);
  if (options.rebuild_claim_index) state->set_claim_index(true);
  report.seconds = timer.Seconds();
  if (progress != nullptr) progress->Finish(snapshot());
  return report;
}

}  // namespace pigtail::replay
