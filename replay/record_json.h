// Human- and machine-readable JSON for decoded registers, used in verify,
// compare and the --json reports.
#ifndef PIGTAIL_REPLAY_RECORD_JSON_H_
#define PIGTAIL_REPLAY_RECORD_JSON_H_

#include <boost/json/value.hpp>
#include <string>

#include "core/registers.h"

namespace pigtail::replay {

boost::json::value QueueRecordJson(const QueueRecord& queue);
boost::json::value TaskRecordJson(const TaskRecord& task);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_RECORD_JSON_H_
