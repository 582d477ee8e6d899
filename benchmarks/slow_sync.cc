// A slow disk's syncs, for benchmarks: preloaded into a process
// (LD_PRELOAD=libpigtail_slow_sync.so), it makes every fdatasync and fsync
// return PIGTAIL_SYNC_DELAY_US microseconds later than the real call did
// (none when unset). benchmarks/peers/run.sh --sync-delay-us N preloads it
// into every system it runs, so that they all see the same slower disk.
#include <dlfcn.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>

namespace {

long DelayMicros() {
  static const long micros = [] {
    const char* value = std::getenv("PIGTAIL_SYNC_DELAY_US");
    return value == nullptr ? 0L : std::strtol(value, nullptr, 10);
  }();
  return micros;
}

void Delay() {
  const long micros = DelayMicros();
  if (micros <= 0) return;
  timespec left{micros / 1'000'000, (micros % 1'000'000) * 1'000};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

using SyncFunction = int (*)(int);

SyncFunction Next(const char* name) {
  return reinterpret_cast<SyncFunction>(dlsym(RTLD_NEXT, name));
}

// The real call, then the delay; errno as the real call left it.
int Slowed(SyncFunction real, int fd) {
  const int result = real(fd);
  const int saved = errno;
  Delay();
  errno = saved;
  return result;
}

}  // namespace

extern "C" int fdatasync(int fd) {
  static const SyncFunction real = Next("fdatasync");
  return Slowed(real, fd);
}

extern "C" int fsync(int fd) {
  static const SyncFunction real = Next("fsync");
  return Slowed(real, fd);
}
