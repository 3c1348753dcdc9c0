#include "security/auth.h"

#include <sodium.h>

#include <algorithm>
#include <mutex>

#include "core/json.h"

namespace cb::security {
namespace {

constexpr std::string_view kPrefix = "cbk_";

std::string Hex(const unsigned char* p, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

std::string HashSecret(std::string_view secret) {
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return Hex(h, sizeof h);
}

struct InitSodium {
  InitSodium() {
    if (sodium_init() < 0) std::abort();
  }
};

void EnsureSodium() { static InitSodium once; }

}  // namespace

std::string_view PermissionName(Permission p) {
  switch (p) {
    case Permission::kPublic: return "public";
    case Permission::kContextRead: return "context:read";
    case Permission::kContextWrite: return "context:write";
    case Permission::kSubscriptions: return "subscriptions";
    case Permission::kMetrics: return "metrics";
    case Permission::kCasesReport: return "cases:report";
    case Permission::kCasesRead: return "cases:read";
    case Permission::kCasesWrite: return "cases:write";
    case Permission::kAdmin: return "admin";
  }
  return "public";
}

Result<Permission> PermissionFromName(std::string_view name) {
  for (Permission p : {Permission::kContextRead, Permission::kContextWrite,
                       Permission::kSubscriptions, Permission::kMetrics,
                       Permission::kCasesReport, Permission::kCasesRead,
                       Permission::kCasesWrite, Permission::kAdmin}) {
    if (PermissionName(p) == name) return p;
  }
  return Status::BadRequestData("unknown permission '" + std::string(name) +
                                "' (known: context:read, context:write, subscriptions, "
                                "metrics, cases:report, cases:read, cases:write, admin)");
}

bool Principal::Has(Permission p) const {
  auto has = [this](Permission q) {
    return std::find(permissions.begin(), permissions.end(), q) != permissions.end();
  };
  // Moving cases through their workflow includes reading and reporting them.
  if ((p == Permission::kCasesRead || p == Permission::kCasesReport) && has(Permission::kCasesWrite)) {
    return true;
  }
  return has(p) || has(Permission::kAdmin);
}

ApiKeyAuthority::ApiKeyAuthority(store::Store* store, size_t max_cached_keys)
    : store_(store), max_cached_(max_cached_keys) {
  EnsureSodium();
}

Status ApiKeyAuthority::Load() {
  std::unique_lock lock(mu_);
  cache_.clear();
  Status bad;
  Status st = store_->ScanRecords("apikey", [&](store::Record&& r) {
    auto doc = ParseJson(r.doc);
    if (!doc.ok() || !doc->is_object()) {
      bad = Status::Internal("stored API key " + r.key + " is unreadable");
      return;
    }
    Entry e;
    auto who = std::make_shared<Principal>();
    who->key_id = r.key;
    if (const JsonValue* n = doc->Find("name"); n && n->is_string()) who->name = n->as_string();
    if (const JsonValue* h = doc->Find("hash"); h && h->is_string()) e.hash = h->as_string();
    if (const JsonValue* ps = doc->Find("permissions"); ps && ps->is_array()) {
      for (const auto& p : ps->as_array()) {
        if (!p.is_string()) continue;
        auto perm = PermissionFromName(p.as_string());
        if (perm.ok()) who->permissions.push_back(*perm);
      }
    }
    e.principal = std::move(who);
    keys_[r.key] = std::move(e);
  });
  CB_RETURN_IF_ERROR(st);
  return bad;
}

Result<IssuedKey> ApiKeyAuthority::Issue(std::string name, std::vector<Permission> permissions) {
  unsigned char id_bytes[6], secret_bytes[24];
  randombytes_buf(id_bytes, sizeof id_bytes);
  randombytes_buf(secret_bytes, sizeof secret_bytes);
  IssuedKey k;
  k.id = Hex(id_bytes, sizeof id_bytes);
  std::string secret = Hex(secret_bytes, sizeof secret_bytes);
  k.key = std::string(kPrefix) + k.id + "_" + secret;

  Entry e;
  e.hash = HashSecret(secret);
  auto who = std::make_shared<Principal>();
  who->key_id = k.id;
  who->name = name;
  who->permissions = permissions;
  e.principal = std::move(who);

  JsonValue doc = JsonValue::MakeObject();
  doc.Set("name", name);
  doc.Set("hash", e.hash);
  JsonValue perms = JsonValue::MakeArray();
  for (Permission p : permissions) perms.Push(std::string(PermissionName(p)));
  doc.Set("permissions", std::move(perms));
  store::WriteBatch b;
  b.put_records.push_back({"apikey", k.id, doc.Dump()});
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  ForgetLocked(k.id);
  keys_[k.id] = std::move(e);
  return k;
}

Status ApiKeyAuthority::Revoke(const std::string& key_id) {
  {
    std::shared_lock lock(mu_);
    if (keys_.count(key_id) == 0) return Status::NotFound("no API key " + key_id);
  }
  store::WriteBatch b;
  b.delete_records.push_back({"apikey", key_id, ""});
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  ForgetLocked(key_id);
  keys_.erase(key_id);
  return Status::Ok();
}

size_t ApiKeyAuthority::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

Result<std::shared_ptr<const Principal>> ApiKeyAuthority::Authenticate(
    std::string_view presented) const {
  auto bad = [] { return Status::Unauthorized("invalid API key"); };
  if (presented.substr(0, kPrefix.size()) != kPrefix) return bad();
  std::string_view rest = presented.substr(kPrefix.size());
  size_t sep = rest.find('_');
  if (sep == std::string_view::npos) return bad();
  std::string id(rest.substr(0, sep));
  std::string_view secret = rest.substr(sep + 1);
  auto same_secret = [secret](const std::string& known) {
    return known.size() == secret.size() &&
           sodium_memcmp(known.data(), secret.data(), secret.size()) == 0;
  };
  {
    std::shared_lock lock(mu_);
    auto hit = cache_.find(id);
    if (hit != cache_.end() && same_secret(hit->second.secret)) return hit->second.principal;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  std::string hash = HashSecret(secret);
  std::shared_ptr<const Principal> who;
  {
    std::shared_lock lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end() || it->second.hash.size() != hash.size() ||
        sodium_memcmp(it->second.hash.data(), hash.data(), hash.size()) != 0) {
      return bad();
    }
    who = it->second.principal;
  }
  if (max_cached_ > 0) {
    std::unique_lock lock(mu_);
    auto it = keys_.find(id);
    // Only while the key is still the one just checked (not revoked or issued anew since).
    if (it != keys_.end() && it->second.principal == who) {
      if (cache_.size() >= max_cached_ && cache_.count(id) == 0) cache_.erase(cache_.begin());
      cache_[id] = Verified{std::string(secret), who};
    }
  }
  return who;
}

ApiKeyAuthority::CacheStats ApiKeyAuthority::cache_stats() const {
  std::shared_lock lock(mu_);
  return {cache_.size(), misses_.load(std::memory_order_relaxed)};
}

void ApiKeyAuthority::ForgetLocked(const std::string& key_id) { cache_.erase(key_id); }

Status ApiKeyAuthority::Authorize(const Principal* who, Permission needed) {
  if (needed == Permission::kPublic) return Status::Ok();
  if (who == nullptr) {
    return Status::Unauthorized("this request needs an API key (X-Api-Key or Authorization: Bearer)");
  }
  if (!who->Has(needed)) {
    return Status::Forbidden("the API key lacks the permission '" +
                             std::string(PermissionName(needed)) + "'");
  }
  return Status::Ok();
}

}  // namespace cb::security
