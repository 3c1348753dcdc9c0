#include "context/entity.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace cb::context {
namespace {

Attribute Prop(JsonValue v) {
  Attribute a;
  a.value = std::move(v);
  return a;
}

TEST(AttrRefTest, CopiesShareUntilOneIsChanged) {
  AttrRef a = Prop(JsonValue::Array{1, 2, 3});
  AttrRef b = a;
  EXPECT_TRUE(a.SharesWith(b));
  EXPECT_EQ(&*a, &*b);  // no deep copy
  b.Mutable().value = JsonValue(7);
  EXPECT_FALSE(a.SharesWith(b));
  EXPECT_EQ(a->value, JsonValue(JsonValue::Array{1, 2, 3}));  // the other copy is untouched
  EXPECT_EQ(b->value, JsonValue(7));
}

TEST(AttrRefTest, AnUnsharedAttributeChangesInPlace) {
  AttrRef a = Prop(JsonValue(1));
  const Attribute* before = &*a;
  a.Mutable().unit_code = "CEL";
  EXPECT_EQ(&*a, before);
  {
    AttrRef gone = a;  // shared for a while, then released
  }
  a.Mutable().unit_code = "FAH";
  EXPECT_EQ(&*a, before);
  EXPECT_EQ(a->unit_code, "FAH");
}

TEST(AttrRefTest, EmptyHandleReadsAsEmptyPropertyAndMoves) {
  AttrRef empty;
  EXPECT_EQ(empty->kind, AttrKind::kProperty);
  EXPECT_TRUE(empty->value.is_null());
  AttrRef other;
  EXPECT_FALSE(empty.SharesWith(other));
  empty.Mutable().value = JsonValue("x");
  AttrRef moved = std::move(empty);
  EXPECT_EQ(moved->value, JsonValue("x"));
  AttrRef copy;
  copy = moved;
  EXPECT_TRUE(copy.SharesWith(moved));
  copy = AttrRef(Prop(JsonValue(2)));
  EXPECT_FALSE(copy.SharesWith(moved));
  EXPECT_EQ(moved->value, JsonValue("x"));
}

TEST(AttrRefTest, ANewEntityVersionSharesWhatItDoesNotChange) {
  Entity v1;
  v1.id = "urn:a:1";
  v1.types = {"T"};
  v1.Set("a", Prop(JsonValue("long value that a deep copy would duplicate")));
  v1.Set("b", Prop(JsonValue(1)));
  Entity v2 = v1;
  v2.Set("b", Prop(JsonValue(2)));
  ASSERT_NE(v2.FindRef("a"), nullptr);
  EXPECT_TRUE(v2.FindRef("a")->SharesWith(*v1.FindRef("a")));
  EXPECT_FALSE(v2.FindRef("b")->SharesWith(*v1.FindRef("b")));
  EXPECT_EQ(v1.Find("b")->value, JsonValue(1));
  EXPECT_EQ(v2.Find("b")->value, JsonValue(2));
  EXPECT_EQ(v2.FindRef("missing"), nullptr);
}

TEST(AttrRefTest, SharedCopiesMayBeDroppedFromManyThreads) {
  // Under ASan/TSan-like checking: the count must neither leak nor free twice.
  AttrRef shared = Prop(JsonValue(JsonValue::Array{"x", "y"}));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([shared] {
      for (int i = 0; i < 10000; ++i) {
        AttrRef c = shared;
        AttrRef d = std::move(c);
        if (i % 1000 == 0) d.Mutable().value = JsonValue(i);  // copies: shared
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(shared->value, JsonValue(JsonValue::Array{"x", "y"}));
}

}  // namespace
}  // namespace cb::context
