// jemalloc's options for a node: an object library (pigtail_heap_options)
// linked into pigtaild and into replication_benchmark, whose nodes run in
// its own process, so that they allocate alike.
//
// jemalloc reads malloc_conf at its first allocation; MALLOC_CONF in the
// environment overrides the options it names (MALLOC_CONF=thp:default
// turns this one off).
// thp:always advises the kernel to back the heap with transparent huge pages
// where it grants them only on request (`madvise` in
// /sys/kernel/mm/transparent_hugepage/enabled): a node that grows its task
// map and memtables then takes one page fault per 2 MiB instead of per
// 4 KiB, and fewer TLB misses. It costs about 35 MB of RSS on an idle node
// (benchmarks/README.md, "Transparent huge pages for the heap").
// pigtail_heap_info in /metrics shows the option in force. Unused without
// jemalloc.
extern "C" {
const char* malloc_conf = "thp:always";
}
