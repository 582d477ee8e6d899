// Names the calling thread, as `top -H`, `ps -L` and profilers show it.
#ifndef PIGTAIL_SERVER_THREAD_NAME_H_
#define PIGTAIL_SERVER_THREAD_NAME_H_

#include <pthread.h>

namespace pigtail {

// `name`: at most 15 characters (longer names are left unset by Linux).
inline void SetThreadName(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_THREAD_NAME_H_
