#include "security/users.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cb::security {
namespace {

constexpr TimeMs kStart = 1'780'000'000'000;
constexpr int64_t kHour = 3600 * 1000;

JsonValue J(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? std::move(v).value() : JsonValue();
}

// One hash for the whole file: argon2id takes a while.
const std::string& SecretHash() {
  static const std::string h = HashPassword("correct horse").value();
  return h;
}

class UsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cb-users-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  void TearDown() override {
    users_.reset();
    auth_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)opens the store, the keys and the users, as a restart does.
  void Open(UserDirectoryOptions options = {}) {
    users_.reset();
    auth_.reset();
    store_.reset();
    store::StoreOptions o;
    o.path = dir_ + "/db";
    store_ = std::move(store::OpenSqliteStore(o)).value();
    auth_ = std::make_unique<ApiKeyAuthority>(store_.get(), ApiKeyAuthority::kDefaultCachedKeys, &clock_);
    ASSERT_TRUE(auth_->Load().ok());
    if (!options.department_known) {
      options.department_known = [](std::string_view d) { return d == "szj" || d == "cgj"; };
    }
    users_ = std::make_unique<UserDirectory>(store_.get(), auth_.get(), &clock_, options);
    ASSERT_TRUE(users_->Load().ok());
  }
  // A user made through the API with the password "correct horse".
  User AddUser(const std::string& name, const std::string& perms = R"(["context:read"])",
               const std::string& extra = "") {
    auto spec = ParseUserSpec(J(R"({"name":")" + name + R"(","password":"correct horse","permissions":)" +
                                perms + extra + "}"),
                              UserInput::kCreate);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto u = users_->Create(*spec);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? *u : User{};
  }
  UserSpec FileSpec(const std::string& name, const std::string& perms = R"(["context:read"])") {
    auto spec = ParseUserSpec(J(R"({"name":")" + name + R"(","passwordHash":")" + SecretHash() +
                                R"(","permissions":)" + perms + "}"),
                              UserInput::kFile);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return spec.ok() ? *spec : UserSpec{};
  }

  ManualClock clock_{kStart};
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ApiKeyAuthority> auth_;
  std::unique_ptr<UserDirectory> users_;
};

TEST(PasswordTest, HashesAreArgon2idAndVerify) {
  const std::string& h = SecretHash();
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(CheckPasswordHash(h).ok());
  EXPECT_TRUE(VerifyPassword(h, "correct horse"));
  EXPECT_FALSE(VerifyPassword(h, "correct horsf"));
  EXPECT_FALSE(VerifyPassword(h, ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse"));
  auto again = HashPassword("correct horse");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, h);  // salted
}

TEST(PasswordTest, BadHashesAreRefused) {
  for (const std::string& bad :
       {std::string(""), std::string("$argon2i$v=19$m=4096,t=3,p=1$abc$def"),
        std::string("$2y$10$abcdefghijklmnopqrstuv"), std::string("$argon2id$garbage"),
        SecretHash().substr(0, 20)}) {
    EXPECT_EQ(CheckPasswordHash(bad).code(), Code::kBadRequestData) << bad;
  }
}

TEST(PasswordTest, PasswordLengthsCountCharacters) {
  EXPECT_TRUE(CheckPassword("12345678").ok());
  EXPECT_FALSE(CheckPassword("1234567").ok());
  EXPECT_FALSE(CheckPassword("").ok());
  EXPECT_TRUE(CheckPassword("值班长值班长值班").ok());   // 8 characters, 24 bytes
  EXPECT_FALSE(CheckPassword("值班长值班长值").ok());    // 7 characters, 21 bytes
  EXPECT_TRUE(CheckPassword(std::string(1024, 'x')).ok());
  EXPECT_FALSE(CheckPassword(std::string(1025, 'x')).ok());
}

TEST(UserNameTest, OnlyLowerCaseLettersDigitsAndPunctuation) {
  for (const std::string& good : {std::string("operator"), std::string("grid01"), std::string("a"),
                                  std::string("zhang.san"), std::string("szj-01"), std::string("x_y"),
                                  std::string(64, 'a')}) {
    EXPECT_TRUE(CheckUserName(good).ok()) << good;
  }
  for (const std::string& bad : {std::string(""), std::string("Operator"), std::string("a b"),
                                 std::string("张三"), std::string(65, 'a'), std::string("a/b"),
                                 std::string("a\nb"), std::string("a@b")}) {
    EXPECT_EQ(CheckUserName(bad).code(), Code::kBadRequestData) << bad;
  }
}

struct BadSpec {
  const char* body;
  UserInput kind;
  const char* names;  // the field the message names
};

TEST(ParseUserSpecTest, BadSpecsNameTheField) {
  const BadSpec cases[] = {
      {R"([])", UserInput::kCreate, "object"},
      {R"({"password":"12345678","permissions":["context:read"]})", UserInput::kCreate, "name"},
      {R"({"name":"Big","password":"12345678","permissions":["context:read"]})", UserInput::kCreate, "user name"},
      {R"({"name":"a","permissions":["context:read"]})", UserInput::kCreate, "password"},
      {R"({"name":"a","password":"short","permissions":["context:read"]})", UserInput::kCreate, "password"},
      {R"({"name":"a","password":12345678,"permissions":["context:read"]})", UserInput::kCreate, "password"},
      {R"({"name":"a","password":"12345678"})", UserInput::kCreate, "permissions"},
      {R"({"name":"a","password":"12345678","permissions":[]})", UserInput::kCreate, "permissions"},
      {R"({"name":"a","password":"12345678","permissions":["root"]})", UserInput::kCreate, "root"},
      {R"({"name":"a","password":"12345678","permissions":["signed-in"]})", UserInput::kCreate, "signed-in"},
      {R"({"name":"a","password":"12345678","permissions":[1]})", UserInput::kCreate, "permissions"},
      {R"({"name":"a","password":"12345678","permissions":["admin"],"locale":"fr"})", UserInput::kCreate, "locale"},
      {R"({"name":"a","password":"12345678","permissions":["admin"],"displayName":""})", UserInput::kCreate, "displayName"},
      {R"({"name":"a","password":"12345678","permissions":["admin"],"department":3})", UserInput::kCreate, "department"},
      {R"({"name":"a","password":"12345678","permissions":["admin"],"role":"x"})", UserInput::kCreate, "role"},
      {R"({"name":"a","passwordHash":"$argon2id$x","permissions":["admin"]})", UserInput::kCreate, "passwordHash"},
      {R"({"name":"a","password":"12345678","permissions":["admin"]})", UserInput::kFile, "password"},
      {R"({"name":"a","passwordHash":"plain","permissions":["admin"]})", UserInput::kFile, "passwordHash"},
      {R"({"name":"a","permissions":["admin"]})", UserInput::kFile, "passwordHash"},
  };
  for (const BadSpec& c : cases) {
    auto spec = ParseUserSpec(J(c.body), c.kind);
    ASSERT_FALSE(spec.ok()) << c.body;
    EXPECT_EQ(spec.status().code(), Code::kBadRequestData) << c.body;
    EXPECT_NE(spec.status().message().find(c.names), std::string::npos)
        << c.body << " → " << spec.status().message();
  }
  std::string long_name = R"({"name":"a","password":"12345678","permissions":["admin"],"displayName":")" +
                          std::string(101, 'x') + R"("})";
  EXPECT_FALSE(ParseUserSpec(J(long_name), UserInput::kCreate).ok());
}

TEST(ParseUserSpecTest, DefaultsAndDuplicates) {
  auto spec = ParseUserSpec(
      J(R"({"name":"szj01","password":"12345678","permissions":["cases:write","context:read","cases:write"]})"),
      UserInput::kCreate);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->user.display_name, "szj01");
  EXPECT_EQ(spec->user.locale, "zh-CN");
  EXPECT_EQ(spec->user.department, "");
  EXPECT_EQ(spec->user.permissions,
            (std::vector<Permission>{Permission::kCasesWrite, Permission::kContextRead}));
  ASSERT_TRUE(spec->password.has_value());
  auto replace = ParseUserSpec(J(R"({"permissions":["context:read"],"department":null,"locale":"en"})"),
                               UserInput::kReplace);
  ASSERT_TRUE(replace.ok()) << replace.status().ToString();
  EXPECT_FALSE(replace->password.has_value());
  EXPECT_EQ(replace->user.locale, "en");
}

TEST(PermissionTest, SignedInIsNeverGrantedButEveryoneHasIt) {
  auto p = PermissionFromName("signed-in");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kBadRequestData);
  EXPECT_EQ(PermissionName(Permission::kSignedIn), "signed-in");
  Principal key;
  key.permissions = {Permission::kMetrics};
  EXPECT_TRUE(key.Has(Permission::kSignedIn));
  EXPECT_TRUE(ApiKeyAuthority::Authorize(&key, Permission::kSignedIn).ok());
  EXPECT_EQ(ApiKeyAuthority::Authorize(nullptr, Permission::kSignedIn).code(), Code::kUnauthorized);
}

TEST(SignInLimiterTest, FiveFailuresInFiveMinutesBlockUntilTheOldestAgesOut) {
  ManualClock clock(kStart);
  SignInLimiter limiter(&clock);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(limiter.TryAttempt("operator"), 0) << i;
    clock.Advance(10'000);
  }
  // The first failure was 50 s ago: blocked for 250 s more.
  EXPECT_EQ(limiter.TryAttempt("operator"), 250'000);
  EXPECT_EQ(limiter.TryAttempt("grid01"), 0);  // per name
  clock.Advance(249'999);
  EXPECT_EQ(limiter.TryAttempt("operator"), 1);
  clock.Advance(1);
  EXPECT_EQ(limiter.TryAttempt("operator"), 0);  // one failure aged out: one more try
  EXPECT_GT(limiter.TryAttempt("operator"), 0);
}

TEST(SignInLimiterTest, SuccessClearsTheCount) {
  ManualClock clock(kStart);
  SignInLimiter limiter(&clock);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.TryAttempt("operator"), 0);
  limiter.Succeeded("operator");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.TryAttempt("operator"), 0);
  EXPECT_GT(limiter.TryAttempt("operator"), 0);
}

TEST(SignInLimiterTest, MemoryIsBounded) {
  ManualClock clock(kStart);
  SignInLimiter limiter(&clock, 5, 300'000, 100);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(limiter.TryAttempt("guess" + std::to_string(i)), 0);
    clock.Advance(1);
  }
  EXPECT_LE(limiter.names(), 100u);
  // Aged-out names go first: a name blocked now stays blocked while newcomers arrive.
  for (int i = 0; i < 5; ++i) limiter.TryAttempt("target");
  clock.Advance(300'000);
  for (int i = 0; i < 5; ++i) limiter.TryAttempt("target");
  for (int i = 0; i < 99; ++i) limiter.TryAttempt("fresh" + std::to_string(i));
  EXPECT_GT(limiter.TryAttempt("target"), 0);
  EXPECT_LE(limiter.names(), 100u);
}

TEST_F(UsersTest, SignInIssuesASessionWithTheUsersProfile) {
  AddUser("szj01", R"(["context:read","cases:write"])",
          R"(,"displayName":"市政设施管理中心","department":"szj","locale":"en")");
  auto s = users_->SignIn("szj01", "correct horse");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->expires_at, kStart + 12 * kHour);
  EXPECT_EQ(s->key.key.rfind("cbk_" + s->key.id + "_", 0), 0u);
  auto who = auth_->Authenticate(s->key.key);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ((*who)->user, "szj01");
  EXPECT_EQ((*who)->name, "session:szj01");
  EXPECT_EQ((*who)->display_name, "市政设施管理中心");
  EXPECT_EQ((*who)->department, "szj");
  EXPECT_EQ((*who)->locale, "en");
  EXPECT_EQ((*who)->expires_at, kStart + 12 * kHour);
  EXPECT_TRUE((*who)->Has(Permission::kCasesRead));
  EXPECT_FALSE((*who)->Has(Permission::kAdmin));
  // Sessions survive a restart, like keys.
  Open();
  EXPECT_TRUE(auth_->Authenticate(s->key.key).ok());
  EXPECT_EQ(users_->Get("szj01")->display_name, "市政设施管理中心");
}

TEST_F(UsersTest, WrongNameAndWrongPasswordLookTheSame) {
  AddUser("operator");
  auto wrong_password = users_->SignIn("operator", "correct horsf");
  auto wrong_name = users_->SignIn("nobody", "correct horse");
  auto bad_name = users_->SignIn("No Body", "correct horse");
  for (const auto* r : {&wrong_password, &wrong_name, &bad_name}) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->status().code(), Code::kUnauthorized);
    EXPECT_EQ(r->status().message(), "wrong user name or password");
  }
  EXPECT_EQ(auth_->size(), 0u);
}

TEST_F(UsersTest, TheSixthFailureIsRefusedEvenWithTheRightPassword) {
  AddUser("operator");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(users_->SignIn("operator", "guess " + std::to_string(i)).status().code(),
              Code::kUnauthorized);
    clock_.Advance(1000);
  }
  int64_t retry = 0;
  auto r = users_->SignIn("operator", "correct horse", &retry);
  EXPECT_EQ(r.status().code(), Code::kTooManyRequests);
  EXPECT_EQ(retry, 300'000 - 5000);
  clock_.Advance(retry);
  EXPECT_TRUE(users_->SignIn("operator", "correct horse").ok());
  // Unknown names are limited too (no telling them apart).
  for (int i = 0; i < 5; ++i) users_->SignIn("nobody", "x");
  EXPECT_EQ(users_->SignIn("nobody", "x").status().code(), Code::kTooManyRequests);
}

TEST_F(UsersTest, SessionsExpireAndAreForgotten) {
  Open(UserDirectoryOptions{.session_ms = 2 * kHour});
  AddUser("operator");
  auto s = users_->SignIn("operator", "correct horse");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->expires_at, kStart + 2 * kHour);
  clock_.Advance(2 * kHour - 1);
  EXPECT_TRUE(auth_->Authenticate(s->key.key).ok());  // cached now
  clock_.Advance(1);
  auto late = auth_->Authenticate(s->key.key);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kUnauthorized);
  EXPECT_EQ(auth_->size(), 0u);  // forgotten
  EXPECT_EQ(auth_->Revoke(s->key.id).code(), Code::kNotFound);
}

TEST_F(UsersTest, ExpiredSessionsAreDroppedFromTheStore) {
  AddUser("operator");
  auto old = users_->SignIn("operator", "correct horse");
  ASSERT_TRUE(old.ok());
  auto plain = auth_->Issue("dashboard", {Permission::kContextRead});
  ASSERT_TRUE(plain.ok());
  clock_.Advance(13 * kHour);
  auto count_stored = [&] {
    size_t n = 0;
    EXPECT_TRUE(store_->ScanRecords("apikey", [&](store::Record&&) { ++n; }).ok());
    return n;
  };
  EXPECT_EQ(count_stored(), 2u);
  Open();  // a restart drops what expired meanwhile; plain keys never expire
  EXPECT_EQ(count_stored(), 1u);
  EXPECT_TRUE(auth_->Authenticate(plain->key).ok());
  EXPECT_FALSE(auth_->Authenticate(old->key.key).ok());
  // Issuing a session also sweeps sessions no one presented again.
  auto a = users_->SignIn("operator", "correct horse");
  clock_.Advance(13 * kHour);
  auto b = users_->SignIn("operator", "correct horse");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(count_stored(), 2u);  // the plain key and b
}

TEST_F(UsersTest, SignOutRevokesSessionsOnly) {
  AddUser("operator");
  auto s = users_->SignIn("operator", "correct horse");
  ASSERT_TRUE(s.ok());
  auto who = auth_->Authenticate(s->key.key);
  ASSERT_TRUE(who.ok());
  ASSERT_TRUE(users_->SignOut(**who).ok());
  EXPECT_EQ(auth_->Authenticate(s->key.key).status().code(), Code::kUnauthorized);
  auto plain = auth_->Issue("dashboard", {Permission::kContextRead});
  auto key = auth_->Authenticate(plain->key);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(users_->SignOut(**key).code(), Code::kConflict);
  EXPECT_TRUE(auth_->Authenticate(plain->key).ok());
}

TEST_F(UsersTest, DeletingAUserRevokesAllTheirSessions) {
  AddUser("operator");
  AddUser("grid01");
  auto a = users_->SignIn("operator", "correct horse");
  auto b = users_->SignIn("operator", "correct horse");
  auto other = users_->SignIn("grid01", "correct horse");
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  ASSERT_TRUE(auth_->Authenticate(a->key.key).ok());  // cached
  ASSERT_TRUE(users_->Delete("operator").ok());
  EXPECT_FALSE(auth_->Authenticate(a->key.key).ok());
  EXPECT_FALSE(auth_->Authenticate(b->key.key).ok());
  EXPECT_TRUE(auth_->Authenticate(other->key.key).ok());
  EXPECT_EQ(users_->Delete("operator").code(), Code::kNotFound);
  EXPECT_EQ(users_->SignIn("operator", "correct horse").status().code(), Code::kUnauthorized);
  Open();
  EXPECT_FALSE(auth_->Authenticate(a->key.key).ok());
  EXPECT_EQ(users_->size(), 1u);
}

TEST_F(UsersTest, ReplacingChangesSessionsAndANewPasswordRevokesThem) {
  AddUser("operator", R"(["context:read"])");
  auto s = users_->SignIn("operator", "correct horse");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(auth_->Authenticate(s->key.key).ok());
  auto spec = ParseUserSpec(J(R"({"permissions":["context:write"],"displayName":"值班长","locale":"en"})"),
                            UserInput::kReplace);
  ASSERT_TRUE(spec.ok());
  auto u = users_->Replace("operator", *spec);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->display_name, "值班长");
  auto who = auth_->Authenticate(s->key.key);
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE((*who)->Has(Permission::kContextWrite));
  EXPECT_FALSE((*who)->Has(Permission::kContextRead));
  EXPECT_EQ((*who)->display_name, "值班长");
  EXPECT_EQ((*who)->expires_at, s->expires_at);
  // The old password still works (not changed).
  EXPECT_TRUE(users_->SignIn("operator", "correct horse").ok());

  auto with_password = ParseUserSpec(J(R"({"permissions":["context:read"],"password":"new password"})"),
                                     UserInput::kReplace);
  ASSERT_TRUE(users_->Replace("operator", *with_password).ok());
  EXPECT_FALSE(auth_->Authenticate(s->key.key).ok());
  EXPECT_EQ(users_->SignIn("operator", "correct horse").status().code(), Code::kUnauthorized);
  EXPECT_TRUE(users_->SignIn("operator", "new password").ok());

  auto renamed = ParseUserSpec(J(R"({"name":"other","permissions":["context:read"]})"), UserInput::kReplace);
  EXPECT_EQ(users_->Replace("operator", *renamed).status().code(), Code::kBadRequestData);
  EXPECT_EQ(users_->Replace("nobody", *spec).status().code(), Code::kNotFound);
}

TEST_F(UsersTest, CreateRefusesDuplicatesAndUnknownDepartments) {
  AddUser("operator");
  auto again = ParseUserSpec(J(R"({"name":"operator","password":"12345678","permissions":["admin"]})"),
                             UserInput::kCreate);
  EXPECT_EQ(users_->Create(*again).status().code(), Code::kAlreadyExists);
  auto dept = ParseUserSpec(
      J(R"({"name":"x","password":"12345678","permissions":["admin"],"department":"nope"})"),
      UserInput::kCreate);
  ASSERT_TRUE(dept.ok());
  auto r = users_->Create(*dept);
  EXPECT_EQ(r.status().code(), Code::kBadRequestData);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
  EXPECT_EQ(users_->size(), 1u);
}

TEST_F(UsersTest, FileUsersFollowTheFileAndCannotBeChangedOverTheApi) {
  ASSERT_TRUE(users_->SyncFileUsers({FileSpec("viewer"), FileSpec("grid01")}).ok());
  EXPECT_EQ(users_->Get("viewer")->source, UserSource::kFile);
  auto s = users_->SignIn("viewer", "correct horse");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto spec = ParseUserSpec(J(R"({"permissions":["admin"]})"), UserInput::kReplace);
  EXPECT_EQ(users_->Replace("viewer", *spec).status().code(), Code::kConflict);
  EXPECT_EQ(users_->Delete("viewer").code(), Code::kConflict);

  // The file changes: viewer gets another permission (its session follows), grid01 goes.
  ASSERT_TRUE(users_->SyncFileUsers({FileSpec("viewer", R"(["cases:read"])")}).ok());
  auto who = auth_->Authenticate(s->key.key);
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE((*who)->Has(Permission::kCasesRead));
  EXPECT_FALSE(users_->Get("grid01").ok());

  // A bad entry changes nothing and is named.
  UserSpec bad = FileSpec("szj01");
  bad.user.department = "nope";
  Status st = users_->SyncFileUsers({FileSpec("viewer"), bad});
  EXPECT_EQ(st.code(), Code::kBadRequestData);
  EXPECT_NE(st.message().find("users[1] (szj01)"), std::string::npos) << st.message();
  EXPECT_TRUE(users_->Get("viewer")->permissions == std::vector<Permission>{Permission::kCasesRead});
  EXPECT_EQ(users_->SyncFileUsers({FileSpec("viewer"), FileSpec("viewer")}).code(),
            Code::kBadRequestData);

  // Without a file, the file users go, and their sessions with them.
  ASSERT_TRUE(users_->SyncFileUsers({}).ok());
  EXPECT_EQ(users_->size(), 0u);
  EXPECT_FALSE(auth_->Authenticate(s->key.key).ok());
}

TEST_F(UsersTest, PlainKeysAreUntouchedBySessions) {
  auto k = auth_->Issue("dashboard", {Permission::kContextRead});
  ASSERT_TRUE(k.ok());
  AddUser("operator");
  ASSERT_TRUE(users_->SignIn("operator", "correct horse").ok());
  ASSERT_TRUE(users_->Delete("operator").ok());
  clock_.Advance(1000 * kHour);
  auto who = auth_->Authenticate(k->key);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ((*who)->user, "");
  EXPECT_EQ((*who)->expires_at, 0);
  EXPECT_FALSE((*who)->is_session());
}

TEST_F(UsersTest, SessionsOfUsersGoneFromTheStoreAreRevokedAtLoad) {
  AddUser("operator");
  auto s = users_->SignIn("operator", "correct horse");
  ASSERT_TRUE(s.ok());
  store::WriteBatch b;
  b.delete_records.push_back({"user", "operator", ""});
  ASSERT_TRUE(store_->SubmitSync(std::move(b)).ok());
  Open();
  EXPECT_FALSE(auth_->Authenticate(s->key.key).ok());
  EXPECT_EQ(auth_->size(), 0u);
}

}  // namespace
}  // namespace cb::security
