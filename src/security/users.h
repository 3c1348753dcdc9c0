// The dashboard's users and their sign-in sessions. A user has a login name, a password
// (only its argon2id hash is kept, libsodium crypto_pwhash_str with the INTERACTIVE limits),
// permissions like an API key's, and a profile (display name, department, locale). Users
// live in the store (records of kind "user", like the API keys) or come from a file at
// start-up (`serve --users`, source "file"; those cannot be changed over the API).
// Signing in issues a session: an API key of ApiKeyAuthority with an expiry and the user's
// name and profile in its Principal, used exactly like a key. Changing a user's
// permissions or profile changes their sessions at once; a new password or deleting the
// user revokes them. SignInLimiter stops password guessing per user name.
// Thread-safety: UserDirectory and SignInLimiter are safe to use from any thread. Hashing
// and checking passwords take tens of milliseconds and 64 MiB: keep them off I/O threads.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "core/time.h"
#include "security/auth.h"
#include "store/store.h"

namespace cb::security {

enum class UserSource { kApi, kFile };
std::string_view UserSourceName(UserSource s);

struct User {
  std::string name;           // login: [a-z0-9._-]{1,64}
  std::string display_name;   // at most 100 characters
  std::string password_hash;  // "$argon2id$…" (crypto_pwhash_str)
  std::vector<Permission> permissions;  // grantable ones, no duplicates, never empty
  std::string department;     // a case-catalog department code; empty when none
  std::string locale = "zh-CN";  // "zh-CN" or "en"
  UserSource source = UserSource::kApi;
};

// kBadRequestData unless `name` is 1–64 of a-z, 0-9, '.', '_', '-'.
Status CheckUserName(std::string_view name);
// kBadRequestData unless `password` has 8 to 1,024 characters (UTF-8 code points; at most
// 4,096 bytes).
Status CheckPassword(std::string_view password);
// The argon2id hash of `password` (crypto_pwhash_str, OPSLIMIT/MEMLIMIT_INTERACTIVE).
// kInternal when out of memory.
Result<std::string> HashPassword(std::string_view password);
// Whether `password` matches `hash` (false for a malformed hash too).
bool VerifyPassword(const std::string& hash, std::string_view password);
// kBadRequestData unless `hash` is an argon2id string libsodium can verify.
Status CheckPasswordHash(const std::string& hash);

// What a request or a users file says about a user.
enum class UserInput {
  kCreate,   // POST /admin/users: name and password required
  kReplace,  // PUT /admin/users/{name}: name optional (must match), password optional
  kFile,     // a --users file entry: name and passwordHash required
};
struct UserSpec {
  User user;                            // password_hash set from a file's passwordHash
  std::optional<std::string> password;  // the new password, when one was given
};
// Checks the shape and every field: {"name","displayName","password" (kCreate, kReplace) or
// "passwordHash" (kFile),"permissions":[…],"department","locale"}. displayName defaults to
// the name, locale to zh-CN, department to none. kBadRequestData naming the field.
Result<UserSpec> ParseUserSpec(const JsonValue& v, UserInput kind);

// Counts failed sign-ins per user name: after `max_failures` within `window_ms`, a name is
// refused until the oldest of them is `window_ms` old. Remembers at most `max_names` names
// (the least recently failed are forgotten first once their failures are older than the
// window, then any).
// Thread-safety: safe from any thread.
class SignInLimiter {
 public:
  SignInLimiter(const Clock* clock, int max_failures = 5, int64_t window_ms = 5 * 60 * 1000,
                size_t max_names = 10000);
  // 0 and the attempt counted as a failure (until Succeeded), or the milliseconds until
  // `name` may try again (nothing counted).
  int64_t TryAttempt(const std::string& name);
  // Forgets the failures of `name`.
  void Succeeded(const std::string& name);
  size_t names() const;

 private:
  // Drops failures older than the window from `f`. Needs mu_.
  void Expire(std::deque<TimeMs>* f, TimeMs now) const;
  const Clock* clock_;
  const size_t max_failures_;
  const int64_t window_ms_;
  const size_t max_names_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::deque<TimeMs>> failures_;  // oldest first
};

struct UserDirectoryOptions {
  int64_t session_ms = 12 * 3600 * 1000;  // how long a session works
  // Whether a department code is known (the case catalog's); null accepts any.
  std::function<bool(std::string_view)> department_known;
  int max_failures = 5;                   // SignInLimiter
  int64_t failure_window_ms = 5 * 60 * 1000;
};

// A session just issued by SignIn.
struct SignedIn {
  IssuedKey key;  // key.key is the token, shown once
  TimeMs expires_at = 0;
  User user;
};

class UserDirectory {
 public:
  // `auth` issues and revokes the sessions; both must outlive the directory.
  UserDirectory(store::Store* store, ApiKeyAuthority* auth, const Clock* clock,
                UserDirectoryOptions options = {});

  // Loads the users from the store; sessions of users no longer there are revoked, the
  // others take their user's current permissions and profile.
  Status Load();
  // Makes the file users match `users` (kFile specs): creates or replaces each (an API user
  // of the same name becomes a file user), and deletes file users not among them. Nothing
  // changes when any entry is bad: kBadRequestData naming it ("users[2] (szj01): …").
  Status SyncFileUsers(const std::vector<UserSpec>& users);

  // kAlreadyExists when the name is taken.
  Result<User> Create(const UserSpec& spec);
  // Replaces profile and permissions, and the password when one is given (which revokes the
  // user's sessions). kNotFound when unknown; kConflict for a file user.
  Result<User> Replace(const std::string& name, const UserSpec& spec);
  // Deletes the user and revokes their sessions. kNotFound, or kConflict for a file user.
  Status Delete(const std::string& name);
  Result<User> Get(const std::string& name) const;
  std::vector<User> List() const;  // by name
  size_t size() const;

  // Checks the password and issues a session. kUnauthorized "wrong user name or password"
  // for an unknown user or a wrong password alike (an unknown user's attempt verifies a
  // dummy hash, so it takes as long); kTooManyRequests, with `*retry_after_ms` set, once
  // the name failed too often; kBadRequestData for an empty password.
  Result<SignedIn> SignIn(const std::string& name, std::string_view password,
                          int64_t* retry_after_ms = nullptr);
  // Revokes the session `who` presented; kConflict for a plain API key (not a session).
  Status SignOut(const Principal& who);

  int64_t session_ms() const { return options_.session_ms; }

 private:
  // Checks what ParseUserSpec cannot (the department against the catalog).
  Status CheckSpec(const User& u) const;
  // Stores `u` durably and holds it in memory. Needs write_mu_.
  Status PutLocked(const User& u);
  // Deletes the user and revokes their sessions. Needs write_mu_.
  Status DeleteLocked(const std::string& name);
  // Brings the sessions of `u` in line with it (profile, permissions). Needs write_mu_.
  Status RefreshSessionsLocked(const User& u);
  const std::string& DummyHash();

  store::Store* store_;
  ApiKeyAuthority* auth_;
  const Clock* clock_;
  UserDirectoryOptions options_;
  SignInLimiter limiter_;
  std::mutex write_mu_;             // one change (or session issue) at a time
  mutable std::shared_mutex mu_;    // guards users_
  std::map<std::string, User> users_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

}  // namespace cb::security
