#include "replay/record_json.h"

#include <boost/json.hpp>

namespace pigtail::replay {
namespace json = boost::json;
namespace {

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kLive:
      return "live";
    case Outcome::kDead:
      return "dead";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kDone:
      return "done";
    case Outcome::kPurged:
      return "purged";
  }
  return "unknown";
}

json::value StampJson(const Stamp& s) {
  return json::object{{"hlc", s.hlc.ToJson()}, {"event_id", s.event_id.ToString()}};
}

json::value AttemptJson(const AttemptStamp& s) {
  return json::object{{"round", s.round},
                      {"lease", s.lease},
                      {"hlc", s.hlc.ToJson()},
                      {"event_id", s.event_id.ToString()}};
}

}  // namespace

json::value QueueRecordJson(const QueueRecord& q) {
  json::object o;
  o["name"] = q.name;
  o["alive"] = q.alive;
  o["last"] = StampJson(q.last);
  o["timeout_ms"] = q.timeout_ms;
  if (q.max_attempts) o["max_attempts"] = *q.max_attempts;
  if (q.backoff_ms) o["backoff_ms"] = *q.backoff_ms;
  if (q.last_delete) o["last_delete"] = StampJson(*q.last_delete);
  return o;
}

json::value TaskRecordJson(const TaskRecord& t) {
  json::object o;
  o["queue"] = t.queue;
  o["id"] = t.id.ToString();
  if (t.add) {
    json::object add;
    add["hlc"] = t.add->hlc.ToJson();
    add["task_name"] = t.add->task_name;
    add["info"] = t.add->info_json;
    add["priority"] = t.add->priority;
    add["delay_ms"] = t.add->delay_ms;
    if (t.add->max_attempts) add["max_attempts"] = *t.add->max_attempts;
    if (t.add->timeout_ms) add["timeout_ms"] = *t.add->timeout_ms;
    if (t.add->run_at_ms != 0) add["run_at_ms"] = t.add->run_at_ms;
    o["add"] = std::move(add);
  } else {
    o["add"] = nullptr;
  }
  const StatusKey& k = t.status.key;
  json::object status;
  status["outcome"] = OutcomeName(k.outcome);
  status["lease"] = k.lease;
  status["phase"] = k.phase == Phase::kWorking ? "working" : "pending";
  status["hlc"] = k.hlc.ToJson();
  status["event_id"] = k.event_id.ToString();
  status["worker"] = t.status.worker.ToString();
  if (!t.status.error.empty()) status["error"] = t.status.error;
  if (t.status.retry_in_ms != 0) status["retry_in_ms"] = t.status.retry_in_ms;
  if (k.round != 0) status["round"] = k.round;
  const TaskHistory& history = History(t);
  if (!history.result_json.empty()) status["result"] = history.result_json;
  o["status"] = std::move(status);
  if (history.progress) {
    o["progress"] = json::object{{"stamp", AttemptJson(history.progress->stamp)},
                                 {"progress", history.progress->json}};
  }
  if (!history.failures.empty()) {
    json::array failures;
    for (const FailedAttempt& f : history.failures) {
      failures.push_back(json::object{
          {"stamp", AttemptJson(f.stamp)}, {"worker", f.worker.ToString()}, {"error", f.error}});
    }
    o["failures"] = std::move(failures);
  }
  return o;
}

}  // namespace pigtail::replay
