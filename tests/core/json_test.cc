#include "core/json.h"

#include <gtest/gtest.h>

#include <functional>

namespace cb {
namespace {

struct RoundTrip {
  const char* in;
  const char* out;
};

TEST(JsonTest, ParsesAndDumpsCompactly) {
  const RoundTrip cases[] = {
      {"null", "null"},
      {"true", "true"},
      {" 42 ", "42"},
      {"-7", "-7"},
      {"2.5", "2.5"},
      {"1e3", "1000"},
      {"\"a\\\"b\\n\"", "\"a\\\"b\\n\""},
      {"\"\\u00e9\\u6e56\"", "\"é湖\""},
      {"[1, [2, {}], []]", "[1,[2,{}],[]]"},
      {"{\"b\":1,\"a\":{\"c\":[true,null]}}", "{\"b\":1,\"a\":{\"c\":[true,null]}}"},
      {"\"\\u0001\"", "\"\\u0001\""},
  };
  for (const auto& c : cases) {
    auto v = ParseJson(c.in);
    ASSERT_TRUE(v.ok()) << c.in << ": " << v.status().ToString();
    EXPECT_EQ(v->Dump(), c.out) << c.in;
  }
}

TEST(JsonTest, RejectsBadInputWithInvalidRequest) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":}", "nul", "\"unterminated", "{\"a\":1}x",
                          "{\"a\":1,\"a\":2}", "[\"\\x\"]"}) {
    auto v = ParseJson(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), Code::kInvalidRequest) << bad;
  }
}

TEST(JsonTest, DepthLimit) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep).ok());
  JsonLimits generous;
  generous.max_depth = 200;
  EXPECT_TRUE(ParseJson(deep, generous).ok());
}

TEST(JsonTest, LargeUnsignedBecomesDouble) {
  auto v = ParseJson("18446744073709551615");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_number());
  EXPECT_DOUBLE_EQ(v->as_double(), 18446744073709551615.0);
}

TEST(JsonTest, ObjectEditingAndEquality) {
  JsonValue o = JsonValue::MakeObject();
  o.Set("x", 1);
  o.Set("y", "two");
  o.Set("x", 3);
  EXPECT_EQ(o.Dump(), "{\"x\":3,\"y\":\"two\"}");
  EXPECT_TRUE(o.Erase("x"));
  EXPECT_FALSE(o.Erase("x"));
  EXPECT_EQ(o.Find("x"), nullptr);
  // Member order does not matter; int and double compare by value.
  EXPECT_EQ(ParseJson("{\"a\":1,\"b\":2.0}").value(), ParseJson("{\"b\":2,\"a\":1.0}").value());
  EXPECT_FALSE(ParseJson("[1,2]").value() == ParseJson("[2,1]").value());
}

TEST(JsonTest, WriterInsertsCommas) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("a").BeginArray().Int(1).Double(0.5).Bool(false).Null().EndArray();
  w.Key("b").String("q\"").Key("c").Raw("{\"d\":1}").Key("e").Value(JsonValue(7));
  w.EndObject();
  EXPECT_EQ(out, "{\"a\":[1,0.5,false,null],\"b\":\"q\\\"\",\"c\":{\"d\":1},\"e\":7}");
  EXPECT_TRUE(ParseJson(out).ok());
}

TEST(JsonTest, WriterNestsBeyondItsInlineLevels) {
  // 64 levels keep their comma state in a bit mask, deeper ones elsewhere: both must agree
  // with the tree's own serialisation, on the way down and back up.
  for (int depth : {1, 63, 64, 65, 130}) {
    JsonValue v = JsonValue::MakeArray();
    for (int d = 0; d < depth; ++d) {
      JsonValue outer = JsonValue::MakeArray();
      outer.Push(d);
      outer.Push(std::move(v));
      outer.Push(JsonValue::Object{{"k", d}, {"l", true}});
      v = std::move(outer);
    }
    std::string written;
    JsonWriter w(&written);
    std::function<void(const JsonValue&)> write = [&](const JsonValue& x) {
      if (x.is_array()) {
        w.BeginArray();
        for (const JsonValue& e : x.as_array()) write(e);
        w.EndArray();
      } else if (x.is_object()) {
        w.BeginObject();
        for (const auto& [k, m] : x.as_object()) {
          w.Key(k);
          write(m);
        }
        w.EndObject();
      } else {
        w.Value(x);
      }
    };
    write(v);
    EXPECT_EQ(written, v.Dump()) << depth;
  }
}

TEST(JsonTest, NonFiniteNumbersBecomeNull) {
  std::string out;
  AppendJsonNumber(&out, std::numeric_limits<double>::infinity());
  EXPECT_EQ(out, "null");
}

}  // namespace
}  // namespace cb
