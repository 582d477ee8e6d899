add_executable(core_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/core_benchmark.cc)
target_link_libraries(core_benchmark PRIVATE pigtail_core benchmark::benchmark)
