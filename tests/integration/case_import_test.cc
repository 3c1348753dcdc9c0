// `citybrain import-cases` against the real server: the Boston 311 sample (5,000 real
// requests of 2015, public domain; ../shared/data/boston311_2015) is read, mapped and posted
// in batches; GET /api/v1/case-stats (JSON and CSV) then gives the figures computed straight
// from the CSV. Bad requests to both routes are refused and change nothing.

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../boston311.h"
#include "gtest/gtest.h"
#include "test_server.h"

namespace cb::testing {
namespace {

class CaseImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(server_->Start()) << server_->Log();
    admin_.emplace(server_->Client());
  }
  std::unique_ptr<ServerProcess> server_;
  std::optional<HttpClient> admin_;
};

TEST_F(CaseImportTest, ImportsTheBostonSampleAndItsStatisticsMatchTheCsv) {
  const std::string text = boston::ReadText(boston::kCsv);
  ASSERT_FALSE(text.empty()) << "no Boston sample at " << boston::kCsv;
  // The server's now is today: every 2015 target has passed.
  const boston::Figures fig =
      boston::Compute(text, std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
  ASSERT_TRUE(fig.ok);
  ASSERT_EQ(fig.not_yet_due, 0u);

  CommandResult run = RunCitybrain("import-cases " + boston::kCsv + " --mapping " + boston::kMapping +
                                   " --server http://127.0.0.1:" + std::to_string(server_->port()) +
                                   " --key " + server_->admin_key() + " --batch 700");
  ASSERT_EQ(run.exit_code, 0) << run.output << server_->Log();
  EXPECT_NE(run.output.find("rows read 5000, imported " + std::to_string(fig.kept) + ", skipped " +
                            std::to_string(fig.closed_before_open)),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("skipped, closed before it was opened: " + std::to_string(fig.closed_before_open)),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("RESULT name=import-cases rows=5000"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("import-cases: 700 rows read"), std::string::npos) << "progress lines";

  Response r = admin_->Get("/api/v1/case-stats");
  ASSERT_EQ(r.status, 200) << r.body;
  JsonValue total = *Json(r.body).Find("total");
  EXPECT_EQ(total.Find("volume")->as_int(), static_cast<int64_t>(fig.kept));
  EXPECT_EQ(total.Find("closed")->as_int(), static_cast<int64_t>(fig.closed));
  EXPECT_EQ(total.Find("backlog")->as_int(), static_cast<int64_t>(fig.kept - fig.closed));
  const JsonValue* close = total.Find("onTimeRate")->Find("close");
  EXPECT_EQ(close->Find("counted")->as_int(), static_cast<int64_t>(fig.counted));
  EXPECT_EQ(close->Find("onTime")->as_int(), static_cast<int64_t>(fig.on_time));
  EXPECT_DOUBLE_EQ(close->Find("rate")->as_double(),
                   static_cast<double>(fig.on_time) / static_cast<double>(fig.counted));
  EXPECT_DOUBLE_EQ(total.Find("medianCloseHours")->as_double(), fig.median_close_hours);
  std::printf("Boston over HTTP: close on time %.1f%% (Boston's OnTime_Status %.1f%%), median close %.2f h\n",
              100.0 * close->Find("rate")->as_double(), 100.0 * boston::BostonOnTimeShare(fig),
              fig.median_close_hours);

  // By month in Boston's time: twelve months of 2015 that add up to the total.
  r = admin_->Get("/api/v1/case-stats?groupBy=month&timeZone=America/New_York&from=2015-01-01T05:00:00Z");
  ASSERT_EQ(r.status, 200) << r.body;
  const JsonValue by_month = Json(r.body);
  const JsonValue::Array& months = by_month.Find("groups")->as_array();
  ASSERT_EQ(months.size(), 12u);
  EXPECT_EQ(months[0].Find("key")->as_string(), "2015-01-01");
  int64_t volume = 0;
  for (const JsonValue& m : months) volume += m.Find("volume")->as_int();
  EXPECT_EQ(volume, static_cast<int64_t>(fig.kept));

  // The CSV export: a line per department, then the total with the same figures.
  r = admin_->Get("/api/v1/case-stats?groupBy=department&format=csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_NE(r.Header("Content-Disposition").find("case-stats-department.csv"), std::string::npos);
  EXPECT_EQ(r.body.rfind("department,volume,closed,backlog,", 0), 0u) << r.body.substr(0, 200);
  const size_t last = r.body.rfind("\r\ntotal,");
  ASSERT_NE(last, std::string::npos) << r.body;
  std::vector<std::string> fields;
  std::stringstream line(r.body.substr(last + 2));
  for (std::string f; std::getline(line, f, ',');) fields.push_back(f);
  ASSERT_EQ(fields.size(), 29u) << r.body.substr(last);
  EXPECT_EQ(fields[1], std::to_string(fig.kept));
  EXPECT_EQ(fields[19], std::to_string(fig.counted));  // close_counted
  EXPECT_EQ(fields[20], std::to_string(fig.on_time));  // close_on_time
  EXPECT_DOUBLE_EQ(std::stod(fields[24]), fig.median_close_hours);
  // A department filter narrows it; an unknown one gives nothing.
  r = admin_->Get("/api/v1/case-stats?department=szj");
  EXPECT_LT(Json(r.body).Find("total")->Find("volume")->as_int(), static_cast<int64_t>(fig.kept));
  EXPECT_GT(Json(r.body).Find("total")->Find("volume")->as_int(), 1000);
  r = admin_->Get("/api/v1/case-stats?department=nobody");
  EXPECT_EQ(Json(r.body).Find("total")->Find("volume")->as_int(), 0);
}

TEST_F(CaseImportTest, ImportsSentAtOnceAreEachWholeOrRefusedWithRetryAfter) {
  // Twelve imports at once: the server runs them one at a time off its I/O threads, keeps a
  // few waiting and refuses the rest with 503 and Retry-After (which import-cases follows).
  // Each one is imported whole or not at all, and the server answers meanwhile.
  constexpr int kImports = 12, kRows = 1500;
  std::vector<Response> answers(kImports);
  std::vector<std::thread> senders;
  for (int i = 0; i < kImports; ++i) {
    senders.emplace_back([&, i] {
      std::string body = R"({"cases":[)";
      for (int k = 0; k < kRows; ++k) {
        if (k > 0) body += ',';
        body += R"({"category":"0107","openedAt":"2015-01-01T05:00:00Z","externalId":"b)" +
                std::to_string(i) + "-" + std::to_string(k) + R"("})";
      }
      body += "]}";
      HttpClient c(server_->port(), server_->admin_key());
      answers[static_cast<size_t>(i)] = c.Post("/api/v1/cases/import", body);
    });
  }
  EXPECT_EQ(admin_->Get("/health").status, 200);
  for (auto& t : senders) t.join();
  int64_t imported = 0;
  for (const Response& r : answers) {
    if (r.status == 201) {
      EXPECT_EQ(Json(r.body).Find("imported")->as_int(), kRows) << r.body;
      imported += kRows;
    } else {
      EXPECT_EQ(r.status, 503) << r.body;
      EXPECT_EQ(r.Header("Retry-After"), "2");
      EXPECT_NE(Json(r.body).Find("detail"), nullptr) << r.body;
    }
  }
  EXPECT_GE(imported, kRows);
  std::printf("%d imports at once: %lld imported whole, %lld refused\n", kImports,
              static_cast<long long>(imported / kRows), static_cast<long long>(kImports - imported / kRows));
  EXPECT_EQ(Json(admin_->Get("/api/v1/case-stats").body).Find("total")->Find("volume")->as_int(), imported);
}

TEST_F(CaseImportTest, BadRequestsAreRefusedAndChangeNothing) {
  for (const char* q : {"?groupBy=year", "?from=yesterday", "?from=2016-01-01T00:00:00Z&to=2015-01-01T00:00:00Z",
                        "?format=xml", "?utcOffset=east", "?timeZone=Mars/Olympus",
                        "?timeZone=America/New_York&utcOffset=-300"}) {
    Response r = admin_->Get(std::string("/api/v1/case-stats") + q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_NE(Json(r.body).Find("detail"), nullptr) << r.body;
  }
  const std::string good = R"({"category":"0107","openedAt":"2015-01-01T05:00:00Z","externalId":"x1"})";
  struct Bad {
    std::string body;
    int status;
  };
  const std::vector<Bad> bad = {
      {"not json", 400},
      {R"({"rows":[]})", 400},
      {R"({"cases":[)" + good + R"(,{"category":"9999","openedAt":"2015-01-01T05:00:00Z"}]})", 400},
      {R"({"cases":[)" + good + R"(,{"category":"0107"}]})", 400},
      {R"({"cases":[)" + good + R"(,{"category":"0107","openedAt":"2015-01-02T00:00:00Z","closedAt":"2015-01-01T00:00:00Z"}]})", 400},
  };
  for (const Bad& b : bad) {
    Response r = admin_->Post("/api/v1/cases/import", b.body);
    EXPECT_EQ(r.status, b.status) << b.body << " " << r.body;
  }
  EXPECT_EQ(Json(admin_->Get("/api/v1/case-stats").body).Find("total")->Find("volume")->as_int(), 0);
  // Not an admin: forbidden, for the import only.
  Response k = admin_->Post("/admin/keys", R"({"name":"analyst","permissions":["cases:read"]})");
  ASSERT_EQ(k.status, 201) << k.body;
  HttpClient analyst(server_->port(), Json(k.body).Find("key")->as_string());
  EXPECT_EQ(analyst.Post("/api/v1/cases/import", R"({"cases":[)" + good + "]}").status, 403);
  EXPECT_EQ(analyst.Get("/api/v1/case-stats").status, 200);
  // A good one: 201 with its id.
  Response ok = admin_->Post("/api/v1/cases/import", R"({"cases":[)" + good + "]}");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(Json(ok.body).Find("imported")->as_int(), 1);
  EXPECT_EQ(Json(ok.body).Find("ids")->as_array().size(), 1u);
  // A command with a missing file or a bad mapping says so.
  CommandResult run = RunCitybrain("import-cases /nonexistent.csv --mapping " + boston::kMapping +
                                   " --server http://127.0.0.1:" + std::to_string(server_->port()) + " --key k");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("cannot open /nonexistent.csv"), std::string::npos) << run.output;
  EXPECT_EQ(RunCitybrain("import-cases --help").exit_code, 0);
}

}  // namespace
}  // namespace cb::testing
