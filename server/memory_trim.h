// Hands memory the allocator holds but does not use back to the system, and
// reads how much that is.
#ifndef PIGTAIL_SERVER_MEMORY_TRIM_H_
#define PIGTAIL_SERVER_MEMORY_TRIM_H_

#include <cstddef>

namespace pigtail {

// The programs are linked with jemalloc where the build allows it (not
// under sanitizers): glibc's malloc, with one arena per thread, kept the
// pages freed by the churn of finished tasks for reuse in the arena that
// freed them, and a node's RSS grew with the tasks it had seen (1M
// lifecycles: 433 MB RSS with 253 MB allocated; 3M: 466 MB with 183 MB).
// Both allocators are handled here, chosen at run time.
//
// Returns the free pages the allocator holds to the system: jemalloc purges
// every arena, glibc's malloc_trim(0) returns free pages. Takes the
// allocator's locks for a few milliseconds; call it now and then, not per
// request.
void ReleaseFreeMemory();

// The heap as the allocator counts it: bytes handed out and not yet freed
// (`in_use`), and bytes it holds beyond them (`free`: jemalloc's resident
// pages not in use; glibc's free chunks, resident or not). Walks the
// allocator's statistics under its locks: for /metrics, not per request.
struct HeapUsage {
  size_t in_use = 0;
  size_t free = 0;
};
HeapUsage ReadHeapUsage();

// "jemalloc", "glibc" or "other": the allocator this program runs with.
const char* AllocatorName();

// jemalloc's transparent huge page option in force ("always", "default" or
// "never"; pigtaild asks for "always", see tools/heap_options.cc), or "default"
// under another allocator.
const char* HeapHugePages();

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_MEMORY_TRIM_H_
