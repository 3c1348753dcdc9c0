#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace cb::metrics {
namespace {

TEST(MetricsTest, RendersPrometheusTextFormat) {
  Registry r;
  r.GetCounter("req_total", "Requests", Label("route", "/a"))->Inc(3);
  r.GetCounter("req_total", "Requests", Label("route", "/b"))->Inc();
  r.GetGauge("depth", "Queue depth")->Set(2.5);
  r.AddCallbackGauge("entities", "Entities", [] { return 42.0; });
  r.AddCallbackCounter("commits_total", "Commits", [] { return 7.0; });
  Histogram* h = r.GetHistogram("lat_seconds", "Latency", "", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  std::string text = r.Render();
  for (const char* line :
       {"# HELP req_total Requests\n", "# TYPE req_total counter\n", "req_total{route=\"/a\"} 3\n",
        "req_total{route=\"/b\"} 1\n", "# TYPE depth gauge\n", "depth 2.5\n", "entities 42\n", "# TYPE commits_total counter\n", "commits_total 7\n",
        "# TYPE lat_seconds histogram\n", "lat_seconds_bucket{le=\"0.1\"} 1\n",
        "lat_seconds_bucket{le=\"1\"} 2\n", "lat_seconds_bucket{le=\"+Inf\"} 3\n",
        "lat_seconds_sum 5.55\n", "lat_seconds_count 3\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

TEST(MetricsTest, SameNameAndLabelsGiveTheSameSeries) {
  Registry r;
  EXPECT_EQ(r.GetCounter("a", "h"), r.GetCounter("a", "h"));
  EXPECT_NE(r.GetCounter("a", "h", Label("x", "1")), r.GetCounter("a", "h"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(Label("k", "a\"b\\c\nd"), "k=\"a\\\"b\\\\c\\nd\"");
}

TEST(MetricsTest, CountersAreThreadSafe) {
  Registry r;
  Counter* c = r.GetCounter("n", "h");
  Histogram* h = r.GetHistogram("l", "h");
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      for (int j = 0; j < 10000; ++j) {
        c->Inc();
        h->Observe(0.001);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c->Value(), 40000u);
  EXPECT_EQ(h->Count(), 40000u);
  EXPECT_NEAR(h->Sum(), 40.0, 1e-6);
}

TEST(MetricsTest, HistogramQuantileInterpolates) {
  Histogram h({1, 2, 3, 4});
  for (int i = 0; i < 100; ++i) h.Observe(i < 50 ? 0.5 : 3.5);
  EXPECT_LE(h.Quantile(0.25), 1.0);
  EXPECT_GT(h.Quantile(0.99), 3.0);
  EXPECT_LE(h.Quantile(0.99), 4.0);
}

}  // namespace
}  // namespace cb::metrics
