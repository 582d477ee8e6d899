#include "server/memory_trim.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace pigtail {

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  (void)malloc_trim(0);
#endif
}

}  // namespace pigtail
