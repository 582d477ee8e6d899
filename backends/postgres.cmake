# The PostgreSQL backend (libpqxx), included by backends/CMakeLists.txt,
# which adds these sources (relative to backends/) to pigtail_backends.
set(PIGTAIL_POSTGRES_SOURCES
  postgres_event_store.cc
  postgres_migrations.cc
  postgres_session.cc
  postgres_state_store.cc
  postgres_values.cc
)
