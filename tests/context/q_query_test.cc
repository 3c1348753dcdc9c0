#include "context/q_query.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cb::context {
namespace {

using Obj = JsonValue::Object;
using Arr = JsonValue::Array;

TimeMs T(std::string_view s) {
  Result<TimeMs> r = ParseIso8601(s);
  EXPECT_TRUE(r.ok()) << s;
  return r.ok() ? *r : 0;
}

Attribute Prop(JsonValue v, AttrKind kind = AttrKind::kProperty) {
  Attribute a;
  a.kind = kind;
  a.value = std::move(v);
  return a;
}

// One entity with an attribute of every shape the query language cares about.
Entity MakeEntity() {
  Entity e;
  e.id = "urn:ngsi-ld:Test:1";
  e.types = {"Test"};

  Attribute temp = Prop(21.5);
  temp.observed_at = T("2024-03-01T10:00:00Z");
  temp.created_at = T("2024-01-01T00:00:00Z");
  temp.modified_at = T("2024-03-01T10:00:05Z");
  temp.unit_code = "CEL";
  temp.dataset_id = "urn:ngsi-ld:Dataset:a";
  temp.sub_attrs = Obj{
      {"accuracy", Obj{{"type", "Property"},
                       {"value", 0.5},
                       {"observedAt", "2024-03-01T09:00:00Z"},
                       {"unitCode", "CEL"},
                       {"calibrated", Obj{{"type", "Property"}, {"value", true}}}}},
      {"sensor", Obj{{"type", "Relationship"}, {"object", "urn:ngsi-ld:Device:7"}}},
      {"note",
       Obj{{"type", "LanguageProperty"}, {"languageMap", Obj{{"en", "ok"}, {"es", "bien"}}}}},
  };
  e.attrs.push_back({"temperature", temp});

  Attribute h1 = Prop(40);
  h1.dataset_id = "urn:ngsi-ld:Dataset:a";
  Attribute h2 = Prop(80);
  h2.dataset_id = "urn:ngsi-ld:Dataset:b";
  e.attrs.push_back({"humidity", h1});  // two instances of one attribute
  e.attrs.push_back({"humidity", h2});

  e.attrs.push_back({"count", Prop(42)});
  e.attrs.push_back({"big", Prop(int64_t{9007199254740993})});
  e.attrs.push_back({"negative", Prop(-5)});
  e.attrs.push_back({"ratio", Prop(0.001)});
  e.attrs.push_back({"name", Prop("Plaza Mayor")});
  e.attrs.push_back({"empty", Prop("")});
  e.attrs.push_back({"quote", Prop("say \"hi\"")});
  e.attrs.push_back({"path", Prop("C:\\dir")});
  e.attrs.push_back({"active", Prop(true)});
  e.attrs.push_back({"closed", Prop(false)});
  e.attrs.push_back({"tags", Prop(Arr{"red", "green", "blue"})});
  e.attrs.push_back({"scores", Prop(Arr{1, 5, 10})});
  e.attrs.push_back({"mixed", Prop(Arr{1, "two", true})});
  e.attrs.push_back({"refParking", Prop("urn:ngsi-ld:Parking:7", AttrKind::kRelationship)});
  e.attrs.push_back({"refDevices", Prop(Arr{"urn:ngsi-ld:Device:1", "urn:ngsi-ld:Device:2"},
                                        AttrKind::kRelationship)});
  e.attrs.push_back(
      {"dateIssued", Prop(Obj{{"@type", "DateTime"}, {"@value", "2018-12-04T12:00:00Z"}})});
  e.attrs.push_back({"birthday", Prop(Obj{{"@type", "Date"}, {"@value", "2000-02-29"}})});
  e.attrs.push_back({"openingTime", Prop(Obj{{"@type", "Time"}, {"@value", "08:00:00"}})});
  e.attrs.push_back({"lastSeen", Prop("2024-01-15T08:30:00Z")});
  e.attrs.push_back({"closingTime", Prop("20:00:00")});
  e.attrs.push_back({"address", Prop(Obj{{"streetAddress", "Calle Mayor 1"},
                                         {"addressLocality", "Madrid"},
                                         {"postal", Obj{{"code", 28001}}}})});
  e.attrs.push_back({"contacts", Prop(Arr{Obj{{"kind", "phone"}}, Obj{{"kind", "email"}}})});
  e.attrs.push_back({"label", Prop(Obj{{"en", "Hello"}, {"es", "Hola"}, {"zh", "你好"}},
                                   AttrKind::kLanguageProperty)});
  e.attrs.push_back({"location", Prop(Obj{{"type", "Point"}, {"coordinates", Arr{-3.7, 40.4}}},
                                      AttrKind::kGeoProperty)});
  e.attrs.push_back({"nothing", Prop(nullptr)});
  e.attrs.push_back({"text", Prop("Café Ünïcode line1\nline2")});
  return e;
}

struct MatchCase {
  std::string q;
  bool want;
};

void ExpectMatches(const std::vector<MatchCase>& cases) {
  static const Entity e = MakeEntity();
  for (const MatchCase& c : cases) {
    SCOPED_TRACE("q=" + c.q);
    auto r = ParseQ(c.q);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Matches(**r, e), c.want);
  }
}

TEST(QQueryTest, Existence) {
  ExpectMatches({
      {"temperature", true},
      {"missing", false},
      {"nothing", true},
      {"location", true},
      {"temperature.observedAt", true},
      {"temperature.createdAt", true},
      {"temperature.unitCode", true},
      {"temperature.datasetId", true},
      {"count.observedAt", false},
      {"count.unitCode", false},
      {"count.datasetId", false},
      {"temperature.accuracy", true},
      {"temperature.accuracy.calibrated", true},
      {"temperature.accuracy.unitCode", true},
      {"temperature.accuracy.datasetId", false},
      {"temperature.nope", false},
      {"temperature.accuracy.type", false},
      {"temperature.accuracy.value", false},
      {"address[addressLocality]", true},
      {"address[postal][code]", true},
      {"address[nope]", false},
      {"count[x]", false},
  });
}

TEST(QQueryTest, Integers) {
  ExpectMatches({
      {"count==42", true},    {"count==42.0", true},    {"count==4.2e1", true},
      {"count==+42", true},   {"count==41", false},     {"count!=42", false},
      {"count!=41", true},    {"count>41", true},       {"count>42", false},
      {"count>=42", true},    {"count>=43", false},     {"count<43", true},
      {"count<42", false},    {"count<=42", true},      {"count<=41", false},
      {"negative==-5", true}, {"negative<-4", true},    {"negative>-5", false},
      {"negative>=-5", true}, {"negative<-5.5", false},
  });
}

TEST(QQueryTest, DoublesAndBigIntegers) {
  ExpectMatches({
      {"temperature==21.5", true},
      {"temperature>21.4999", true},
      {"temperature<2.15e1", false},
      {"temperature<=2.15E+1", true},
      {"temperature>21", true},
      {"temperature!=21", true},
      {"ratio==0.001", true},
      {"ratio==1e-3", true},
      {"ratio==.001", true},
      {"ratio<0", false},
      {"big==9007199254740993", true},  // compared exactly, not as doubles
      {"big==9007199254740992", false},
      {"big>9007199254740992", true},
  });
}

TEST(QQueryTest, TypeMismatchIsFalse) {
  ExpectMatches({
      {"count==\"42\"", false},
      {"count!=\"42\"", false},
      {"count>\"4\"", false},
      {"name==42", false},
      {"name!=42", false},
      {"name>1", false},
      {"active==1", false},
      {"active==\"true\"", false},
      {"count==true", false},
      {"count!=true", false},
      {"temperature.observedAt==42", false},
      {"count>2024-01-01", false},
      {"name>2024-01-01", false},
      {"address==\"Madrid\"", false},
      {"location==\"Point\"", false},
      {"nothing==1", false},
      {"nothing!=1", false},
      {"count==abc", false},
  });
}

TEST(QQueryTest, MissingAttributeIsFalse) {
  ExpectMatches({
      {"missing==1", false},
      {"missing!=1", false},
      {"missing>1", false},
      {"missing~=x", false},
      {"missing!~=x", false},
      {"missing==1..2", false},
      {"missing!=1,2", false},
      {"missing.observedAt>2020-01-01", false},
      {"missing[a]==1", false},
  });
}

TEST(QQueryTest, Strings) {
  ExpectMatches({
      {"name==\"Plaza Mayor\"", true},
      {"name!=\"Plaza Mayor\"", false},
      {"name!=\"Other\"", true},
      {"name==\"plaza mayor\"", false},
      {"name>\"Plaza\"", true},
      {"name<\"Q\"", true},
      {"name>=\"Plaza Mayor\"", true},
      {"name<=\"Plaza Mayoq\"", false},
      {"name==Plaza", false},
      {"empty==\"\"", true},
      {"empty!=\"\"", false},
      {R"(quote=="say \"hi\"")", true},
      {R"(path=="C:\\dir")", true},
      {R"(path=="C:\dir")", true},  // an unknown escape keeps its backslash
  });
}

TEST(QQueryTest, Booleans) {
  ExpectMatches({
      {"active==true", true},
      {"active==false", false},
      {"active!=false", true},
      {"active!=true", false},
      {"closed==false", true},
      {"closed!=false", false},
      {"active==true,false", true},
  });
}

TEST(QQueryTest, DateTimes) {
  ExpectMatches({
      {"temperature.observedAt==2024-03-01T10:00:00Z", true},
      {"temperature.observedAt==2024-03-01T10:00:00.000Z", true},
      {"temperature.observedAt==2024-03-01T11:00:00+01:00", true},
      {"temperature.observedAt>=2024-01-01T00:00:00Z", true},
      {"temperature.observedAt<2024-03-01T10:00:00Z", false},
      {"temperature.observedAt>2024-03-01T09:59:59.999Z", true},
      {"temperature.observedAt!=2024-03-01T10:00:00Z", false},
      {"temperature.observedAt>=2024-03-01", true},
      {"temperature.observedAt<2024-03-01", false},
      {"temperature.observedAt>=\"2024-01-01T00:00:00Z\"", true},
      {"temperature.createdAt==2024-01-01T00:00:00Z", true},
      {"temperature.modifiedAt>2024-03-01T10:00:00Z", true},
      {"temperature.accuracy.observedAt<2024-03-01T10:00:00Z", true},
      {"temperature.accuracy.observedAt==2024-03-01T09:00:00Z", true},
      {"dateIssued==2018-12-04T12:00:00Z", true},
      {"dateIssued>2018-12-04T11:00:00Z", true},
      {"dateIssued<2018-01-01T00:00:00Z", false},
      {"dateIssued==\"2018-12-04T12:00:00Z\"", true},
      {"birthday==2000-02-29", true},
      {"birthday>1999-12-31T23:59:59Z", true},
      {"lastSeen>2024-01-01T00:00:00Z", true},
      {"lastSeen<2024-01-15T08:30:00.001Z", true},
      {"lastSeen==2024-01-15T09:30:00+01:00", true},
      {"lastSeen==\"2024-01-15T08:30:00Z\"", true},
      {"lastSeen>\"2024-01-01\"", true},  // two strings: compared as text
      {"name==2024-01-15T08:30:00Z", false},
  });
}

TEST(QQueryTest, Times) {
  ExpectMatches({
      {"openingTime<09:00:00", true},
      {"openingTime==08:00", true},
      {"openingTime==08:00:00Z", true},
      {"openingTime>08:00:00.000", false},
      {"openingTime==\"08:00:00\"", true},
      {"closingTime>=20:00:00", true},
      {"closingTime<12:00", false},
      {"temperature.observedAt>08:00", false},
  });
}

TEST(QQueryTest, Ranges) {
  ExpectMatches({
      {"count==40..45", true},
      {"count==42..42", true},
      {"count==43..50", false},
      {"count==45..40", false},
      {"count!=40..45", false},
      {"count!=43..50", true},
      {"count==40.5..42.5", true},
      {"count==-1..1e3", true},
      {"temperature==21..22", true},
      {"name==\"A\"..\"Q\"", true},
      {"name==\"Q\"..\"Z\"", false},
      {"name==A..Q", true},
      {"temperature.observedAt==2024-03-01T00:00:00Z..2024-03-02T00:00:00Z", true},
      {"temperature.observedAt==2024-03-02..2024-03-03", false},
      {"lastSeen==2024-01-01..2024-02-01", true},
      {"dateIssued==2018-01-01..2019-01-01", true},
      {"openingTime==07:00..09:00", true},
      {"scores==6..9", false},
      {"scores==2..5", true},
      {"scores!=11..20", true},
      {"scores!=5..6", false},
      {"name==1..2", false},
  });
}

TEST(QQueryTest, Lists) {
  ExpectMatches({
      {"count==1,42,99", true},
      {"count==1,2,3", false},
      {"count!=1,2,3", true},
      {"count!=1,42", false},
      {"name==\"x\",\"Plaza Mayor\"", true},
      {"count==\"42\",42", true},
      {"count!=\"42\",41", true},
      {"refParking==urn:ngsi-ld:Parking:1,urn:ngsi-ld:Parking:7", true},
      {"refParking!=urn:ngsi-ld:Parking:1,urn:ngsi-ld:Parking:7", false},
      {"tags==\"black\",\"green\"", true},
      {"tags!=\"black\",\"white\"", true},
      {"tags!=\"black\",\"red\"", false},
      {"mixed==true", true},
      {"mixed==\"two\"", true},
      {"mixed==2", false},
      {"mixed!=2", true},
      {"mixed!=1", false},
  });
}

TEST(QQueryTest, Arrays) {
  ExpectMatches({
      {"tags==\"green\"", true},
      {"tags==\"purple\"", false},
      {"tags!=\"purple\"", true},
      {"tags!=\"red\"", false},  // != means no element equals
      {"scores>9", true},
      {"scores>10", false},
      {"scores<2", true},
      {"scores==5", true},
      {"scores<1", false},
      {"tags~=^gr", true},
      {"tags!~=^gr", false},
      {"tags!~=^x", true},
  });
}

TEST(QQueryTest, Relationships) {
  ExpectMatches({
      {"refParking==urn:ngsi-ld:Parking:7", true},
      {"refParking==\"urn:ngsi-ld:Parking:7\"", true},
      {"refParking!=urn:ngsi-ld:Parking:8", true},
      {"refParking==urn:ngsi-ld:Parking:8", false},
      {R"(refParking~=Parking:\d+$)", true},
      {"refDevices==urn:ngsi-ld:Device:2", true},
      {"refDevices!=urn:ngsi-ld:Device:1", false},
      {"refDevices!=urn:ngsi-ld:Device:3", true},
      {"temperature.sensor==urn:ngsi-ld:Device:7", true},
      {"temperature.sensor!=urn:ngsi-ld:Device:7", false},
  });
}

TEST(QQueryTest, CompoundPaths) {
  ExpectMatches({
      {"address[addressLocality]==\"Madrid\"", true},
      {"address[addressLocality]==Madrid", true},
      {"address[addressLocality]!=Madrid", false},
      {"address[postal][code]==28001", true},
      {"address[postal][code]>28000", true},
      {"address[postal][code]<28000", false},
      {"address[streetAddress]~=Mayor", true},
      {"address[postal]==28001", false},
      {"contacts[kind]==\"email\"", true},
      {"contacts[kind]==\"fax\"", false},
      {"location[type]==\"Point\"", true},
      {"location[coordinates]<0", true},
  });
}

TEST(QQueryTest, SubAttributesAndMembers) {
  ExpectMatches({
      {"temperature.accuracy==0.5", true},
      {"temperature.accuracy<1", true},
      {"temperature.accuracy>1", false},
      {"temperature.accuracy.calibrated==true", true},
      {"temperature.accuracy.unitCode==CEL", true},
      {"temperature.unitCode==\"CEL\"", true},
      {"temperature.unitCode==CEL", true},
      {"temperature.unitCode!=FAH", true},
      {"temperature.unitCode~=^C", true},
      {"temperature.datasetId==urn:ngsi-ld:Dataset:a", true},
      {"temperature.note==\"bien\"", true},
      {"temperature.note[en]==\"ok\"", true},
      {"temperature.note[en]==\"bien\"", false},
      {"humidity==80", true},
      {"humidity==40", true},
      {"humidity>70", true},
      {"humidity<30", false},
      {"humidity.datasetId==urn:ngsi-ld:Dataset:b", true},
  });
}

TEST(QQueryTest, LanguageProperties) {
  ExpectMatches({
      {"label==\"Hola\"", true},
      {"label==\"Bonjour\"", false},
      {"label[en]==\"Hello\"", true},
      {"label[en]==\"Hola\"", false},
      {"label[fr]==\"Hello\"", false},
      {"label~=你", true},
      {"label!=\"Hola\"", false},
  });
}

TEST(QQueryTest, RegularExpressions) {
  ExpectMatches({
      {"name~=Plaza", true},
      {"name~=^Plaza", true},
      {"name~=^Mayor", false},
      {"name~=Mayor$", true},
      {"name~=\"^Plaza Mayor$\"", true},
      {"name~=(?i)plaza", true},
      {"name~=plaza", false},
      {"name~=\"(?i)^PLAZA\"", true},
      {"name~=P.a", true},
      {"name~=[A-Z]la", true},
      {"name~=[^A-Za-z ]", false},
      {R"(name~=\s)", true},
      {R"(name~=^\S+$)", false},
      {R"(name~=^\w+\W\w+$)", true},
      {R"(name~=^\D+$)", true},
      {R"(name~=\d)", false},
      {R"(name~=\bMay)", true},
      {R"(name~=\Bayor)", true},
      {R"(name~=za\b)", true},
      {R"(name~=\Bza)", true},
      {"name~=(Plaza|Square)", true},
      {"name~=(?:Square|Circle)", false},
      {"name~=\"Plaza|Square\"", true},
      {"name~=a{2}", false},
      {"name~=a.*a.*a", true},
      {"name~=(la){1,2}", true},
      {"name~=^(Pla){2,}", false},
      {"name~=^P[a-z]{3,4}a ", true},
      {"name~=x?", true},
      {"name~=^$", false},
      {"empty~=^$", true},
      {"name~=[Z-_]", false},
      {R"(name~=\x50laza)", true},
      {R"(name~=\u0050laza)", true},
      {"name~=Plaza\\ Mayor", true},
      {"name~=o{,2}", false},  // '{,2}' is not a quantifier: literal text
      {"name~=Pl*aza", true},
      {"name~=Plx*aza", true},
      {"name~=Pl+?a", true},
      {"name~=(?<word>Plaza)", true},
      {"count~=42", false},
      {"name!~=Square", true},
      {"name!~=Plaza", false},
      {"count!~=x", false},
      {"text~=^Café", true},
      {R"(text~=Caf.\s)", true},
      {R"(text~=^.{4}\s)", true},
      {"text~=Ünï", true},
      {"text~=line1.line2", false},  // '.' does not match a line break
      {R"(text~=line1\nline2)", true},
      {R"(text~=line1[\s]line2)", true},
      {"text~=(?i)CAFÉ", false},  // case folding is ASCII-only
  });
}

TEST(QQueryTest, UnquotedRegexBoundaries) {
  ExpectMatches({
      {"name~=(Plaza|x);count==42", true},
      {"name~=(Plaza|x);count==41", false},
      {"name~=Plaza|count==0", true},
      {"name~=Square|count==42", true},
      {"name~=Square|count==0", false},
      {"name~=[;|]x", false},
      {"(name~=Plaza)", true},
      {"(count==0|name~=(P)laza)", true},
      {"name~=\"a;b\"|count==42", true},
      {R"(quote~="\"hi\"$")", true},
      {R"(path~="C:\\dir")", true},
      {R"(path~=C:\\dir)", true},
  });
}

TEST(QQueryTest, LogicAndPrecedence) {
  ExpectMatches({
      {"count==42;active==true", true},
      {"count==42;active==false", false},
      {"count==1|count==42", true},
      {"count==1|count==2", false},
      {"count==1;count==42|name==\"Plaza Mayor\"", true},
      // AND binds tighter: a|b;c is a|(b;c), not (a|b);c.
      {"count==42|name==\"x\";count==1", true},
      {"count==1;name==\"x\"|count==42", true},
      {"(count==42|name==\"x\");count==1", false},
      {"count==1;(name==\"x\"|count==42)", false},
      {"count==42;(name==\"x\"|active==true)", true},
      {"((count==42))", true},
      {"(((((count==42);active)))|missing)", true},
      {"count == 42 ; active", true},
      {" ( count==1 | count==42 ) ; name ", true},
      {"a|b|c|count", true},
      {"count;a|b", false},
      {"(a|count);(b|name);(c|active==true)", true},
  });
}

TEST(QQueryTest, DeepNestingWithinLimit) {
  std::string q = std::string(32, '(') + "count==42" + std::string(32, ')');
  ExpectMatches({{q, true}});
}

struct ErrorCase {
  std::string q;
  std::string message;
};

TEST(QQueryTest, Errors) {
  std::vector<ErrorCase> cases = {
      {"", "q: empty query"},
      {"   ", "q: empty query"},
      {"temp#>2", "q: unexpected character '#' at position 4"},
      {"#a", "q: unexpected character '#' at position 0"},
      {"a b", "q: unexpected character 'b' at position 2"},
      {"a=b", "q: unknown operator '=' at position 1"},
      {"a=>1", "q: unknown operator '=>' at position 1"},
      {"a<>1", "q: unknown operator '<>' at position 1"},
      {"a===1", "q: unknown operator '===' at position 1"},
      {"a~1", "q: unknown operator '~' at position 1"},
      {"a!1", "q: unknown operator '!' at position 1"},
      {"a==\"abc", "q: unterminated string starting at position 3"},
      {"a==\"abc\\\"", "q: unterminated string starting at position 3"},
      {"a~=\"abc", "q: unterminated string starting at position 3"},
      {"a;;b", "q: empty term at position 2"},
      {"a;", "q: empty term at position 2"},
      {";a", "q: empty term at position 0"},
      {"a|", "q: empty term at position 2"},
      {"a|;b", "q: empty term at position 2"},
      {"()", "q: empty term at position 1"},
      {"(a", "q: missing ')' to close '(' at position 0"},
      {"((a)", "q: missing ')' to close '(' at position 0"},
      {"(a;(b)", "q: missing ')' to close '(' at position 0"},
      {"a)", "q: unbalanced ')' at position 1"},
      {"(a))", "q: unbalanced ')' at position 3"},
      {"a==1 b", "q: unexpected character 'b' at position 5"},
      {"a==1)", "q: unbalanced ')' at position 4"},
      {"a==1..2..3", "q: unexpected character '.' at position 7"},
      {"a==[1]", "q: unexpected character '[' at position 3"},
      {"a==\x01", "q: unexpected character byte 0x01 at position 3"},
      {"(a b)", "q: unexpected character 'b' at position 3"},
      {"a==", "q: missing value after '==' at position 3"},
      {"a>;b", "q: missing value after '>' at position 2"},
      {"a==1,,2", "q: missing value after '==' at position 5"},
      {"a==..2", "q: missing value before '..' at position 3"},
      {"a==1..", "q: missing value after '==' at position 6"},
      {"a>abc",
       "q: operator '>' needs a number, quoted string, date-time or time value at position 2"},
      {"a<=true", "q: operator '<=' needs a number"},
      {"a>urn:x:y", "q: operator '>' needs a number"},
      {"a>1..2", "q: a range is only allowed with == and != (not '>') at position 2"},
      {"a<1,2", "q: a value list is only allowed with == and != (not '<') at position 2"},
      {"a==1..\"b\"", "q: range bounds of different types at position 3"},
      {"a==1..2024-01-01", "q: range bounds of different types"},
      {"a==true..false", "q: a range needs numbers, strings, date-times or times at position 3"},
      {"a==2024-13-01", "q: invalid date-time '2024-13-01' at position 3"},
      {"a>2024-01-01T25:00:00Z", "q: invalid date-time"},
      {"a==25:00", "q: invalid time '25:00' at position 3"},
      {"a==1e999", "q: number out of range '1e999' at position 3"},
      {"a.", "q: missing sub-attribute name at position 2"},
      {"a.>1", "q: unexpected character '>' (expected sub-attribute name) at position 2"},
      {"a..b", "q: unexpected character '.' (expected sub-attribute name) at position 2"},
      {"a[", "q: missing ']' for '[' at position 1"},
      {"a[b", "q: missing ']' for '[' at position 1"},
      {"a[]", "q: empty key in '[]' at position 1"},
      {"a[b[c]]", "q: unexpected character '[' at position 3"},
      {"a.observedAt.x", "q: nothing may follow '.observedAt' at position 12"},
      {"a.unitCode[x]", "q: nothing may follow '.unitCode' at position 10"},
      {"a~=", "q: missing regular expression after '~=' at position 3"},
      {"a!~=;b", "q: missing regular expression after '!~=' at position 4"},
      {"a~=\"\"", "q: missing regular expression after '~=' at position 3"},
      {"a~=(", "q: invalid regular expression (missing ')') at position 3"},
      {"a~=\"*\"", "q: invalid regular expression (nothing to repeat) at position 3"},
      {"a~=\"a**\"", "q: invalid regular expression (nothing to repeat)"},
      {"a~=\"^*\"", "q: invalid regular expression (nothing to repeat)"},
      {"a~=\"{2}\"", "q: invalid regular expression (nothing to repeat)"},
      {"a~=\"a)\"", "q: invalid regular expression (unmatched ')')"},
      {"a~=\"[abc\"", "q: invalid regular expression (missing ']')"},
      {"a~=\"[b-a]\"", "q: invalid regular expression (range out of order in character class)"},
      {"a~=\"a{3,2}\"", "q: invalid regular expression (numbers out of order in {} quantifier)"},
      {"a~=\"a{2000}\"", "q: invalid regular expression (repetition count too large (max 1000))"},
      {"a~=\"(a{1000}){1000}\"", "q: invalid regular expression (pattern too complex)"},
      {R"(a~="(a)\1")", "q: invalid regular expression (backreferences are not supported)"},
      {"a~=\"(?=x)\"", "q: invalid regular expression (lookaround is not supported)"},
      {"a~=\"(?<!x)y\"", "q: invalid regular expression (lookaround is not supported)"},
      {"a~=\"(?x)\"", "q: invalid regular expression (invalid group)"},
      {R"(a~="x\")", "q: unterminated string starting at position 3"},
      {"a~=x\\", "q: invalid regular expression (trailing backslash)"},
      {"a~=" + std::string(300, 'x'),
       "q: regular expression too long (max 256 bytes) at position 3"},
      {"a==\"" + std::string(1100, 'x') + "\"", "q: value too long (max 1024 bytes) at position 3"},
      {"a==" + std::string(1100, 'x'), "q: value too long (max 1024 bytes) at position 3"},
      {std::string(300, 'a'), "q: attribute name too long (max 256 bytes) at position 0"},
      {"a==" + std::string(4200, '1'), "q: query too long (4203 bytes, max 4096)"},
      {std::string(33, '(') + "a" + std::string(33, ')'),
       "q: expression nested too deeply (max 32) at position 32"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE("q=" + c.q.substr(0, 80));
    auto r = ParseQ(c.q);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidRequest);
    EXPECT_EQ(r.status().message().substr(0, c.message.size()), c.message)
        << "got: " << r.status().message();
  }
}

TEST(QQueryTest, AttributesReferenced) {
  auto r = ParseQ("a;b.c|(a[x]==1;d~=x)|b.observedAt>2020-01-01");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(QAttributes(**r), (std::vector<std::string>{"a", "b", "d"}));
  auto one = ParseQ("temperature>20");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(QAttributes(**one), (std::vector<std::string>{"temperature"}));
}

TEST(QQueryTest, NonAsciiAttributeNames) {
  Entity e;
  e.id = "urn:ngsi-ld:Test:2";
  e.types = {"Test"};
  e.attrs.push_back({"人数", Prop(1200)});
  e.attrs.push_back({"ns:level", Prop(3)});
  e.attrs.push_back({"snake_case-name", Prop("x")});
  for (const char* q : {"人数>=1000", "ns:level==3", "snake_case-name==\"x\""}) {
    auto r = ParseQ(q);
    ASSERT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    EXPECT_TRUE(Matches(**r, e)) << q;
  }
}

// Patterns that make a backtracking engine take exponential time or deep recursion finish
// quickly here: the engine is linear in the text.
TEST(QQueryTest, RegexIsLinearTime) {
  Entity e;
  e.id = "urn:ngsi-ld:Test:3";
  e.types = {"Test"};
  e.attrs.push_back({"s", Prop(std::string(5000, 'a'))});
  e.attrs.push_back({"long", Prop(std::string(200000, 'x') + "y")});
  std::vector<MatchCase> cases = {
      {"s~=\"(a+)+b\"", false},   {"s~=\"(a|aa)*c\"", false},   {"s~=\"(a*)*$\"", true},
      {"s~=\"^(a|a?)+$\"", true}, {"s~=\"(.*a){20}b\"", false}, {"long~=x*y$", true},
      {"long~=^(x|xx)+y$", true}, {"long~=z", false},
  };
  auto start = std::chrono::steady_clock::now();
  for (const MatchCase& c : cases) {
    auto r = ParseQ(c.q);
    ASSERT_TRUE(r.ok()) << c.q << ": " << r.status().ToString();
    EXPECT_EQ(Matches(**r, e), c.want) << c.q;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(QQueryTest, ExpressionIsSharedAcrossThreads) {
  auto r = ParseQ("(name~=(?i)^plaza;count>=40)|tags==\"nope\"");
  ASSERT_TRUE(r.ok());
  std::shared_ptr<const QExpr> q = *r;
  const Entity e = MakeEntity();
  std::atomic<int> matches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (Matches(*q, e)) matches.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(matches.load(), 2000);
}

// Describes IndexableTerms(q) as "attr:[lo,hi] ..." for comparison.
std::string Indexable(std::string_view q) {
  auto r = ParseQ(q);
  EXPECT_TRUE(r.ok()) << q;
  if (!r.ok()) return "<error>";
  auto bound = [](const QScalar& v, bool open) -> std::string {
    if (open) return "*";
    switch (v.kind) {
      case QScalar::Kind::kBool: return v.number != 0 ? "true" : "false";
      case QScalar::Kind::kNumber: {
        std::string s;
        AppendJsonNumber(&s, v.number);
        return s;
      }
      case QScalar::Kind::kString: return "'" + v.string + "'";
    }
    return "?";
  };
  std::string out;
  for (const QIndexableTerm& t : IndexableTerms(**r)) {
    if (!out.empty()) out += " ";
    out += t.attr + ":";
    for (const QScalarRange& range : t.ranges) {
      out += "[" + bound(range.lo, range.lo_open) + "," + bound(range.hi, range.hi_open) + "]";
    }
  }
  return out;
}

TEST(QQueryTest, IndexableTermsAreTheTopLevelConjunctsOnScalars) {
  EXPECT_EQ(Indexable(R"(district=="D0042")"), "district:['D0042','D0042']");
  EXPECT_EQ(Indexable("temperature>30.5"), "temperature:[30.5,*]");
  EXPECT_EQ(Indexable("n<=7;name==Plaza"), "n:[*,7] name:['Plaza','Plaza']");
  EXPECT_EQ(Indexable("n==1..5;on==true"), "n:[1,5] on:[true,true]");
  EXPECT_EQ(Indexable(R"(s=="a".."c")"), "s:['a','c']");
  EXPECT_EQ(Indexable(R"(n==1,2,"x")"), "n:[1,1][2,2]['x','x']");
  EXPECT_EQ(Indexable("n>=9007199254740993"), "n:[9007199254740992,*]");
  // Nested conjunctions are conjuncts too; anything under an OR is not.
  EXPECT_EQ(Indexable("(a==1;(b<2;c))"), "a:[1,1] b:[*,2]");
  EXPECT_EQ(Indexable("a==1;(b==2|c==3)"), "a:[1,1]");
  EXPECT_EQ(Indexable("a==1|b==2"), "");
  // Not answerable from scalar values: !=, ~=, existence, paths, date-times and times.
  EXPECT_EQ(Indexable("a!=1;b~=x;c;d.sub==1;e[k]==1;f.observedAt>2024-01-01T00:00:00Z"), "");
  EXPECT_EQ(Indexable("a==2024-01-01T00:00:00Z;b<08:00:00;c==1,2024-01-01"), "");
}

TEST(QQueryTest, AWholeIndexableTermIsMarkedSo) {
  auto whole = [](std::string_view text) {
    auto terms = IndexableTerms(*ParseQ(text).value());
    std::vector<bool> out;
    for (const auto& t : terms) out.push_back(t.whole);
    return out;
  };
  EXPECT_EQ(whole(R"(district=="D0042")"), std::vector<bool>{true});
  EXPECT_EQ(whole("n==1..5"), std::vector<bool>{true});
  EXPECT_EQ(whole("n>=5"), std::vector<bool>{true});
  EXPECT_EQ(whole("n>5"), std::vector<bool>{false});  // its range includes 5
  EXPECT_EQ(whole("n<5"), std::vector<bool>{false});
  EXPECT_EQ(whole("a==1;b==2"), (std::vector<bool>{false, false}));
  EXPECT_EQ(whole("a==1;b"), std::vector<bool>{false});
}

}  // namespace
}  // namespace cb::context
