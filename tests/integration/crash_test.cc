// kill -9 during ingestion: every write the server acknowledged is there after restart.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

#include "core/json.h"
#include "test_server.h"

namespace cb::testing {
namespace {

void CrashDuringIngestion(const std::string& durability) {
  ServerProcess server("", {"--durability", durability});
  ASSERT_TRUE(server.Start()) << server.Log();
  constexpr int kWriters = 4;
  constexpr int kEntitiesPerWriter = 50;
  // acked[writer][entity] = last sequence number acknowledged with 2xx.
  std::vector<std::vector<int>> acked(kWriters, std::vector<int>(kEntitiesPerWriter, -1));
  std::atomic<bool> stop{false};
  std::atomic<int> total_acks{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      HttpClient c(server.port(), server.admin_key());
      for (int seq = 0; !stop.load(); ++seq) {
        std::string body = "[";
        for (int e = 0; e < kEntitiesPerWriter; ++e) {
          if (e) body += ",";
          body += R"({"id":"urn:ngsi-ld:Counter:w)" + std::to_string(w) + "-" + std::to_string(e) +
                  R"(","type":"Counter","seq":{"type":"Property","value":)" + std::to_string(seq) +
                  "}}";
        }
        body += "]";
        try {
          auto r = c.Post("/ngsi-ld/v1/entityOperations/upsert?options=update", body);
          if (r.status / 100 == 2) {
            for (int e = 0; e < kEntitiesPerWriter; ++e) acked[w][e] = seq;
            total_acks.fetch_add(1);
          }
        } catch (const std::exception&) {
          return;  // the server died mid-request: that write was never acknowledged
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server.Stop(SIGKILL);
  stop.store(true);
  for (auto& t : threads) t.join();
  ASSERT_GT(total_acks.load(), 10) << "too few writes acknowledged to mean anything";

  ServerProcess again(server.data_dir());
  ASSERT_TRUE(again.Start()) << again.Log();
  auto c = again.Client();
  int checked = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int e = 0; e < kEntitiesPerWriter; ++e) {
      if (acked[w][e] < 0) continue;
      auto r = c.Get("/ngsi-ld/v1/entities/urn:ngsi-ld:Counter:w" + std::to_string(w) + "-" +
                     std::to_string(e) + "?options=keyValues");
      ASSERT_EQ(r.status, 200) << r.body;
      auto doc = ParseJson(r.body);
      ASSERT_TRUE(doc.ok());
      // Later unacknowledged writes may also have landed; never an earlier value.
      EXPECT_GE(doc->Find("seq")->as_int(), acked[w][e]);
      ++checked;
    }
  }
  EXPECT_EQ(checked, kWriters * kEntitiesPerWriter);
  // History holds every acknowledged instance too.
  auto h = c.Get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Counter:w0-0?attrs=seq&lastN=1");
  ASSERT_EQ(h.status, 200);
  auto hist = ParseJson(h.body);
  ASSERT_TRUE(hist.ok());
  EXPECT_GE(hist->Find("seq")->as_array()[0].Find("value")->as_int(), acked[0][0]);
}

TEST(CrashTest, Kill9DuringIngestionLosesNoAcknowledgedWriteFsync) {
  CrashDuringIngestion("fsync");
}

TEST(CrashTest, Kill9DuringIngestionLosesNoAcknowledgedWriteProcess) {
  CrashDuringIngestion("process");
}

}  // namespace
}  // namespace cb::testing
