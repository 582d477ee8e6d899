# Replay benchmarks (owned by replay/): log -> state into each backend,
# ordered / shuffled / with duplicates, and verify. See README.md "Replay".
add_executable(replay_benchmark replay_benchmark.cc)
target_link_libraries(replay_benchmark PRIVATE pigtail_replay pigtail_replay_testing
                      benchmark::benchmark)
# BM_RawWrite writes into a plain RocksDB (the raw-write half of the limit).
target_link_libraries(replay_benchmark PRIVATE ${PIGTAIL_ROCKSDB})
