// The load generator's HTTP answer reader (bench/http_response_reader.h): the benchmark
// figures count only what it reads as whole answers, so it is tested like product code.
#include "http_response_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cb::bench {
namespace {

struct Case {
  const char* name;
  std::vector<std::string> pieces;  // fed one at a time
  int status;
  std::string body;
  bool keep_alive;
};

const Case kCases[] = {
    {"ContentLength", {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"}, 200, "hello", true},
    {"SplitEverywhere", {"HT", "TP/1.1 201 Cre", "ated\r\ncontent-len", "gth: 3\r\n\r", "\nab", "c"},
     201, "abc", true},
    {"NoContent", {"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"}, 204, "", true},
    {"ConnectionClose", {"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"},
     400, "{}", false},
    {"Http10", {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"}, 200, "x", false},
    {"Chunked", {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n", "5;ext=1\r\npedia\r\n0\r\n\r\n"},
     200, "wikipedia", true},
    {"ChunkedTrailer", {"HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n1\r\nx\r\n0\r\nT: v\r\n\r\n"},
     200, "x", true},
    {"InterimThenFinal", {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
     200, "ok", true},
};

class ReaderCase : public ::testing::TestWithParam<Case> {};

TEST_P(ReaderCase, ReadsTheAnswerOnlyOnceItIsWhole) {
  const Case& c = GetParam();
  HttpResponseReader r;
  for (size_t i = 0; i < c.pieces.size(); ++i) {
    ASSERT_EQ(r.Parse(), HttpResponseReader::kMore) << "before piece " << i;
    r.Feed(c.pieces[i]);
  }
  ASSERT_EQ(r.Parse(), HttpResponseReader::kDone);
  EXPECT_EQ(r.status(), c.status);
  EXPECT_EQ(r.body(), c.body);
  EXPECT_EQ(r.keep_alive(), c.keep_alive);
}

INSTANTIATE_TEST_SUITE_P(Answers, ReaderCase, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(HttpResponseReaderTest, KeepsWhatFollowsAnAnswerForTheNext) {
  HttpResponseReader r;
  r.Feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
  ASSERT_EQ(r.Parse(), HttpResponseReader::kDone);
  EXPECT_EQ(r.body(), "a");
  r.Next();
  ASSERT_EQ(r.Parse(), HttpResponseReader::kDone);
  EXPECT_EQ(r.status(), 404);
  EXPECT_EQ(r.body(), "no");
  r.Next();
  EXPECT_EQ(r.Parse(), HttpResponseReader::kMore);
}

TEST(HttpResponseReaderTest, ABodyWithoutLengthEndsWithTheConnection) {
  HttpResponseReader r;
  r.Feed("HTTP/1.1 200 OK\r\n\r\npart one ");
  EXPECT_EQ(r.Parse(), HttpResponseReader::kMore);
  r.Feed("part two");
  EXPECT_EQ(r.Parse(), HttpResponseReader::kMore);
  ASSERT_EQ(r.Close(), HttpResponseReader::kDone);
  EXPECT_EQ(r.body(), "part one part two");
  EXPECT_FALSE(r.keep_alive());
}

TEST(HttpResponseReaderTest, ACloseBeforeTheWholeAnswerIsAnError) {
  HttpResponseReader r;
  r.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  EXPECT_EQ(r.Parse(), HttpResponseReader::kMore);
  EXPECT_EQ(r.Close(), HttpResponseReader::kBad);
}

TEST(HttpResponseReaderTest, GarbageIsAnError) {
  for (const char* bad : {"SMTP ready\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    HttpResponseReader r;
    r.Feed(bad);
    EXPECT_EQ(r.Parse(), HttpResponseReader::kBad) << bad;
  }
}

}  // namespace
}  // namespace cb::bench
