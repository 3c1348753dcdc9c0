// Who may do what. Every API route declares the Permission it needs; a request carries an
// API key (X-Api-Key header, or Authorization: Bearer <key>) that ApiKeyAuthority checks
// against the keys kept in the store. Anything not granted is denied.
// Keys look like "cbk_<id>_<secret>"; only a BLAKE2b hash of the secret is stored.
// Thread-safety: ApiKeyAuthority is safe to use from any thread.
#pragma once

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

class ApiKeyAuthority {
 public:
  explicit ApiKeyAuthority(store::Store* store);

  // Loads keys from the store.
  Status Load();
  // Creates a key with the given permissions and stores its hash durably.
  Result<IssuedKey> Issue(std::string name, std::vector<Permission> permissions);
  Status Revoke(const std::string& key_id);
  size_t size() const;

  // Checks a presented key. kUnauthorized when unknown or malformed.
  Result<Principal> Authenticate(std::string_view presented) const;
  // Checks permission. kPublic always passes; kAdmin implies every permission.
  static Status Authorize(const Principal* who, Permission needed);

 private:
  struct Entry {
    std::string hash;  // hex BLAKE2b-256 of the secret
    Principal principal;
  };
  store::Store* store_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> keys_;
};

}  // namespace cb::security
