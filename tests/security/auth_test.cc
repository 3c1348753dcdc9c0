#include "security/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cb::security {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cb-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    store::StoreOptions o;
    o.path = dir_ + "/db";
    store_ = std::move(store::OpenSqliteStore(o)).value();
  }
  std::string dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(AuthTest, IssuedKeysAuthenticateAndSurviveRestart) {
  ApiKeyAuthority auth(store_.get());
  ASSERT_TRUE(auth.Load().ok());
  auto k = auth.Issue("dashboard", {Permission::kContextRead});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->key.rfind("cbk_" + k->id + "_", 0), 0u);
  auto who = auth.Authenticate(k->key);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "dashboard");
  EXPECT_TRUE(who->Has(Permission::kContextRead));
  EXPECT_FALSE(who->Has(Permission::kContextWrite));

  Open();
  ApiKeyAuthority again(store_.get());
  ASSERT_TRUE(again.Load().ok());
  EXPECT_TRUE(again.Authenticate(k->key).ok());
}

TEST_F(AuthTest, WrongOrMalformedKeysAreUnauthorized) {
  ApiKeyAuthority auth(store_.get());
  auto k = auth.Issue("x", {Permission::kAdmin});
  ASSERT_TRUE(k.ok());
  std::string tampered = k->key;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  for (const std::string& bad : {tampered, std::string(""), std::string("cbk_"),
                                 std::string("cbk_nosep"), std::string("Bearer x"),
                                 "cbk_ffffffffffff_" + k->key.substr(k->key.rfind('_') + 1)}) {
    auto r = auth.Authenticate(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kUnauthorized);
  }
}

TEST_F(AuthTest, OnlyTheHashIsStored) {
  ApiKeyAuthority auth(store_.get());
  auto k = auth.Issue("x", {Permission::kMetrics});
  std::string secret = k->key.substr(k->key.rfind('_') + 1);
  bool seen = false;
  ASSERT_TRUE(store_->ScanRecords("apikey", [&](store::Record&& r) {
    seen = true;
    EXPECT_EQ(r.doc.find(secret), std::string::npos);
  }).ok());
  EXPECT_TRUE(seen);
}

TEST_F(AuthTest, RevokedKeysStopWorking) {
  ApiKeyAuthority auth(store_.get());
  auto k = auth.Issue("x", {Permission::kMetrics});
  ASSERT_TRUE(auth.Revoke(k->id).ok());
  EXPECT_FALSE(auth.Authenticate(k->key).ok());
  EXPECT_EQ(auth.Revoke(k->id).code(), Code::kNotFound);
  Open();
  ApiKeyAuthority again(store_.get());
  ASSERT_TRUE(again.Load().ok());
  EXPECT_EQ(again.size(), 0u);
}

struct AuthzCase {
  std::vector<Permission> granted;
  Permission needed;
  Code expected;
};

TEST(AuthorizeTest, DenyByDefault) {
  const AuthzCase cases[] = {
      {{}, Permission::kPublic, Code::kOk},
      {{Permission::kContextRead}, Permission::kContextRead, Code::kOk},
      {{Permission::kContextRead}, Permission::kContextWrite, Code::kForbidden},
      {{Permission::kMetrics}, Permission::kSubscriptions, Code::kForbidden},
      {{Permission::kAdmin}, Permission::kContextWrite, Code::kOk},
      {{Permission::kAdmin}, Permission::kMetrics, Code::kOk},
  };
  for (const auto& c : cases) {
    Principal p;
    p.permissions = c.granted;
    EXPECT_EQ(ApiKeyAuthority::Authorize(&p, c.needed).code(), c.expected);
  }
  EXPECT_EQ(ApiKeyAuthority::Authorize(nullptr, Permission::kContextRead).code(),
            Code::kUnauthorized);
  EXPECT_TRUE(ApiKeyAuthority::Authorize(nullptr, Permission::kPublic).ok());
}

TEST(PermissionTest, NamesRoundTrip) {
  for (Permission p : {Permission::kContextRead, Permission::kContextWrite,
                       Permission::kSubscriptions, Permission::kMetrics, Permission::kAdmin}) {
    EXPECT_EQ(*PermissionFromName(PermissionName(p)), p);
  }
  EXPECT_FALSE(PermissionFromName("root").ok());
}

}  // namespace
}  // namespace cb::security
