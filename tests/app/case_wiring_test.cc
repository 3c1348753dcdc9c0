#include "app/case_wiring.h"

#include <gtest/gtest.h>

#include <string>

namespace cb::app {
namespace {

alerts::Alert AlertWithHeadline(std::string zh, std::string en) {
  alerts::Alert a;
  a.id = "urn:ngsi-ld:Alert:t1";
  a.spec.case_category = "0701";
  a.spec.headline = {std::move(zh), std::move(en)};
  return a;
}

std::string TitleOf(const alerts::Alert& a) {
  std::optional<cases::NewCase> n = AlertCaseOpener::ReportFor(a, cases::Catalog::Default());
  EXPECT_TRUE(n.has_value());
  return n ? n->title : "";
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

struct TitleCase {
  const char* name;
  std::string zh, en, want;
};

class CaseTitleTest : public ::testing::TestWithParam<TitleCase> {};

TEST_P(CaseTitleTest, ReadsInBothLanguagesWhenItFits) {
  const TitleCase& c = GetParam();
  EXPECT_EQ(TitleOf(AlertWithHeadline(c.zh, c.en)), c.want);
}

const std::string kLongEn(190, 'e');

INSTANTIATE_TEST_SUITE_P(
    Headlines, CaseTitleTest,
    ::testing::Values(
        TitleCase{"Both", "客流骤增：urn:ngsi-ld:Zone:plaza", "Sudden crowd surge: urn:ngsi-ld:Zone:plaza",
                  "客流骤增：urn:ngsi-ld:Zone:plaza / Sudden crowd surge: urn:ngsi-ld:Zone:plaza"},
        TitleCase{"SameText", "P-17", "P-17", "P-17"},
        TitleCase{"ChineseOnly", "积水", "", "积水"},
        TitleCase{"EnglishOnly", "", "Flooding", "Flooding"},
        TitleCase{"BothTooLongSoChinese", "路面积水：urn:ngsi-ld:Device:w1", kLongEn,
                  "路面积水：urn:ngsi-ld:Device:w1"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(CaseTitleTest, AnOverlongHeadlineIsCutAtACharacter) {
  std::string zh;
  for (int i = 0; i < 250; ++i) zh += "水";  // 3 bytes each
  const std::string title = TitleOf(AlertWithHeadline(zh, "Water"));
  EXPECT_EQ(CodePoints(title), cases::Case::kMaxTitle);
  EXPECT_EQ(title.size(), cases::Case::kMaxTitle * 3);
}

TEST(CaseTitleTest, AnAlertWithoutACaseCategoryOpensNoCase) {
  alerts::Alert a = AlertWithHeadline("积水", "Flooding");
  a.spec.case_category.clear();
  EXPECT_FALSE(AlertCaseOpener::ReportFor(a, cases::Catalog::Default()).has_value());
}

}  // namespace
}  // namespace cb::app
