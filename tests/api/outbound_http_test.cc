// Tests of the outbound client's URL handling: links in a feed resolved against the feed's
// URL, and URLs written back.
#include "api/outbound_http.h"

#include <gtest/gtest.h>

namespace cb::api {
namespace {

struct HrefCase {
  const char* base;
  const char* href;
  const char* resolved;  // "" when refused
};
void PrintTo(const HrefCase& c, std::ostream* os) { *os << c.base << " + " << c.href; }

class ResolveHrefTest : public ::testing::TestWithParam<HrefCase> {};

TEST_P(ResolveHrefTest, Resolves) {
  const HrefCase& c = GetParam();
  auto base = context::ParseHttpUrl(c.base);
  ASSERT_TRUE(base.ok());
  auto r = ResolveHref(*base, c.href);
  if (*c.resolved == '\0') {
    EXPECT_FALSE(r.ok()) << FormatHttpUrl(*r);
    return;
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(FormatHttpUrl(*r), c.resolved);
}

INSTANTIATE_TEST_SUITE_P(
    Links, ResolveHrefTest,
    ::testing::Values(
        HrefCase{"http://feeds.example.org/warnings/feed.atom", "cap/1.xml",
                 "http://feeds.example.org/warnings/cap/1.xml"},
        HrefCase{"http://feeds.example.org/warnings/feed.atom?area=3301", "cap/1.xml",
                 "http://feeds.example.org/warnings/cap/1.xml"},
        HrefCase{"http://feeds.example.org/warnings/feed.atom", "/cap/1.xml",
                 "http://feeds.example.org/cap/1.xml"},
        HrefCase{"http://feeds.example.org:8080/warnings/", "1.xml",
                 "http://feeds.example.org:8080/warnings/1.xml"},
        HrefCase{"http://feeds.example.org/feed", "?id=7", "http://feeds.example.org/feed?id=7"},
        HrefCase{"http://feeds.example.org/feed", "1.xml#top", "http://feeds.example.org/1.xml"},
        HrefCase{"http://feeds.example.org/feed", "//cdn.example.org/cap/1.xml",
                 "http://cdn.example.org/cap/1.xml"},
        HrefCase{"http://feeds.example.org/feed", "http://other.example.org:81/a?b=c",
                 "http://other.example.org:81/a?b=c"},
        HrefCase{"http://feeds.example.org/feed", "https://secure.example.org/a",
                 "https://secure.example.org/a"},
        HrefCase{"http://[::1]:8080/feed", "a.xml", "http://[::1]:8080/a.xml"},
        HrefCase{"http://feeds.example.org/feed", "a b.xml", ""},
        HrefCase{"http://feeds.example.org/feed", "mailto:x@example.org", ""}));

}  // namespace
}  // namespace cb::api
