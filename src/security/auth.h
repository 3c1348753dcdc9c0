// Who may do what. Every API route declares the Permission it needs; a request carries an
// API key (X-Api-Key header, or Authorization: Bearer <key>) that ApiKeyAuthority checks
// against the keys kept in the store. Anything not granted is denied.
// Keys look like "cbk_<id>_<secret>"; only a BLAKE2b hash of the secret is stored (secrets
// verified recently are kept in memory only, see ApiKeyAuthority).
// Thread-safety: ApiKeyAuthority is safe to use from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
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
};

std::string_view PermissionName(Permission p);
Result<Permission> PermissionFromName(std::string_view name);

// The caller of a request, once authenticated.
struct Principal {
  std::string key_id;
  std::string name;
  std::vector<Permission> permissions;
  bool Has(Permission p) const;
};

struct IssuedKey {
  std::string key;  // shown once, never stored
  std::string id;
};

// Issues, revokes and checks API keys; the keys live in the store, their hashes in memory.
// A key that passed the hash check once is kept in a small bounded cache, so a client that
// sends the same key on every request is not hashed again: a hit needs the very same secret
// (compared in constant time), and issuing or revoking a key drops its cache entry at once.
// Thread-safety: safe to use from any thread.
class ApiKeyAuthority {
 public:
  static constexpr size_t kDefaultCachedKeys = 1024;

  explicit ApiKeyAuthority(store::Store* store, size_t max_cached_keys = kDefaultCachedKeys);

  // Loads keys from the store.
  Status Load();
  // Creates a key with the given permissions and stores its hash durably.
  Result<IssuedKey> Issue(std::string name, std::vector<Permission> permissions);
  Status Revoke(const std::string& key_id);
  size_t size() const;

  // Checks a presented key and returns its holder (shared, never changed). kUnauthorized
  // when unknown or malformed.
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
  // Drops the cached verification of `key_id`. Needs mu_ held exclusively.
  void ForgetLocked(const std::string& key_id);

  store::Store* store_;
  size_t max_cached_;
  mutable std::shared_mutex mu_;  // guards keys_ and cache_ together
  std::unordered_map<std::string, Entry> keys_;
  mutable std::unordered_map<std::string, Verified> cache_;  // by key id
  mutable std::atomic<uint64_t> misses_{0};
};

}  // namespace cb::security
