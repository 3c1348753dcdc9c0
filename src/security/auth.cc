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

constexpr std::string_view kKind = "apikey";

// A key's stored record: its hash and its holder (sessions: user, expiry and profile).
std::string RecordDoc(const std::string& hash, const Principal& who) {
  JsonValue doc = JsonValue::MakeObject();
  doc.Set("name", who.name);
  doc.Set("hash", hash);
  JsonValue perms = JsonValue::MakeArray();
  for (Permission p : who.permissions) perms.Push(std::string(PermissionName(p)));
  doc.Set("permissions", std::move(perms));
  if (who.is_session()) {
    doc.Set("user", who.user);
    doc.Set("displayName", who.display_name);
    doc.Set("department", who.department);
    doc.Set("locale", who.locale);
    doc.Set("expiresAt", who.expires_at);
  }
  return doc.Dump();
}

std::string StringField(const JsonValue& doc, std::string_view key) {
  const JsonValue* v = doc.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

bool Expired(const Principal& who, TimeMs now) {
  return who.expires_at != 0 && now >= who.expires_at;
}

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
    case Permission::kSignedIn: return "signed-in";
  }
  return "public";
}

Result<Permission> PermissionFromName(std::string_view name) {
  if (name == PermissionName(Permission::kSignedIn)) {
    return Status::BadRequestData("'signed-in' cannot be granted: every key and session has it");
  }
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
  if (p == Permission::kSignedIn) return true;  // whoever got this far presented a valid key
  auto has = [this](Permission q) {
    return std::find(permissions.begin(), permissions.end(), q) != permissions.end();
  };
  // Moving cases through their workflow includes reading and reporting them.
  if ((p == Permission::kCasesRead || p == Permission::kCasesReport) && has(Permission::kCasesWrite)) {
    return true;
  }
  return has(p) || has(Permission::kAdmin);
}

ApiKeyAuthority::ApiKeyAuthority(store::Store* store, size_t max_cached_keys, const Clock* clock)
    : store_(store), max_cached_(max_cached_keys), clock_(clock) {
  EnsureSodium();
}

Status ApiKeyAuthority::Load() {
  std::unique_lock lock(mu_);
  cache_.clear();
  Status bad;
  const TimeMs now = clock_->Now();
  store::WriteBatch expired;
  Status st = store_->ScanRecords(kKind, [&](store::Record&& r) {
    auto doc = ParseJson(r.doc);
    if (!doc.ok() || !doc->is_object()) {
      bad = Status::Internal("stored API key " + r.key + " is unreadable");
      return;
    }
    Entry e;
    auto who = std::make_shared<Principal>();
    who->key_id = r.key;
    who->name = StringField(*doc, "name");
    e.hash = StringField(*doc, "hash");
    if (const JsonValue* ps = doc->Find("permissions"); ps && ps->is_array()) {
      for (const auto& p : ps->as_array()) {
        if (!p.is_string()) continue;
        auto perm = PermissionFromName(p.as_string());
        if (perm.ok()) who->permissions.push_back(*perm);
      }
    }
    who->user = StringField(*doc, "user");
    who->display_name = StringField(*doc, "displayName");
    who->department = StringField(*doc, "department");
    who->locale = StringField(*doc, "locale");
    if (const JsonValue* x = doc->Find("expiresAt"); x && x->is_int()) who->expires_at = x->as_int();
    if (Expired(*who, now)) {
      expired.delete_records.push_back({std::string(kKind), r.key, ""});
      return;
    }
    e.principal = std::move(who);
    keys_[r.key] = std::move(e);
  });
  CB_RETURN_IF_ERROR(st);
  CB_RETURN_IF_ERROR(bad);
  if (!expired.delete_records.empty()) CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(expired)));
  return Status::Ok();
}

Result<IssuedKey> ApiKeyAuthority::Issue(std::string name, std::vector<Permission> permissions) {
  Principal who;
  who.name = std::move(name);
  who.permissions = std::move(permissions);
  return IssueFor(std::move(who));
}

Result<IssuedKey> ApiKeyAuthority::IssueSession(Principal holder) {
  if (holder.user.empty()) return Status::BadRequestData("a session needs a user");
  if (holder.expires_at <= clock_->Now()) {
    return Status::BadRequestData("a session must expire in the future");
  }
  if (holder.name.empty()) holder.name = "session:" + holder.user;
  return IssueFor(std::move(holder));
}

Result<IssuedKey> ApiKeyAuthority::IssueFor(Principal holder) {
  unsigned char id_bytes[6], secret_bytes[24];
  randombytes_buf(id_bytes, sizeof id_bytes);
  randombytes_buf(secret_bytes, sizeof secret_bytes);
  IssuedKey k;
  k.id = Hex(id_bytes, sizeof id_bytes);
  std::string secret = Hex(secret_bytes, sizeof secret_bytes);
  k.key = std::string(kPrefix) + k.id + "_" + secret;

  Entry e;
  e.hash = HashSecret(secret);
  holder.key_id = k.id;
  store::WriteBatch b;
  b.put_records.push_back({std::string(kKind), k.id, RecordDoc(e.hash, holder)});
  e.principal = std::make_shared<const Principal>(std::move(holder));
  // Sessions that expired without being presented again go in the same write.
  std::vector<std::string> expired;
  {
    std::shared_lock lock(mu_);
    const TimeMs now = clock_->Now();
    for (const auto& [id, entry] : keys_) {
      if (Expired(*entry.principal, now)) expired.push_back(id);
    }
  }
  for (const std::string& id : expired) b.delete_records.push_back({std::string(kKind), id, ""});
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  for (const std::string& id : expired) {
    ForgetLocked(id);
    keys_.erase(id);
  }
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
  b.delete_records.push_back({std::string(kKind), key_id, ""});
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  ForgetLocked(key_id);
  keys_.erase(key_id);
  return Status::Ok();
}

Result<size_t> ApiKeyAuthority::UpdateSessions(std::string_view user,
                                               const std::function<bool(Principal*)>& update) {
  struct Change {
    std::string id;
    std::shared_ptr<const Principal> before;
    std::shared_ptr<const Principal> after;  // null: revoked
    std::string hash;
  };
  std::vector<Change> changes;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, e] : keys_) {
      if (!e.principal->is_session() || (!user.empty() && e.principal->user != user)) continue;
      changes.push_back({id, e.principal, nullptr, e.hash});
    }
  }
  store::WriteBatch b;
  size_t revoked = 0;
  for (Change& c : changes) {
    Principal p = *c.before;
    if (!update(&p)) {
      ++revoked;
      b.delete_records.push_back({std::string(kKind), c.id, ""});
      continue;
    }
    p.key_id = c.before->key_id;
    p.user = c.before->user;
    p.expires_at = c.before->expires_at;
    b.put_records.push_back({std::string(kKind), c.id, RecordDoc(c.hash, p)});
    c.after = std::make_shared<const Principal>(std::move(p));
  }
  if (changes.empty()) return revoked;
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  for (Change& c : changes) {
    auto it = keys_.find(c.id);
    if (it == keys_.end() || it->second.principal != c.before) continue;  // changed meanwhile
    ForgetLocked(c.id);
    if (c.after) {
      it->second.principal = std::move(c.after);
    } else {
      keys_.erase(it);
    }
  }
  return revoked;
}

size_t ApiKeyAuthority::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

Result<std::shared_ptr<const Principal>> ApiKeyAuthority::Authenticate(
    std::string_view presented) const {
  auto bad = [] { return Status::Unauthorized("invalid API key"); };
  auto expired = [] { return Status::Unauthorized("the session has expired; sign in again"); };
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
  std::shared_ptr<const Principal> who;
  {
    std::shared_lock lock(mu_);
    auto hit = cache_.find(id);
    if (hit != cache_.end() && same_secret(hit->second.secret)) who = hit->second.principal;
  }
  if (who != nullptr) {
    if (!Expired(*who, clock_->Now())) return who;
    ForgetExpired(id, who.get());
    return expired();
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  std::string hash = HashSecret(secret);
  {
    std::shared_lock lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end() || it->second.hash.size() != hash.size() ||
        sodium_memcmp(it->second.hash.data(), hash.data(), hash.size()) != 0) {
      return bad();
    }
    who = it->second.principal;
  }
  if (Expired(*who, clock_->Now())) {
    ForgetExpired(id, who.get());
    return expired();
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

void ApiKeyAuthority::ForgetLocked(const std::string& key_id) const { cache_.erase(key_id); }

void ApiKeyAuthority::ForgetExpired(const std::string& key_id, const Principal* who) const {
  {
    std::unique_lock lock(mu_);
    auto it = keys_.find(key_id);
    if (it == keys_.end() || it->second.principal.get() != who) return;  // gone or replaced
    ForgetLocked(key_id);
    keys_.erase(it);
  }
  store::WriteBatch b;
  b.delete_records.push_back({std::string(kKind), key_id, ""});
  // Not waited for: a failed delete only leaves an expired record, dropped at the next Load.
  store_->Submit(std::move(b), [](Status) {});
}

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
