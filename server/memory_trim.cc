#include "server/memory_trim.h"

#include <cstdint>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// jemalloc's control interface: defined when the program is linked with (or
// preloads) jemalloc, null otherwise.
extern "C" int mallctl(const char* name, void* old_value, size_t* old_size, void* new_value,
                       size_t new_size) __attribute__((weak));

namespace pigtail {

namespace {

constexpr char kPurgeAllArenas[] = "arena.4096.purge";  // 4096: MALLCTL_ARENAS_ALL

// The value jemalloc's control interface reads for `name`, or `otherwise`
// (jemalloc absent, or the read failed).
template <typename T>
T JemallocRead(const char* name, T otherwise) {
  T value{};
  size_t size = sizeof(value);
  if (mallctl == nullptr || mallctl(name, &value, &size, nullptr, 0) != 0) return otherwise;
  return value;
}

size_t JemallocStat(const char* name) { return JemallocRead<size_t>(name, 0); }

}  // namespace

void ReleaseFreeMemory() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer's allocator serves malloc: glibc's arenas hold nothing to
  // trim, and malloc_trim walking them crashed once under ASan.
#else
  if (mallctl != nullptr) {
    (void)mallctl(kPurgeAllArenas, nullptr, nullptr, nullptr, 0);
    return;
  }
#if defined(__GLIBC__)
  (void)malloc_trim(0);
#endif
#endif
}

HeapUsage ReadHeapUsage() {
  HeapUsage usage;
  if (mallctl != nullptr) {
    uint64_t epoch = 1;  // refreshes the statistics read below
    size_t size = sizeof(epoch);
    (void)mallctl("epoch", &epoch, &size, &epoch, size);
    usage.in_use = JemallocStat("stats.allocated");
    const size_t resident = JemallocStat("stats.resident");
    usage.free = resident > usage.in_use ? resident - usage.in_use : 0;
    return usage;
  }
#if defined(__GLIBC__)
  const struct mallinfo2 info = mallinfo2();
  usage.in_use = info.uordblks + info.hblkhd;  // small chunks + mmapped ones
  usage.free = info.fordblks;
#endif
  return usage;
}

const char* AllocatorName() {
  if (mallctl != nullptr) return "jemalloc";
#if defined(__GLIBC__)
  return "glibc";
#else
  return "other";
#endif
}

const char* HeapHugePages() {
  const char* thp = JemallocRead<const char*>("opt.thp", nullptr);
  return thp != nullptr ? thp : "default";
}

}  // namespace pigtail
