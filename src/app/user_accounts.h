// The dashboard's users outside the API: the users file of `serve --users` and the
// `citybrain hash-password` command that makes the hashes it holds.
// A users file: {"users":[{"name","displayName","passwordHash":"$argon2id$…","permissions":
// […],"department","locale"}…]} (see examples/demo-users.json and docs/configuration.md).
// Thread-safety: run from main's thread (start-up).
#pragma once

#include <string>

#include "core/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace cb::security {
class UserDirectory;
}  // namespace cb::security

namespace cb::app {

// Makes the file users of `users` match the file at `path` (none when `path` is empty).
// kBadRequestData naming the file and the entry ("users[2] (szj01): locale: …") when the
// file is bad; nothing changes then.
Status SyncUsersFile(const std::string& path, security::UserDirectory* users);

// Adds the `hash-password` subcommand to `app`; returns it.
CLI::App* AddHashPasswordCommand(CLI::App* app);
// Reads a password (one line) from standard input and prints its argon2id hash; the exit
// code (1 when the password is too short or too long).
int RunHashPasswordCommand();

}  // namespace cb::app
