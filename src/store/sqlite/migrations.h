// Schema versioning of the SQLite store. The schema is an ordered list of migrations kept
// in code; PRAGMA user_version records how many of them a database file has applied.
// Opening a file runs the missing ones in one transaction; a file written by a newer
// binary (a higher version than this one knows) is refused rather than guessed at.
// Thread-safety: MigrateSqliteSchema uses only the connection it is given.
#pragma once

#include <string_view>

#include "core/status.h"

struct sqlite3;

namespace cb::store {

// The schema version this binary writes: the number of migrations it knows.
int SqliteSchemaVersion();

// Brings the database open on `db` up to SqliteSchemaVersion(). `path` is used in errors.
Status MigrateSqliteSchema(sqlite3* db, std::string_view path);

}  // namespace cb::store
