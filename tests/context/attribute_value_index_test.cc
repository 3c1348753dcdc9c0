#include "context/attribute_value_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>

namespace cb::context {
namespace {

using Token = AttributeValueIndex::Token;

Token T(uintptr_t i) { return reinterpret_cast<Token>(i * 16); }

Attribute Prop(JsonValue v, AttrKind kind = AttrKind::kProperty) {
  Attribute a;
  a.kind = kind;
  a.value = std::move(v);
  return a;
}

Entity Make(std::vector<std::string> types, std::vector<NamedAttribute> attrs) {
  Entity e;
  e.id = "urn:a:x";
  e.types = std::move(types);
  e.attrs = std::move(attrs);
  return e;
}

QScalar Num(double d) {
  QScalar s;
  s.number = d;
  return s;
}
QScalar Str(std::string v) {
  QScalar s;
  s.kind = QScalar::Kind::kString;
  s.string = std::move(v);
  return s;
}
QScalar Bool(bool b) {
  QScalar s;
  s.kind = QScalar::Kind::kBool;
  s.number = b ? 1 : 0;
  return s;
}
std::vector<QScalarRange> Eq(QScalar v) { return {QScalarRange{v, v}}; }
std::vector<QScalarRange> AtLeast(QScalar v) {
  QScalarRange r{v, v};
  r.hi_open = true;
  return {r};
}
std::vector<QScalarRange> AtMost(QScalar v) {
  QScalarRange r{v, v};
  r.lo_open = true;
  return {r};
}

std::set<Token> Collect(const AttributeValueIndex& ix, const std::string& type,
                        const std::string& attr, const std::vector<QScalarRange>& r) {
  std::vector<Token> out;
  ix.Collect(type, attr, r, &out);
  return std::set<Token>(out.begin(), out.end());
}

TEST(AttributeValueIndexTest, FindsEntitiesByScalarValueAndRange) {
  AttributeValueIndex ix;
  std::vector<Entity> es;
  for (int i = 0; i < 10; ++i) {
    es.push_back(Make({"T"}, {{"n", Prop(i)},
                              {"s", Prop("v" + std::to_string(i % 3))},
                              {"b", Prop(i % 2 == 0)},
                              {"d", Prop(i + 0.5)}}));
  }
  for (int i = 0; i < 10; ++i) ix.Update(T(i + 1), nullptr, &es[i]);
  EXPECT_EQ(Collect(ix, "T", "n", Eq(Num(3))), (std::set<Token>{T(4)}));
  EXPECT_EQ(Collect(ix, "T", "n", AtLeast(Num(8))), (std::set<Token>{T(9), T(10)}));
  EXPECT_EQ(Collect(ix, "T", "n", AtMost(Num(1))), (std::set<Token>{T(1), T(2)}));
  EXPECT_EQ(Collect(ix, "T", "d", {QScalarRange{Num(2), Num(4)}}), (std::set<Token>{T(3), T(4)}));
  EXPECT_EQ(Collect(ix, "T", "s", Eq(Str("v1"))), (std::set<Token>{T(2), T(5), T(8)}));
  EXPECT_EQ(Collect(ix, "T", "s", AtLeast(Str("v2"))), (std::set<Token>{T(3), T(6), T(9)}));
  EXPECT_EQ(Collect(ix, "T", "b", Eq(Bool(false))).size(), 5u);
  // Kinds do not mix: a number range holds no strings or booleans, and the other way round.
  EXPECT_TRUE(Collect(ix, "T", "s", AtLeast(Num(-1e300))).empty());
  EXPECT_TRUE(Collect(ix, "T", "n", AtMost(Str("zzz"))).empty());
  EXPECT_TRUE(Collect(ix, "T", "b", AtLeast(Num(0))).empty());
  EXPECT_EQ(*ix.Count("T", "n", AtLeast(Num(0)), 100), 10u);
  EXPECT_EQ(*ix.Count("T", "n", AtLeast(Num(0)), 4), 5u);  // stops past the cap
  EXPECT_EQ(*ix.Count("T", "missing", AtLeast(Num(0)), 100), 0u);
  EXPECT_EQ(*ix.Count("Other", "n", AtLeast(Num(0)), 100), 0u);
  // Any of several ranges.
  std::vector<QScalarRange> list = {QScalarRange{Num(1), Num(1)}, QScalarRange{Num(7), Num(7)}};
  EXPECT_EQ(Collect(ix, "T", "n", list), (std::set<Token>{T(2), T(8)}));
  EXPECT_EQ(ix.entries(), 40u);
}

TEST(AttributeValueIndexTest, FollowsUpdatesTypeChangesAndRemovals) {
  AttributeValueIndex ix;
  Entity v1 = Make({"T"}, {{"n", Prop(1)}, {"s", Prop("a")}});
  ix.Update(T(1), nullptr, &v1);
  Entity v2 = v1;  // shares "s"
  v2.Set("n", Prop(2));
  ix.Update(T(1), &v1, &v2);
  EXPECT_TRUE(Collect(ix, "T", "n", Eq(Num(1))).empty());
  EXPECT_EQ(Collect(ix, "T", "n", Eq(Num(2))), (std::set<Token>{T(1)}));
  EXPECT_EQ(Collect(ix, "T", "s", Eq(Str("a"))), (std::set<Token>{T(1)}));
  Entity v3 = v2;  // another type, an attribute less, one more
  v3.types.push_back("U");
  v3.Erase("s");
  v3.Set("x", Prop(true));
  ix.Update(T(1), &v2, &v3);
  EXPECT_TRUE(Collect(ix, "T", "s", Eq(Str("a"))).empty());
  EXPECT_EQ(Collect(ix, "U", "n", Eq(Num(2))), (std::set<Token>{T(1)}));
  EXPECT_EQ(Collect(ix, "T", "x", Eq(Bool(true))), (std::set<Token>{T(1)}));
  ix.Update(T(1), &v3, nullptr);
  EXPECT_EQ(ix.entries(), 0u);
  EXPECT_EQ(ix.distinct_values(), 0u);
}

TEST(AttributeValueIndexTest, DeclinesWhileAnAttributeHasValuesItDoesNotHold) {
  AttributeValueIndex ix;
  Entity plain = Make({"T"}, {{"v", Prop(1)}});
  ix.Update(T(1), nullptr, &plain);
  EXPECT_TRUE(ix.Count("T", "v", Eq(Num(1)), 10).has_value());
  const std::vector<Entity> others = {
      Make({"T"}, {{"v", Prop(JsonValue::Array{1, 2})}}),
      Make({"T"}, {{"v", Prop(JsonValue::Object{{"@value", 1}})}}),
      Make({"T"}, {{"v", Prop("urn:a:1", AttrKind::kRelationship)}}),
      Make({"T"}, {{"v", Prop(JsonValue::Object{{"en", "x"}}, AttrKind::kLanguageProperty)}}),
      Make({"T"}, {{"v", Prop(1)}, {"v", Prop(2)}}),  // two instances (datasetIds)
  };
  for (const Entity& o : others) {
    ix.Update(T(2), nullptr, &o);
    EXPECT_FALSE(ix.Count("T", "v", Eq(Num(1)), 10).has_value());
    EXPECT_TRUE(ix.Count("U", "v", Eq(Num(1)), 10).has_value());
    Entity fixed = Make({"T"}, {{"v", Prop(1)}});
    ix.Update(T(2), &o, &fixed);  // becomes a plain scalar: answerable again
    EXPECT_EQ(*ix.Count("T", "v", Eq(Num(1)), 10), 2u);
    ix.Update(T(2), &fixed, nullptr);
  }
}

TEST(AttributeValueIndexTest, LongStringsAreKeyedByTheirPrefix) {
  AttributeValueIndex ix;
  const std::string prefix(AttributeValueIndex::kMaxKeyBytes, 'p');
  Entity a = Make({"T"}, {{"s", Prop(prefix + "a")}});
  Entity b = Make({"T"}, {{"s", Prop(prefix + "b")}});
  Entity c = Make({"T"}, {{"s", Prop("q")}});
  ix.Update(T(1), nullptr, &a);
  ix.Update(T(2), nullptr, &b);
  ix.Update(T(3), nullptr, &c);
  // Both long strings are candidates for either (the caller tests each exactly).
  EXPECT_EQ(Collect(ix, "T", "s", Eq(Str(prefix + "b"))), (std::set<Token>{T(1), T(2)}));
  EXPECT_EQ(Collect(ix, "T", "s", AtLeast(Str(prefix + "zzz"))),
            (std::set<Token>{T(1), T(2), T(3)}));
  EXPECT_EQ(Collect(ix, "T", "s", AtMost(Str(prefix))), (std::set<Token>{T(1), T(2)}));
  EXPECT_EQ(ix.distinct_values(), 2u);
}

TEST(AttributeValueIndexTest, ExactOnlyForBoundsItHoldsWhole) {
  const std::string short_s(AttributeValueIndex::kMaxKeyBytes - 1, 's');
  const std::string cut_s(AttributeValueIndex::kMaxKeyBytes, 's');
  EXPECT_TRUE(AttributeValueIndex::Exact(Eq(Str(short_s))));
  EXPECT_TRUE(AttributeValueIndex::Exact(AtLeast(Str("a"))));
  EXPECT_TRUE(AttributeValueIndex::Exact(Eq(Bool(true))));
  EXPECT_FALSE(AttributeValueIndex::Exact(Eq(Str(cut_s))));
  EXPECT_FALSE(AttributeValueIndex::Exact(Eq(Num(3))));  // 2^53 + 1 shares 2^53's key
  EXPECT_FALSE(AttributeValueIndex::Exact({QScalarRange{Str("a"), Str("a")}, QScalarRange{Num(1), Num(1)}}));
}

TEST(AttributeValueIndexTest, AValueHeldByOneEntityMovesWithIt) {
  AttributeValueIndex ix;
  Entity a1 = Make({"T"}, {{"n", Prop(1)}, {"s", Prop("x")}});
  Entity b = Make({"T"}, {{"n", Prop(3)}, {"s", Prop("zz")}});
  ix.Update(T(1), nullptr, &a1);
  ix.Update(T(2), nullptr, &b);
  Entity a2 = a1;  // to values no one holds: re-keyed in place
  a2.Set("n", Prop(5));
  a2.Set("s", Prop(std::string(100, 'y')));
  ix.Update(T(1), &a1, &a2);
  EXPECT_TRUE(Collect(ix, "T", "n", Eq(Num(1))).empty());
  EXPECT_EQ(Collect(ix, "T", "n", AtLeast(Num(4))), (std::set<Token>{T(1)}));
  EXPECT_EQ(Collect(ix, "T", "n", AtMost(Num(4))), (std::set<Token>{T(2)}));
  EXPECT_EQ(Collect(ix, "T", "s", AtMost(Str("yz"))), (std::set<Token>{T(1)}));
  EXPECT_EQ(ix.distinct_values(), 4u);
  Entity a3 = a2;  // to the values b holds: joins b's entries
  a3.Set("n", Prop(3));
  a3.Set("s", Prop("zz"));
  ix.Update(T(1), &a2, &a3);
  EXPECT_EQ(Collect(ix, "T", "n", Eq(Num(3))), (std::set<Token>{T(1), T(2)}));
  EXPECT_EQ(Collect(ix, "T", "s", Eq(Str("zz"))), (std::set<Token>{T(1), T(2)}));
  EXPECT_TRUE(Collect(ix, "T", "n", AtLeast(Num(4))).empty());
  EXPECT_EQ(ix.distinct_values(), 2u);
  EXPECT_EQ(ix.entries(), 4u);
  Entity a4 = a3;  // and away again: b keeps its values
  a4.Set("n", Prop(-1));
  ix.Update(T(1), &a3, &a4);
  EXPECT_EQ(Collect(ix, "T", "n", Eq(Num(3))), (std::set<Token>{T(2)}));
  EXPECT_EQ(Collect(ix, "T", "n", AtMost(Num(0))), (std::set<Token>{T(1)}));
}

TEST(AttributeValueIndexTest, ReadingsThatMostlyChangeToNewValuesStayOrdered) {
  // Continuous readings: most values are held by one entity, so most updates re-key a node.
  AttributeValueIndex ix;
  std::mt19937 rng(11);
  constexpr int kEntities = 500;
  std::vector<Entity> current(kEntities);
  std::vector<int> value(kEntities, -1);
  for (int step = 0; step < 20000; ++step) {
    int i = static_cast<int>(rng() % kEntities);
    int v = static_cast<int>(rng() % 100000);
    Entity next = Make({"T"}, {{"v", Prop(v)}, {"k", Prop("s" + std::to_string(v % 997))}});
    ix.Update(T(static_cast<uintptr_t>(i) + 1), value[i] < 0 ? nullptr : &current[i], &next);
    current[i] = std::move(next);
    value[i] = v;
    if (step % 2000 == 1999) {
      int lo = static_cast<int>(rng() % 100000), hi = lo + 20000;
      std::set<Token> want;
      for (int e = 0; e < kEntities; ++e) {
        if (value[e] >= lo && value[e] <= hi) want.insert(T(static_cast<uintptr_t>(e) + 1));
      }
      QScalarRange r{Num(lo), Num(hi)};
      ASSERT_EQ(Collect(ix, "T", "v", {r}), want) << step;
    }
  }
  size_t held = 0;
  for (int e = 0; e < kEntities; ++e) held += value[e] >= 0 ? 2 : 0;
  EXPECT_EQ(ix.entries(), held);
}

TEST(AttributeValueIndexTest, ManyEntitiesPerValueSurviveRandomChurn) {
  // Exercises the token sets' growth, backward-shift deletion and shrinking against a model.
  AttributeValueIndex ix;
  std::mt19937 rng(5);
  constexpr int kEntities = 3000, kValues = 7;
  std::vector<std::unique_ptr<Entity>> current(kEntities);
  std::vector<std::set<Token>> model(kValues);
  for (int step = 0; step < 60000; ++step) {
    int i = static_cast<int>(rng() % kEntities);
    Token t = T(static_cast<uintptr_t>(i) * 7919 + 1);
    std::unique_ptr<Entity> next;
    if (rng() % 5 != 0) {
      next = std::make_unique<Entity>(Make({"T"}, {{"v", Prop(static_cast<int>(rng() % kValues))}}));
    }
    if (current[i]) model[static_cast<size_t>(current[i]->Find("v")->value.as_int())].erase(t);
    if (next) model[static_cast<size_t>(next->Find("v")->value.as_int())].insert(t);
    ix.Update(t, current[i].get(), next.get());
    current[i] = std::move(next);
    if (step % 5000 == 0 || step == 59999) {
      for (int v = 0; v < kValues; ++v) {
        ASSERT_EQ(Collect(ix, "T", "v", Eq(Num(v))), model[static_cast<size_t>(v)]) << step;
      }
    }
  }
  // Drain: shrinks every set down to nothing.
  for (int i = 0; i < kEntities; ++i) {
    ix.Update(T(static_cast<uintptr_t>(i) * 7919 + 1), current[i].get(), nullptr);
  }
  EXPECT_EQ(ix.entries(), 0u);
}

// An entity whose type list names a type twice is indexed under it twice over; moving its
// value must not take along another entity that alone held its old value by then.
TEST(AttributeValueIndexTest, ATypeListedTwiceLeavesOtherEntitiesInPlace) {
  AttributeValueIndex ix;
  Entity x = Make({"T", "T"}, {{"a", Prop(false)}});
  Entity y = Make({"T"}, {{"a", Prop(false)}});
  ix.Update(T(1), nullptr, &x);
  ix.Update(T(2), nullptr, &y);
  Entity x2 = x;
  x2.attrs[0].attr = Prop("s0");
  ix.Update(T(1), &x, &x2);
  EXPECT_EQ(Collect(ix, "T", "a", Eq(Bool(false))), (std::set<Token>{T(2)}));
  EXPECT_EQ(Collect(ix, "T", "a", Eq(Str("s0"))), (std::set<Token>{T(1)}));
  ix.Update(T(1), &x2, nullptr);
  ix.Update(T(2), &y, nullptr);
  EXPECT_EQ(ix.entries(), 0u);
}

// Updates as the broker makes them (a copy of the entity sharing its attribute handles, with
// some replaced), and now and then others (attributes added, removed or given twice, types
// changed), leave the index answering exactly as an index built afresh from the entities.
TEST(AttributeValueIndexTest, UpdatesMatchAnIndexBuiltAfresh) {
  AttributeValueIndex ix;
  std::mt19937 rng(11);
  constexpr int kEntities = 200;
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  auto value = [&]() -> Attribute {
    switch (rng() % 6) {
      case 0:
        return Prop(static_cast<int>(rng() % 5));
      case 1:
        return Prop(std::string("s") + std::to_string(rng() % 4));
      case 2:
        return Prop(rng() % 2 == 0);
      case 3:
        return Prop(JsonValue::Array{JsonValue(1)});  // not a scalar
      case 4:
        return Prop("x", AttrKind::kRelationship);  // not a Property
      default:
        return Prop(static_cast<double>(rng() % 5) + 0.5);
    }
  };
  auto fresh = [&]() {
    Entity e = Make({rng() % 4 == 0 ? "U" : "T"}, {});
    for (const std::string& n : names) {
      if (rng() % 4 != 0) e.attrs.push_back({n, value()});
    }
    return std::make_shared<Entity>(std::move(e));
  };
  std::vector<std::shared_ptr<Entity>> current(kEntities);
  for (int step = 0; step < 20000; ++step) {
    const int i = static_cast<int>(rng() % kEntities);
    const Token t = T(static_cast<uintptr_t>(i) + 1);
    std::shared_ptr<Entity> next;
    const unsigned what = rng() % 20;
    if (!current[i] || what == 0) {
      next = fresh();
    } else if (what == 1) {
      next = nullptr;  // removed
    } else {
      next = std::make_shared<Entity>(*current[i]);  // shares every attribute handle
      for (auto& na : next->attrs) {
        if (rng() % 3 == 0) na.attr = value();
      }
      if (what == 2) next->attrs.push_back({names[rng() % names.size()], value()});  // maybe twice
      if (what == 3 && !next->attrs.empty()) next->attrs.erase(next->attrs.begin());
      if (what == 4) std::reverse(next->attrs.begin(), next->attrs.end());
      if (what == 5) next->types = {next->types[0] == "T" ? "U" : "T"};
      if (what == 6) next->types.push_back("V");
    }
    ix.Update(t, current[i].get(), next.get());
    current[i] = std::move(next);
    if (step % 1000 != 999) continue;
    AttributeValueIndex afresh;
    for (int k = 0; k < kEntities; ++k) {
      afresh.Update(T(static_cast<uintptr_t>(k) + 1), nullptr, current[k].get());
    }
    ASSERT_EQ(ix.entries(), afresh.entries()) << step;
    ASSERT_EQ(ix.distinct_values(), afresh.distinct_values()) << step;
    std::vector<QScalar> keys = {Bool(false), Bool(true)};
    for (int v = 0; v < 5; ++v) {
      keys.push_back(Num(v));
      keys.push_back(Num(v + 0.5));
    }
    for (int v = 0; v < 4; ++v) keys.push_back(Str("s" + std::to_string(v)));
    for (const char* type : {"T", "U", "V"}) {
      for (const std::string& n : names) {
        for (const QScalar& k : keys) {
          ASSERT_EQ(ix.Count(type, n, Eq(k), 1000), afresh.Count(type, n, Eq(k), 1000))
              << step << " " << type << " " << n;
          if (!afresh.Count(type, n, Eq(k), 1000).has_value()) continue;
          ASSERT_EQ(Collect(ix, type, n, Eq(k)), Collect(afresh, type, n, Eq(k)))
              << step << " " << type << " " << n;
        }
      }
    }
  }
}

}  // namespace
}  // namespace cb::context
