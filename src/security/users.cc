#include "security/users.h"

#include <sodium.h>

#include <algorithm>
#include <set>

namespace cb::security {
namespace {

constexpr std::string_view kKind = "user";
constexpr size_t kMaxDisplayName = 100;
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 1024;

// UTF-8 code points in `s` (continuation bytes not counted).
size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string StoredDoc(const User& u) {
  JsonValue doc = JsonValue::MakeObject();
  doc.Set("displayName", u.display_name);
  doc.Set("passwordHash", u.password_hash);
  JsonValue perms = JsonValue::MakeArray();
  for (Permission p : u.permissions) perms.Push(std::string(PermissionName(p)));
  doc.Set("permissions", std::move(perms));
  doc.Set("department", u.department);
  doc.Set("locale", u.locale);
  doc.Set("source", std::string(UserSourceName(u.source)));
  return doc.Dump();
}

Result<User> FromStored(const std::string& name, const std::string& text) {
  auto doc = ParseJson(text);
  auto str = [&](std::string_view key) -> std::string {
    const JsonValue* v = doc->Find(key);
    return v != nullptr && v->is_string() ? v->as_string() : std::string();
  };
  if (!doc.ok() || !doc->is_object()) return Status::Internal("stored user " + name + " is unreadable");
  User u;
  u.name = name;
  u.display_name = str("displayName");
  u.password_hash = str("passwordHash");
  u.department = str("department");
  u.locale = str("locale");
  u.source = str("source") == "file" ? UserSource::kFile : UserSource::kApi;
  if (const JsonValue* ps = doc->Find("permissions"); ps != nullptr && ps->is_array()) {
    for (const JsonValue& p : ps->as_array()) {
      auto perm = p.is_string() ? PermissionFromName(p.as_string()) : Result<Permission>(Status::Internal(""));
      if (perm.ok()) u.permissions.push_back(*perm);
    }
  }
  return u;
}

// Gives a session's holder the user's permissions and profile.
void FillHolder(const User& u, Principal* p) {
  p->permissions = u.permissions;
  p->display_name = u.display_name;
  p->department = u.department;
  p->locale = u.locale;
}

bool SameUser(const User& a, const User& b) {
  return a.name == b.name && a.display_name == b.display_name &&
         a.password_hash == b.password_hash && a.permissions == b.permissions &&
         a.department == b.department && a.locale == b.locale && a.source == b.source;
}

}  // namespace

std::string_view UserSourceName(UserSource s) { return s == UserSource::kFile ? "file" : "api"; }

Status CheckUserName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                     c == '-';
            });
  if (ok) return Status::Ok();
  return Status::BadRequestData(
      "a user name is 1 to 64 characters of a-z, 0-9, '.', '_' and '-'");
}

Status CheckPassword(std::string_view password) {
  const size_t n = CodePoints(password);
  if (n < kMinPassword || n > kMaxPassword || password.size() > 4 * kMaxPassword) {
    return Status::BadRequestData("a password has 8 to 1,024 characters");
  }
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password) {
  if (sodium_init() < 0) return Status::Internal("libsodium cannot start");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal("out of memory hashing a password");
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, std::string_view password) {
  if (sodium_init() < 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Status CheckPasswordHash(const std::string& hash) {
  if (hash.rfind("$argon2id$", 0) != 0 || hash.size() >= crypto_pwhash_STRBYTES ||
      sodium_init() < 0 ||
      crypto_pwhash_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE) < 0) {
    return Status::BadRequestData(
        "passwordHash must be an argon2id hash (\"$argon2id$…\", made by citybrain "
        "hash-password)");
  }
  return Status::Ok();
}

Result<UserSpec> ParseUserSpec(const JsonValue& v, UserInput kind) {
  if (!v.is_object()) return Status::BadRequestData("a user is a JSON object");
  static const std::set<std::string_view> kFields = {
      "name", "displayName", "password", "passwordHash", "permissions", "department", "locale",
      "source"};
  for (const auto& [key, value] : v.as_object()) {
    if (kFields.count(key) == 0) return Status::BadRequestData("unknown field '" + key + "'");
  }
  auto bad = [](std::string_view field, std::string_view what) {
    return Status::BadRequestData(std::string(field) + ": " + std::string(what));
  };
  UserSpec spec;
  User& u = spec.user;
  const JsonValue* name = v.Find("name");
  if (name == nullptr && kind != UserInput::kReplace) return bad("name", "required");
  if (name != nullptr) {
    if (!name->is_string()) return bad("name", "must be a string");
    CB_RETURN_IF_ERROR(CheckUserName(name->as_string()));
    u.name = name->as_string();
  }
  if (const JsonValue* d = v.Find("displayName"); d != nullptr) {
    if (!d->is_string() || d->as_string().empty() || CodePoints(d->as_string()) > kMaxDisplayName) {
      return bad("displayName", "must be a string of 1 to 100 characters");
    }
    u.display_name = d->as_string();
  } else {
    u.display_name = u.name;
  }
  const JsonValue* password = v.Find("password");
  const JsonValue* hash = v.Find("passwordHash");
  if (kind == UserInput::kFile) {
    if (password != nullptr) {
      return bad("password", "a users file gives passwordHash (made by citybrain hash-password)");
    }
    if (hash == nullptr || !hash->is_string()) return bad("passwordHash", "required, a string");
    CB_RETURN_IF_ERROR(CheckPasswordHash(hash->as_string()));
    u.password_hash = hash->as_string();
  } else {
    if (hash != nullptr) return bad("passwordHash", "cannot be set over the API; give password");
    if (password == nullptr && kind == UserInput::kCreate) return bad("password", "required");
    if (password != nullptr) {
      if (!password->is_string()) return bad("password", "must be a string");
      Status st = CheckPassword(password->as_string());
      if (!st.ok()) return bad("password", st.message());
      spec.password = password->as_string();
    }
  }
  const JsonValue* perms = v.Find("permissions");
  if (perms == nullptr || !perms->is_array() || perms->as_array().empty()) {
    return bad("permissions", "required, a non-empty array of permission names");
  }
  for (const JsonValue& p : perms->as_array()) {
    if (!p.is_string()) return bad("permissions", "must be strings");
    auto perm = PermissionFromName(p.as_string());
    if (!perm.ok()) return bad("permissions", perm.status().message());
    if (std::find(u.permissions.begin(), u.permissions.end(), *perm) == u.permissions.end()) {
      u.permissions.push_back(*perm);
    }
  }
  if (const JsonValue* d = v.Find("department"); d != nullptr && !d->is_null()) {
    if (!d->is_string() || d->as_string().empty() || d->as_string().size() > 64) {
      return bad("department", "must be a department code or null");
    }
    u.department = d->as_string();
  }
  if (const JsonValue* l = v.Find("locale"); l != nullptr) {
    if (!l->is_string() || (l->as_string() != "zh-CN" && l->as_string() != "en")) {
      return bad("locale", "must be zh-CN or en");
    }
    u.locale = l->as_string();
  }
  u.source = kind == UserInput::kFile ? UserSource::kFile : UserSource::kApi;
  return spec;
}

// ---------------------------------------------------------------- SignInLimiter

SignInLimiter::SignInLimiter(const Clock* clock, int max_failures, int64_t window_ms,
                             size_t max_names)
    : clock_(clock),
      max_failures_(static_cast<size_t>(std::max(1, max_failures))),
      window_ms_(window_ms),
      max_names_(std::max<size_t>(1, max_names)) {}

void SignInLimiter::Expire(std::deque<TimeMs>* f, TimeMs now) const {
  while (!f->empty() && f->front() + window_ms_ <= now) f->pop_front();
}

int64_t SignInLimiter::TryAttempt(const std::string& name) {
  const TimeMs now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(name);
  if (it != failures_.end()) {
    Expire(&it->second, now);
    if (it->second.size() >= max_failures_) return it->second.front() + window_ms_ - now;
    it->second.push_back(now);
    return 0;
  }
  if (failures_.size() >= max_names_) {
    // Full: forget the names whose failures have all aged out; if none has, the one that
    // failed least recently.
    auto oldest = failures_.end();
    for (auto f = failures_.begin(); f != failures_.end();) {
      Expire(&f->second, now);
      if (f->second.empty()) {
        f = failures_.erase(f);
        continue;
      }
      if (oldest == failures_.end() || f->second.back() < oldest->second.back()) oldest = f;
      ++f;
    }
    if (failures_.size() >= max_names_ && oldest != failures_.end()) failures_.erase(oldest);
  }
  failures_[name].push_back(now);
  return 0;
}

void SignInLimiter::Succeeded(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(name);
}

size_t SignInLimiter::names() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_.size();
}

// ---------------------------------------------------------------- UserDirectory

UserDirectory::UserDirectory(store::Store* store, ApiKeyAuthority* auth, const Clock* clock,
                             UserDirectoryOptions options)
    : store_(store),
      auth_(auth),
      clock_(clock),
      options_(std::move(options)),
      limiter_(clock, options_.max_failures, options_.failure_window_ms) {}

Status UserDirectory::Load() {
  std::lock_guard<std::mutex> write(write_mu_);
  std::map<std::string, User> loaded;
  Status bad;
  CB_RETURN_IF_ERROR(store_->ScanRecords(kKind, [&](store::Record&& r) {
    auto u = FromStored(r.key, r.doc);
    if (!u.ok()) {
      bad = u.status();
      return;
    }
    loaded[r.key] = std::move(u).value();
  }));
  CB_RETURN_IF_ERROR(bad);
  {
    std::unique_lock lock(mu_);
    users_ = loaded;
  }
  return auth_->UpdateSessions("", [&](Principal* p) {
                 auto it = loaded.find(p->user);
                 if (it == loaded.end()) return false;
                 FillHolder(it->second, p);
                 return true;
               })
      .status();
}

Status UserDirectory::CheckSpec(const User& u) const {
  if (!u.department.empty() && options_.department_known &&
      !options_.department_known(u.department)) {
    return Status::BadRequestData("department: '" + u.department +
                                  "' is not a department of the case catalog");
  }
  return Status::Ok();
}

Status UserDirectory::PutLocked(const User& u) {
  store::WriteBatch b;
  b.put_records.push_back({std::string(kKind), u.name, StoredDoc(u)});
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  users_[u.name] = u;
  return Status::Ok();
}

Status UserDirectory::DeleteLocked(const std::string& name) {
  CB_RETURN_IF_ERROR(auth_->UpdateSessions(name, [](Principal*) { return false; }).status());
  store::WriteBatch b;
  b.delete_records.push_back({std::string(kKind), name, ""});
  CB_RETURN_IF_ERROR(store_->SubmitSync(std::move(b)));
  std::unique_lock lock(mu_);
  users_.erase(name);
  return Status::Ok();
}

Status UserDirectory::RefreshSessionsLocked(const User& u) {
  return auth_->UpdateSessions(u.name, [&u](Principal* p) {
                 FillHolder(u, p);
                 return true;
               })
      .status();
}

Status UserDirectory::SyncFileUsers(const std::vector<UserSpec>& specs) {
  std::set<std::string> names;
  for (size_t i = 0; i < specs.size(); ++i) {
    const User& u = specs[i].user;
    Status st = u.source != UserSource::kFile || u.password_hash.empty()
                    ? Status::BadRequestData("not a users file entry (passwordHash missing)")
                    : CheckSpec(u);
    if (st.ok() && !names.insert(u.name).second) st = Status::BadRequestData("given twice");
    if (!st.ok()) {
      return Status::BadRequestData("users[" + std::to_string(i) + "] (" + u.name +
                                    "): " + st.message());
    }
  }
  std::lock_guard<std::mutex> write(write_mu_);
  std::vector<std::string> gone;
  {
    std::shared_lock lock(mu_);
    for (const auto& [name, u] : users_) {
      if (u.source == UserSource::kFile && names.count(name) == 0) gone.push_back(name);
    }
  }
  for (const std::string& name : gone) CB_RETURN_IF_ERROR(DeleteLocked(name));
  for (const UserSpec& spec : specs) {
    std::optional<User> before;
    {
      std::shared_lock lock(mu_);
      if (auto it = users_.find(spec.user.name); it != users_.end()) before = it->second;
    }
    if (before && SameUser(*before, spec.user)) continue;
    CB_RETURN_IF_ERROR(PutLocked(spec.user));
    if (before && before->password_hash != spec.user.password_hash) {
      CB_RETURN_IF_ERROR(auth_->UpdateSessions(spec.user.name, [](Principal*) { return false; }).status());
    } else if (before) {
      CB_RETURN_IF_ERROR(RefreshSessionsLocked(spec.user));
    }
  }
  return Status::Ok();
}

Result<User> UserDirectory::Create(const UserSpec& spec) {
  User u = spec.user;
  u.source = UserSource::kApi;
  CB_RETURN_IF_ERROR(CheckSpec(u));
  if (!spec.password) return Status::BadRequestData("password: required");
  if (Get(u.name).ok()) return Status::AlreadyExists("user " + u.name + " exists");
  auto hash = HashPassword(*spec.password);  // slow: before taking the lock
  if (!hash.ok()) return hash.status();
  u.password_hash = std::move(hash).value();
  std::lock_guard<std::mutex> write(write_mu_);
  if (Get(u.name).ok()) return Status::AlreadyExists("user " + u.name + " exists");
  CB_RETURN_IF_ERROR(PutLocked(u));
  return u;
}

Result<User> UserDirectory::Replace(const std::string& name, const UserSpec& spec) {
  if (!spec.user.name.empty() && spec.user.name != name) {
    return Status::BadRequestData("name: the body's name must be the one in the path");
  }
  auto check_existing = [&]() -> Result<User> {
    auto before = Get(name);
    if (!before.ok()) return before.status();
    if (before->source == UserSource::kFile) {
      return Status::Conflict("user " + name + " comes from the users file (serve --users); "
                              "change it there");
    }
    return before;
  };
  CB_RETURN_IF_ERROR(check_existing().status());
  User u = spec.user;
  u.name = name;
  u.source = UserSource::kApi;
  if (u.display_name.empty()) u.display_name = name;
  CB_RETURN_IF_ERROR(CheckSpec(u));
  if (spec.password) {
    auto hash = HashPassword(*spec.password);  // slow: before taking the lock
    if (!hash.ok()) return hash.status();
    u.password_hash = std::move(hash).value();
  }
  std::lock_guard<std::mutex> write(write_mu_);
  auto before = check_existing();  // again: it may have gone meanwhile
  if (!before.ok()) return before.status();
  if (!spec.password) u.password_hash = before->password_hash;
  CB_RETURN_IF_ERROR(PutLocked(u));
  if (spec.password) {
    CB_RETURN_IF_ERROR(auth_->UpdateSessions(name, [](Principal*) { return false; }).status());
  } else {
    CB_RETURN_IF_ERROR(RefreshSessionsLocked(u));
  }
  return u;
}

Status UserDirectory::Delete(const std::string& name) {
  std::lock_guard<std::mutex> write(write_mu_);
  auto before = Get(name);
  if (!before.ok()) return before.status();
  if (before->source == UserSource::kFile) {
    return Status::Conflict("user " + name + " comes from the users file (serve --users); "
                            "remove it there");
  }
  return DeleteLocked(name);
}

Result<User> UserDirectory::Get(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = users_.find(name);
  if (it == users_.end()) return Status::NotFound("no user " + name);
  return it->second;
}

std::vector<User> UserDirectory::List() const {
  std::shared_lock lock(mu_);
  std::vector<User> out;
  out.reserve(users_.size());
  for (const auto& [name, u] : users_) out.push_back(u);
  return out;
}

size_t UserDirectory::size() const {
  std::shared_lock lock(mu_);
  return users_.size();
}

const std::string& UserDirectory::DummyHash() {
  std::call_once(dummy_once_, [this] {
    unsigned char random[16];
    randombytes_buf(random, sizeof random);
    auto h = HashPassword(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
    if (h.ok()) dummy_hash_ = std::move(h).value();
  });
  return dummy_hash_;
}

Result<SignedIn> UserDirectory::SignIn(const std::string& name, std::string_view password,
                                       int64_t* retry_after_ms) {
  auto wrong = [] { return Status::Unauthorized("wrong user name or password"); };
  // A name that cannot exist is not counted (nothing to guess), but takes as long.
  const bool well_formed = CheckUserName(name).ok();
  if (well_formed) {
    const int64_t wait = limiter_.TryAttempt(name);
    if (wait > 0) {
      if (retry_after_ms != nullptr) *retry_after_ms = wait;
      return Status::TooManyRequests("too many failed sign-ins for this user name; try again in " +
                                     std::to_string((wait + 999) / 1000) + " s");
    }
  }
  std::optional<std::string> hash;
  if (well_formed) {
    std::shared_lock lock(mu_);
    if (auto it = users_.find(name); it != users_.end()) hash = it->second.password_hash;
  }
  if (!hash) {
    VerifyPassword(DummyHash(), password);
    return wrong();
  }
  if (!VerifyPassword(*hash, password)) return wrong();
  std::lock_guard<std::mutex> write(write_mu_);
  auto user = Get(name);  // it may have changed while the password was checked
  if (!user.ok() || user->password_hash != *hash) return wrong();
  Principal holder;
  holder.user = name;
  FillHolder(*user, &holder);
  holder.expires_at = clock_->Now() + options_.session_ms;
  auto key = auth_->IssueSession(holder);
  if (!key.ok()) return key.status();
  limiter_.Succeeded(name);
  return SignedIn{std::move(key).value(), holder.expires_at, std::move(user).value()};
}

Status UserDirectory::SignOut(const Principal& who) {
  if (!who.is_session()) {
    return Status::Conflict("this is an API key, not a session: signing out does not revoke "
                            "it (an admin revokes keys with DELETE /admin/keys/{id})");
  }
  return auth_->Revoke(who.key_id);
}

}  // namespace cb::security
