#include "core/json.h"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>

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

// AppendJsonString scans eight bytes at a time: every byte value, at every position of
// strings of several lengths, must be escaped exactly as a byte-at-a-time reference does.
TEST(JsonTest, StringEscapesMatchAByteAtATimeReference) {
  auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
    }
    return out + "\"";
  };
  for (size_t len : {1u, 7u, 8u, 9u, 16u, 23u, 37u}) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(b);
        if (pos + 1 < len) s[len - 1] = static_cast<char>(0xe9);  // a high byte elsewhere
        std::string out = "x";
        AppendJsonString(&out, s);
        ASSERT_EQ(out, "x" + reference(s)) << "len " << len << " pos " << pos << " byte " << b;
      }
    }
  }
  std::string out;
  AppendJsonString(&out, "");
  EXPECT_EQ(out, "\"\"");
  out.clear();
  AppendJsonString(&out, "\"\"\\\n\x01ok\x1f");
  EXPECT_EQ(out, "\"\\\"\\\"\\\\\\n\\u0001ok\\u001f\"");
}

// AppendJsonNumber writes common decimals itself: its text must be std::to_chars' shortest
// form for every double, whichever way it is written.
TEST(JsonTest, NumbersAreWrittenAsToCharsWritesThem) {
  auto check = [](double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string out;
    AppendJsonNumber(&out, v);
    ASSERT_EQ(out, std::string(buf, r.ptr)) << "bits " << std::bit_cast<uint64_t>(v);
  };
  std::mt19937_64 rng(99);
  for (int i = 0; i < 300000; ++i) {
    // Decimals as sensors send them: up to 9 decimals, magnitudes from 1e-4 to 1e16.
    const int decimals = static_cast<int>(rng() % 10);
    const int magnitude = static_cast<int>(rng() % 21) - 4;
    const double base = static_cast<double>(rng() % 2000000000) / 1000000000.0;
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, base * std::pow(10.0, magnitude));
    const double v = std::strtod(text, nullptr);
    check(v);
    check(-v);
    // Arbitrary doubles, and their neighbours.
    const double r = std::bit_cast<double>(rng());
    if (std::isfinite(r)) check(r);
    check(std::nextafter(v, 0.0));
    check(std::nextafter(v, 1e300));
  }
  for (double v : {0.0, -0.0, 1.0, 10.0, 1e4, 1e5, 99999.0, 100000.0, 123456.0, 1200.0, 1e14, 1e15,
                   999999999999999.0, 1e15 - 0.5, 0.001, 0.0009999, 0.00123, 0.1, 0.2, 0.3,
                   1014.7, 18.7, 0.64, 120.123456, 30.123456789, 4503599627370496.0,
                   9007199254740993.0, 5e-324, 1.7976931348623157e308}) {
    check(v);
    check(-v);
  }
  for (int64_t i = -100000; i <= 100000; ++i) check(static_cast<double>(i) / 10.0);
}

}  // namespace
}  // namespace cb
