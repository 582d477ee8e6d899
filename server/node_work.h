// What a pigtaild did between two scrapes of its GET /metrics, as
// pigtail-load reports it beside each phase's rate: how many requests
// shared one synced log append, how long the appends took, how busy the
// ingest sequencer was, and the CPU the node and the load tool used. From
// these follow the rates that bound the phase on this machine.
//
// Thread safety: free functions; all but ProcessCpuSeconds() read only
// their arguments.
#ifndef PIGTAIL_SERVER_NODE_WORK_H_
#define PIGTAIL_SERVER_NODE_WORK_H_

#include <optional>
#include <string>
#include <string_view>

namespace pigtail {

// The node's counters at one scrape (cumulative since it started).
struct NodeWorkSample {
  double batches = 0;           // pigtail_sequencer_batches_total
  double requests = 0;          // pigtail_sequencer_requests_total
  double log_append_s = 0;      // pigtail_log_append_seconds_total
  double sequencer_busy_s = 0;  // pigtail_sequencer_busy_seconds_total
  double cpu_s = 0;             // process_cpu_seconds_total
};

// The sample in the text of GET /metrics (Prometheus text format, the
// unlabelled samples of the names above); nullopt when one of them is
// missing or not a number (a node that does not report it).
std::optional<NodeWorkSample> ParseNodeWork(std::string_view metrics_text);

// The CPU time (user and system) of the calling process so far: what a
// node reports as process_cpu_seconds_total.
double ProcessCpuSeconds();

// A phase of a load run, as the load tool saw it.
struct LoadPhase {
  double wall_s = 0;        // elapsed
  double items = 0;         // tasks added, or lifecycles completed
  double client_cpu_s = 0;  // the load tool's CPU time in the phase
  unsigned cores = 1;       // of the machine, which the node and the tool share
};

// Two lines describing the phase from the samples taken before and after
// it (the format pigtail-load prints and benchmarks/peers reads):
//
//   node:   B batches, R requests/batch, log append A us/batch (S% of the
//           time), sequencer busy Q%, cpu/item node N us + client C us,
//           U of K cores busy
//   bounds: log appends back to back L items/s (rate P% of it), sequencer
//           never idle Q items/s (rate X% of it), every core busy M items/s
//           (rate Z% of it)
//
// Each bound is the rate the phase would reach if one resource were the
// only limit, at the cost per item measured in the phase: the sequencer
// doing nothing but its synced appends (as many items per append as in the
// phase); the sequencer thread, which decides every write in order, never
// waiting for requests; the node and the tool keeping every core busy. The
// bound the rate is nearest to is the one that holds it. Bounds that cannot
// be computed (no append, no CPU) are left out.
std::string DescribeNodeWork(const NodeWorkSample& before, const NodeWorkSample& after,
                             const LoadPhase& phase);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_NODE_WORK_H_
