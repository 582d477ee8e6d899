// In-memory EventStore and StateStore (URI "memory:"). Nothing survives the
// object; they serve as the reference implementations in the conformance
// suites and as fakes in tests.
#ifndef PIGTAIL_CORE_MEMORY_STORE_H_
#define PIGTAIL_CORE_MEMORY_STORE_H_

#include <memory>

#include "core/event_store.h"
#include "core/state_store.h"

namespace pigtail {

std::unique_ptr<EventStore> NewMemoryEventStore();
std::unique_ptr<StateStore> NewMemoryStateStore();

}  // namespace pigtail

#endif  // PIGTAIL_CORE_MEMORY_STORE_H_
