#include "security/auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

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
  EXPECT_EQ((*who)->name, "dashboard");
  EXPECT_EQ((*who)->key_id, k->id);
  EXPECT_TRUE((*who)->Has(Permission::kContextRead));
  EXPECT_FALSE((*who)->Has(Permission::kContextWrite));

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

std::string WithSecret(const IssuedKey& k, std::string secret) {
  return "cbk_" + k.id + "_" + secret;
}

std::string Secret(const IssuedKey& k) { return k.key.substr(k.key.rfind('_') + 1); }

TEST_F(AuthTest, AVerifiedKeyIsNotHashedAgain) {
  ApiKeyAuthority auth(store_.get());
  auto k = auth.Issue("x", {Permission::kContextRead});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(auth.cache_stats().entries, 0u);
  auto first = auth.Authenticate(k->key);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(auth.cache_stats().misses, 1u);
  EXPECT_EQ(auth.cache_stats().entries, 1u);
  for (int i = 0; i < 3; ++i) {
    auto again = auth.Authenticate(k->key);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->name, "x");
    EXPECT_TRUE((*again)->Has(Permission::kContextRead));
  }
  EXPECT_EQ(auth.cache_stats().misses, 1u);  // three hits
}

TEST_F(AuthTest, AWrongSecretNeverHitsTheCache) {
  ApiKeyAuthority auth(store_.get());
  auto k = auth.Issue("x", {Permission::kAdmin});
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(auth.Authenticate(k->key).ok());  // cached now
  std::string secret = Secret(*k);
  std::string flipped = secret;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  for (const std::string& wrong : {flipped, secret.substr(0, secret.size() - 1), secret + "0",
                                   std::string(secret.size(), '0'), std::string()}) {
    auto r = auth.Authenticate(WithSecret(*k, wrong));
    ASSERT_FALSE(r.ok()) << wrong;
    EXPECT_EQ(r.status().code(), Code::kUnauthorized);
  }
  EXPECT_EQ(auth.cache_stats().misses, 6u);  // every wrong secret was hashed and refused
  EXPECT_TRUE(auth.Authenticate(k->key).ok());
  EXPECT_EQ(auth.cache_stats().misses, 6u);  // the right one still hits
}

TEST_F(AuthTest, ARevokedKeyIsRefusedAtOnceEvenWhenCached) {
  ApiKeyAuthority auth(store_.get());
  auto k = auth.Issue("x", {Permission::kContextRead});
  auto other = auth.Issue("y", {Permission::kContextRead});
  ASSERT_TRUE(k.ok() && other.ok());
  ASSERT_TRUE(auth.Authenticate(k->key).ok());
  ASSERT_TRUE(auth.Authenticate(other->key).ok());
  ASSERT_TRUE(auth.Authenticate(k->key).ok());  // a cache hit
  EXPECT_EQ(auth.cache_stats().entries, 2u);
  ASSERT_TRUE(auth.Revoke(k->id).ok());
  auto r = auth.Authenticate(k->key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthorized);
  EXPECT_EQ(auth.cache_stats().entries, 1u);
  EXPECT_TRUE(auth.Authenticate(other->key).ok());  // other keys stay cached
}

TEST_F(AuthTest, TheCacheIsBounded) {
  ApiKeyAuthority auth(store_.get(), /*max_cached_keys=*/2);
  std::vector<IssuedKey> keys;
  for (int i = 0; i < 4; ++i) {
    auto k = auth.Issue("k" + std::to_string(i), {Permission::kMetrics});
    ASSERT_TRUE(k.ok());
    keys.push_back(*k);
  }
  for (int round = 0; round < 2; ++round) {
    for (const auto& k : keys) {
      auto who = auth.Authenticate(k.key);
      ASSERT_TRUE(who.ok());
      EXPECT_EQ((*who)->key_id, k.id);
      EXPECT_LE(auth.cache_stats().entries, 2u);
    }
  }
  ApiKeyAuthority uncached(store_.get(), /*max_cached_keys=*/0);
  ASSERT_TRUE(uncached.Load().ok());
  EXPECT_TRUE(uncached.Authenticate(keys[0].key).ok());
  EXPECT_TRUE(uncached.Authenticate(keys[0].key).ok());
  EXPECT_EQ(uncached.cache_stats().entries, 0u);
  EXPECT_EQ(uncached.cache_stats().misses, 2u);
}

TEST_F(AuthTest, ConcurrentChecksAndRevocation) {
  ApiKeyAuthority auth(store_.get());
  auto keep = auth.Issue("keep", {Permission::kContextRead});
  auto drop = auth.Issue("drop", {Permission::kContextRead});
  ASSERT_TRUE(keep.ok() && drop.ok());
  std::atomic<bool> revoked{false};
  std::atomic<int> accepted_after_revoke{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        EXPECT_TRUE(auth.Authenticate(keep->key).ok());
        bool was_revoked = revoked.load();
        if (auth.Authenticate(drop->key).ok() && was_revoked) ++accepted_after_revoke;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(auth.Revoke(drop->id).ok());
  revoked.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted_after_revoke.load(), 0);
  EXPECT_FALSE(auth.Authenticate(drop->key).ok());
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
