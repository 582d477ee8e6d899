# Replication benchmarks (owned by server/replicator): catch-up rate of a
# fresh node, batched range endpoint vs the Potboiler walk. See README.md
# "Replication". Its nodes allocate as pigtaild's do (PIGTAIL_NODE_HEAP).
add_executable(replication_benchmark replication_benchmark.cc)
target_link_libraries(replication_benchmark PRIVATE pigtail_server ${PIGTAIL_NODE_HEAP})
