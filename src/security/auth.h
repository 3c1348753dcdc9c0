// Who may do what. Every API route declares the Permission it needs; a request carries an
// API key (X-Api-Key header, or Authorization: Bearer <key>) that ApiKeyAuthority checks
// against the keys kept in the store. Anything not granted is denied.
// Keys look like "cbk_<id>_<secret>"; only a BLAKE2b hash of the secret is stored (secrets
// verified recently are kept in memory only, see ApiKeyAuthority).
// A sign-in session of the dashboard (see security/users.h) is such a key too, issued for a
// user with an expiry: its Principal names the user, and it stops working once expired.
// Thread-safety: ApiKeyAuthority is safe to use from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "store/store.h"

namespace cb::security {

enum class Permission {
  kPublic,          // no credentials needed (health)
  kContextRead,     // read entities, history
  kContextWrite,    // create/update/delete entities
  kSubscriptions,   // manage subscriptions
  kMetrics,         // read /metrics
  kCasesReport,     // report a case and follow one's own reports (citizen apps, grid workers)
  kCasesRead,       // read cases, statistics and the catalog
  kCasesWrite,      // move cases through their workflow (dispatchers, departments); includes
                    // cases:read and cases:report
  kAdmin,           // manage keys and everything else
  kSignedIn,        // any valid key or session (who am I, sign out); never granted in lists
};

std::string_view PermissionName(Permission p);
// A permission that may be granted to a key or a user; kBadRequestData for unknown names and
// for "signed-in" (every key has it).
Result<Permission> PermissionFromName(std::string_view name);

// The caller of a request, once authenticated. Plain API keys leave the user fields empty.
struct Principal {
  std::string key_id;
  std::string name;  // the key's name ("session:<user>" for sessions)
  std::vector<Permission> permissions;
  std::string user;          // the signed-in user of a session; empty for API keys
  std::string display_name;  // the user's
  std::string department;    // the user's case-catalog department; empty when none
  std::string locale;        // the user's ("zh-CN" or "en")
  TimeMs expires_at = 0;     // when the key stops working; 0 = never
  bool Has(Permission p) const;
  // Who acts, for records of who did what: the signed-in user, or the key's name.
  const std::string& actor() const { return user.empty() ? name : user; }
  bool is_session() const { return !user.empty(); }
};

struct IssuedKey {
  std::string key;  // shown once, never stored
  std::string id;
};

// Issues, revokes and checks API keys; the keys live in the store, their hashes in memory.
// A key that passed the hash check once is kept in a small bounded cache, so a client that
// sends the same key on every request is not hashed again: a hit needs the very same secret
// (compared in constant time), and issuing or revoking a key drops its cache entry at once.
// Sessions are keys with an expiry and a user (IssueSession); an expired one is refused and
// forgotten (in memory at once, in the store soon after), and issuing a session clears out
// the expired ones no one presented again.
// Thread-safety: safe to use from any thread.
class ApiKeyAuthority {
 public:
  static constexpr size_t kDefaultCachedKeys = 1024;

  // `clock` tells when sessions expire.
  explicit ApiKeyAuthority(store::Store* store, size_t max_cached_keys = kDefaultCachedKeys,
                           const Clock* clock = SystemClock::Instance());

  // Loads keys from the store (and drops the sessions that expired meanwhile).
  Status Load();
  // Creates a key with the given permissions and stores its hash durably.
  Result<IssuedKey> Issue(std::string name, std::vector<Permission> permissions);
  // Creates a session for `holder.user` (kBadRequestData when empty) that works until
  // `holder.expires_at` (kBadRequestData when not in the future); key_id and, when empty,
  // name ("session:<user>") are filled in. Stored durably like any key.
  Result<IssuedKey> IssueSession(Principal holder);
  Status Revoke(const std::string& key_id);
  // Calls `update` on a copy of the holder of each session of `user` (of every user when
  // empty): false revokes the session, true keeps it with the holder as changed (key_id,
  // user and expires_at stay). Written durably in one batch; returns how many were revoked.
  Result<size_t> UpdateSessions(std::string_view user,
                                const std::function<bool(Principal*)>& update);
  size_t size() const;

  // Checks a presented key and returns its holder (shared, never changed). kUnauthorized
  // when unknown, malformed or expired.
  Result<std::shared_ptr<const Principal>> Authenticate(std::string_view presented) const;
  // Checks permission. kPublic always passes; kAdmin implies every permission.
  static Status Authorize(const Principal* who, Permission needed);

  struct CacheStats {
    size_t entries = 0;   // verified keys held
    uint64_t misses = 0;  // presented keys that had to be hashed
  };
  CacheStats cache_stats() const;

 private:
  struct Entry {
    std::string hash;  // hex BLAKE2b-256 of the secret
    std::shared_ptr<const Principal> principal;
  };
  struct Verified {
    std::string secret;  // the secret that passed the hash check
    std::shared_ptr<const Principal> principal;  // the keys_ entry's, while it lives
  };
  // Issues a key for `holder` (its key_id is filled in).
  Result<IssuedKey> IssueFor(Principal holder);
  // Drops the cached verification of `key_id`. Needs mu_ held exclusively.
  void ForgetLocked(const std::string& key_id) const;
  // Forgets the expired session `key_id` held by `who` (unless replaced since), in memory at
  // once and in the store without waiting.
  void ForgetExpired(const std::string& key_id, const Principal* who) const;

  store::Store* store_;
  size_t max_cached_;
  const Clock* clock_;
  mutable std::shared_mutex mu_;  // guards keys_ and cache_ together
  // Mutable: Authenticate forgets expired sessions.
  mutable std::unordered_map<std::string, Entry> keys_;
  mutable std::unordered_map<std::string, Verified> cache_;  // by key id
  mutable std::atomic<uint64_t> misses_{0};
};

}  // namespace cb::security
