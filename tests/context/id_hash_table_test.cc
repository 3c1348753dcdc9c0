// Tests for context/id_hash_table.h: insert, replace, find, erase (backward shift, no
// tombstones), growth, and agreement with std::map under a random workload.
#include "context/id_hash_table.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace cb::context {
namespace {

// n keys prefix0, prefix1, ... and values 0, 1, ...: built whole before any is inserted, as
// the table keeps views of the keys' bytes.
struct Fixture {
  Fixture(size_t n, const std::string& prefix) : values(n) {
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(prefix + std::to_string(i));
      values[i] = i;
    }
  }
  std::vector<std::string> keys;
  std::vector<size_t> values;
};

TEST(IdHashTableTest, EmptyTableFindsNothing) {
  IdHashTable<int> t;
  EXPECT_EQ(t.Find("a"), nullptr);
  EXPECT_FALSE(t.Erase("a"));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.capacity(), 0u);
}

TEST(IdHashTableTest, InsertFindReplaceErase) {
  IdHashTable<int> t;
  int one = 1, two = 2;
  const std::string a = "urn:ngsi-ld:T:a", b = "urn:ngsi-ld:T:b";
  t.Insert(a, &one);
  t.Insert(b, &two);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Find("urn:ngsi-ld:T:a"), &one);
  EXPECT_EQ(t.Find(b), &two);
  EXPECT_EQ(t.Find("urn:ngsi-ld:T:c"), nullptr);
  EXPECT_EQ(t.Find(""), nullptr);
  t.Insert(a, &two);  // replaces
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Find(a), &two);
  EXPECT_TRUE(t.Erase(a));
  EXPECT_FALSE(t.Erase(a));
  EXPECT_EQ(t.Find(a), nullptr);
  EXPECT_EQ(t.Find(b), &two);
  EXPECT_EQ(t.size(), 1u);
}

TEST(IdHashTableTest, KeysAreComparedByContentNotAddress) {
  IdHashTable<int> t;
  int v = 7;
  std::string key = "urn:x:1";
  t.Insert(key, &v);
  std::string copy = key;
  EXPECT_EQ(t.Find(copy), &v);
  EXPECT_EQ(t.Find("urn:x:10"), nullptr);  // a longer key with the same prefix
  EXPECT_EQ(t.Find("urn:x:"), nullptr);    // a prefix
}

TEST(IdHashTableTest, GrowsAndKeepsEveryEntry) {
  IdHashTable<size_t> t;
  Fixture f(10000, "urn:ngsi-ld:WeatherObserved:wo");
  auto& [keys, values] = f;
  for (size_t i = 0; i < keys.size(); ++i) {
    t.Insert(keys[i], &values[i]);
    EXPECT_LE(t.size() * 4, t.capacity() * 3);  // load factor at most 3/4
  }
  EXPECT_EQ(t.size(), keys.size());
  EXPECT_EQ(t.capacity() & (t.capacity() - 1), 0u);  // a power of two
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(t.Find(keys[i]), &values[i]) << keys[i];
}

// Erasing from the middle of probe runs must keep every later entry reachable (backward
// shift), and many erasures must leave no residue: the table ends empty and reusable.
TEST(IdHashTableTest, EraseKeepsRunsReachableAndLeavesNoTombstones) {
  IdHashTable<size_t> t;
  Fixture f(2000, "k");
  auto& [keys, values] = f;
  for (size_t i = 0; i < keys.size(); ++i) t.Insert(keys[i], &values[i]);
  const size_t capacity = t.capacity();
  for (size_t i = 0; i < keys.size(); i += 2) ASSERT_TRUE(t.Erase(keys[i]));
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ(t.Find(keys[i]), i % 2 == 0 ? nullptr : &values[i]) << keys[i];
  }
  for (size_t i = 1; i < keys.size(); i += 2) ASSERT_TRUE(t.Erase(keys[i]));
  EXPECT_EQ(t.size(), 0u);
  for (const auto& k : keys) ASSERT_EQ(t.Find(k), nullptr);
  // Churn: inserting and erasing again and again does not grow the table.
  for (int round = 0; round < 50; ++round) {
    for (size_t i = 0; i < keys.size(); ++i) t.Insert(keys[i], &values[i]);
    for (size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(t.Erase(keys[i]));
  }
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.capacity(), capacity);
}

TEST(IdHashTableTest, AgreesWithStdMapUnderRandomOperations) {
  std::mt19937_64 rng(42);
  IdHashTable<int> t;
  std::map<std::string, int*> model;
  std::vector<std::unique_ptr<std::string>> keys;  // stable key storage
  std::vector<int> values(300);
  for (int i = 0; i < 300; ++i) {
    keys.push_back(std::make_unique<std::string>("urn:e:" + std::to_string(i * 7919 % 1000)));
    values[i] = i;
  }
  for (int step = 0; step < 100000; ++step) {
    const size_t k = rng() % keys.size();
    const std::string& key = *keys[k];
    switch (rng() % 3) {
      case 0:
        t.Insert(key, &values[k]);
        model[key] = &values[k];
        break;
      case 1:
        ASSERT_EQ(t.Erase(key), model.erase(key) == 1);
        break;
      default: {
        auto it = model.find(key);
        ASSERT_EQ(t.Find(key), it == model.end() ? nullptr : it->second);
      }
    }
    ASSERT_EQ(t.size(), model.size());
  }
}

}  // namespace
}  // namespace cb::context
