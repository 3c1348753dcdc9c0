// Case handling benchmarks (issue 4), each with a baseline measured in the same run:
//
//   cb_cases_bench transitions --db PATH [--cases 2000] [--threads 4] [--window 32]
//     Case transitions per second with durability on: a CaseBook over the real SQLite store
//     (fsync), `threads` threads each walking its share of the cases accept → dispatch →
//     start → resolve → verify → rate → close, `window` ApplyAsync calls in flight per thread.
//     Baseline: the raw store committing records of the same size (the cases' mean stored
//     size) at the same concurrency.
//
//   cb_cases_bench stats [--cases 1000000] [--queries 30]
//     A statistics query over `cases` cases, p50/p99 for groupBy none, department, zone and
//     month. Baseline: one plain loop summing a field over the same number of rows.
//
//   cb_cases_bench import --csv FILE --mapping M.json --db PATH [--repeat 5]
//     Hotline CSV import rows/s: read + map + CaseBook::Import into a fresh SQLite store
//     (fsync), in batches of 1,000. Baseline: only reading (parsing) the CSV.
//
// Prints "RESULT name=... key=value ..." lines, like the other benchmark tools.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cases/case_book.h"
#include "cases/catalog.h"
#include "cases/csv_import.h"
#include "cases/statistics.h"
#include "store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
using cb::TimeMs;

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
  std::map<std::string, std::string> kv;
  std::string Str(const std::string& k, const std::string& d) const {
    auto it = kv.find(k);
    return it == kv.end() ? d : it->second;
  }
  long long Int(const std::string& k, long long d) const {
    auto it = kv.find(k);
    return it == kv.end() ? d : std::stoll(it->second);
  }
};

// Counts completions; Wait blocks until `n` have come since the last Reset.
class Latch {
 public:
  void Reset(int n) {
    std::lock_guard<std::mutex> l(mu_);
    left_ = n;
  }
  void Done(bool ok) {
    std::lock_guard<std::mutex> l(mu_);
    if (!ok) ++failures_;
    if (--left_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return left_ <= 0; });
  }
  int failures() const { return failures_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_ = 0;
  int failures_ = 0;
};

// Removes a database and its companions (journal segments, WAL, spares: "<path>-…").
void RemoveDb(const std::string& path) {
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const std::string prefix = p.filename().string() + "-";
  std::filesystem::remove(p);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove(e.path(), ec);
  }
}

std::unique_ptr<cb::store::Store> OpenStore(const std::string& path) {
  RemoveDb(path);
  cb::store::StoreOptions so;
  so.path = path;
  so.durability = cb::store::Durability::kFsync;
  auto opened = cb::store::OpenSqliteStore(so);
  if (!opened.ok()) {
    std::cerr << opened.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(opened).value();
}

// ---- (a) transitions

int Transitions(const Args& a) {
  const std::string path = a.Str("db", "cases-bench.db");
  const int n_cases = static_cast<int>(a.Int("cases", 2000));
  const int threads = static_cast<int>(a.Int("threads", 4));
  const int window = static_cast<int>(a.Int("window", 32));
  const TimeMs t0 = 1767225600000;  // 2026-01-01
  std::vector<cb::cases::TransitionRequest> walk;
  auto req = [](cb::cases::CaseAction action) {
    cb::cases::TransitionRequest r;
    r.action = action;
    r.actor = "bench";
    return r;
  };
  using A = cb::cases::CaseAction;
  walk.push_back(req(A::kAccept));
  walk.push_back(req(A::kDispatch));
  walk.back().department = "szj";
  walk.push_back(req(A::kStart));
  walk.push_back(req(A::kResolve));
  walk.back().result = "井盖已更换 / cover replaced";
  walk.push_back(req(A::kVerify));
  walk.push_back(req(A::kRate));
  walk.back().rating = 5;
  walk.push_back(req(A::kClose));

  std::vector<uint64_t> ids;
  double mean_doc = 0;
  double seconds = 0;
  int failures = 0;
  {
    auto store = OpenStore(path);
    cb::cases::CaseBook book(&cb::cases::Catalog::Default(), store.get());
    if (auto st = book.Load(); !st.ok()) {
      std::cerr << st.ToString() << "\n";
      return 1;
    }
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> dx(0, 0.05);
    for (int i = 0; i < n_cases; ++i) {
      cb::cases::NewCase n;
      n.category = "0106";
      n.description = "井盖缺失，有行人跌落危险 / manhole cover missing";
      n.lon = 120.15 + dx(rng);
      n.lat = 30.25 + dx(rng);
      n.reporter.id = "citizen-" + std::to_string(i % 500);
      n.link_duplicates = false;
      auto c = book.Create(std::move(n), t0 + i);
      if (!c.ok()) {
        std::cerr << c.status().ToString() << "\n";
        return 1;
      }
      ids.push_back(c->id);
    }
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    std::atomic<int> failed{0};
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        Latch latch;
        std::vector<uint64_t> mine;
        for (size_t i = static_cast<size_t>(t); i < ids.size(); i += static_cast<size_t>(threads)) mine.push_back(ids[i]);
        for (size_t from = 0; from < mine.size(); from += static_cast<size_t>(window)) {
          const size_t to = std::min(mine.size(), from + static_cast<size_t>(window));
          for (size_t s = 0; s < walk.size(); ++s) {
            latch.Reset(static_cast<int>(to - from));
            for (size_t i = from; i < to; ++i) {
              book.ApplyAsync(mine[i], walk[s], t0 + 3600000LL * static_cast<TimeMs>(s + 1),
                              [&latch](cb::Result<cb::cases::Case> r, const cb::cases::TransitionError&) {
                                latch.Done(r.ok());
                              });
            }
            latch.Wait();
          }
        }
        failed += latch.failures();
      });
    }
    for (auto& th : pool) th.join();
    seconds = Since(start);
    failures = failed.load();
    // The mean size of a stored case over its walk: first and last step's documents.
    auto c = book.Get(ids.front());
    cb::cases::Case early = *c;
    early.history.resize(std::min<size_t>(early.history.size(), 2));
    early.clocks.resize(std::min<size_t>(early.clocks.size(), 2));
    mean_doc = (static_cast<double>(cb::cases::CaseToJson(*c).Dump().size()) +
                static_cast<double>(cb::cases::CaseToJson(early).Dump().size())) / 2.0;
    store->Close();
  }
  const double transitions = static_cast<double>(ids.size() * walk.size());

  // Baseline: the raw store, records of that size, same threads and window.
  double base_seconds = 0;
  {
    auto store = OpenStore(path + ".raw");
    const std::string doc(static_cast<size_t>(mean_doc), 'x');
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    const size_t per_thread = ids.size() * walk.size() / static_cast<size_t>(threads);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        Latch latch;
        for (size_t from = 0; from < per_thread; from += static_cast<size_t>(window)) {
          const size_t to = std::min(per_thread, from + static_cast<size_t>(window));
          latch.Reset(static_cast<int>(to - from));
          for (size_t i = from; i < to; ++i) {
            cb::store::WriteBatch b;
            b.put_records.push_back({"case", std::to_string(t) + "-" + std::to_string(i % 1000), doc});
            store->Submit(std::move(b), [&latch](const cb::Status& st) { latch.Done(st.ok()); });
          }
          latch.Wait();
        }
      });
    }
    for (auto& th : pool) th.join();
    base_seconds = Since(start);
    store->Close();
  }
  const double base_writes = static_cast<double>(ids.size() * walk.size() / static_cast<size_t>(threads) *
                                                 static_cast<size_t>(threads));
  RemoveDb(path);
  RemoveDb(path + ".raw");
  std::printf("RESULT name=case_transitions cases=%zu threads=%d window=%d transitions=%.0f seconds=%.3f "
              "transitions_per_s=%.0f failures=%d record_bytes=%.0f raw_store_writes_per_s=%.0f ratio=%.2f\n",
              ids.size(), threads, window, transitions, seconds, transitions / seconds, failures, mean_doc,
              base_writes / base_seconds, (transitions / seconds) / (base_writes / base_seconds));
  return failures == 0 ? 0 : 1;
}

// ---- (b) statistics over a million cases

struct Percentiles {
  double p50, p99;
};
Percentiles Of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  return {at(0.5), at(0.99)};
}

int Stats(const Args& a) {
  const size_t n = static_cast<size_t>(a.Int("cases", 1000000));
  const int queries = static_cast<int>(a.Int("queries", 30));
  const char* depts[] = {"cgj", "szj", "jsj", "yjj", "gaj", "jtj", "xfj"};
  std::vector<std::string> cats, zones;
  for (int i = 0; i < 40; ++i) cats.push_back("c" + std::to_string(i));
  for (int i = 0; i < 500; ++i) zones.push_back("urn:ngsi-ld:Zone:grid-" + std::to_string(i));
  const TimeMs t0 = 1704067200000;  // 2024-01-01
  const TimeMs span = 2LL * 365 * 86400000;
  const TimeMs hour = 3600000;
  cb::cases::CaseStatistics stats;
  std::vector<TimeMs> created(n);
  std::mt19937_64 rng(42);
  const auto build0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    cb::cases::CaseFacts f;
    f.id = i + 1;
    f.department = depts[rng() % 7];
    f.category = cats[rng() % cats.size()];
    f.zone = zones[rng() % zones.size()];
    f.created_at = t0 + static_cast<TimeMs>(rng() % static_cast<uint64_t>(span));
    created[i] = f.created_at;
    const uint64_t r = rng() % 100;
    const TimeMs handle = static_cast<TimeMs>(1 + rng() % 72) * hour;
    auto step = [&](cb::cases::Step s, TimeMs deadline, TimeMs done) {
      f.steps[static_cast<size_t>(s)] = {f.created_at + deadline, done == 0 ? 0 : f.created_at + done};
    };
    step(cb::cases::Step::kAccept, hour / 2, static_cast<TimeMs>(rng() % 60) * 60000);
    step(cb::cases::Step::kDispatch, hour, hour / 2 + static_cast<TimeMs>(rng() % 60) * 60000);
    if (r < 85) {  // resolved
      f.resolved_at = f.created_at + handle;
      step(cb::cases::Step::kHandle, 8 * hour, handle);
      f.reopen_count = r < 5 ? 1 : 0;
      if (r < 75) {
        f.state = cb::cases::CaseState::kClosed;
        f.closed_at = f.resolved_at + static_cast<TimeMs>(rng() % 48) * hour;
        step(cb::cases::Step::kClose, 168 * hour, f.closed_at - f.created_at);
        if (r < 50) f.rating = static_cast<int>(1 + rng() % 5);
      } else {
        f.state = cb::cases::CaseState::kResolved;
        step(cb::cases::Step::kClose, 168 * hour, 0);
      }
    } else {
      f.state = cb::cases::CaseState::kInProgress;
      step(cb::cases::Step::kHandle, 8 * hour, 0);
      step(cb::cases::Step::kClose, 168 * hour, 0);
    }
    stats.Upsert(f);
  }
  const double build_s = Since(build0);
  const TimeMs now = t0 + span;

  std::string out = "RESULT name=case_stats cases=" + std::to_string(n) + " queries=" + std::to_string(queries);
  char buf[256];
  std::snprintf(buf, sizeof buf, " build_s=%.2f", build_s);
  out += buf;
  for (auto [name, g] : {std::pair{"none", cb::cases::GroupBy::kNone}, std::pair{"department", cb::cases::GroupBy::kDepartment},
                         std::pair{"zone", cb::cases::GroupBy::kZone}, std::pair{"month", cb::cases::GroupBy::kMonth}}) {
    std::vector<double> ms;
    uint64_t volume = 0;
    for (int i = 0; i < queries; ++i) {
      const auto q0 = Clock::now();
      cb::cases::StatsQuery q;
      q.group_by = g;
      q.now = now;
      auto r = stats.Query(q);
      ms.push_back(Since(q0) * 1000);
      if (!r.ok()) return 1;
      volume = r->total.volume;
    }
    if (volume != n) {
      std::cerr << "groupBy " << name << " counted " << volume << " cases of " << n << "\n";
      return 1;
    }
    const Percentiles p = Of(ms);
    std::snprintf(buf, sizeof buf, " %s_p50_ms=%.2f %s_p99_ms=%.2f", name, p.p50, name, p.p99);
    out += buf;
  }
  // Baseline: one plain loop summing a field over as many rows.
  std::vector<double> ms;
  volatile int64_t sink = 0;
  for (int i = 0; i < queries; ++i) {
    const auto q0 = Clock::now();
    int64_t sum = 0;
    for (size_t k = 0; k < n; ++k) sum += created[k];
    sink = sink + sum;
    ms.push_back(Since(q0) * 1000);
  }
  const Percentiles base = Of(ms);
  std::snprintf(buf, sizeof buf, " sum_loop_p50_ms=%.3f sum_loop_p99_ms=%.3f", base.p50, base.p99);
  out += buf;
  std::printf("%s\n", out.c_str());
  return 0;
}

// ---- (c) import

int Import(const Args& a) {
  const std::string csv = a.Str("csv", "");
  const std::string mapping_path = a.Str("mapping", "");
  const std::string path = a.Str("db", "cases-import.db");
  const int repeat = static_cast<int>(a.Int("repeat", 5));
  std::ifstream mf(mapping_path, std::ios::binary);
  std::stringstream ms;
  ms << mf.rdbuf();
  auto mj = cb::ParseJson(ms.str());
  if (!mj.ok()) {
    std::cerr << mapping_path << ": " << mj.status().ToString() << "\n";
    return 1;
  }
  auto mapping = cb::cases::CsvMapping::FromJson(*mj);
  if (!mapping.ok()) {
    std::cerr << mapping.status().ToString() << "\n";
    return 1;
  }
  // Baseline: parsing only.
  uint64_t parsed = 0;
  auto p0 = Clock::now();
  for (int i = 0; i < repeat; ++i) {
    auto reader = cb::cases::CsvReader::OpenFile(csv);
    if (!reader.ok()) {
      std::cerr << reader.status().ToString() << "\n";
      return 1;
    }
    std::vector<std::string> fields;
    for (auto more = (*reader)->Next(&fields); !more.ok() || *more; more = (*reader)->Next(&fields)) ++parsed;
  }
  const double parse_s = Since(p0);

  auto store = OpenStore(path);
  cb::cases::CaseBook book(&cb::cases::Catalog::Default(), store.get());
  cb::cases::ImportReport total;
  const TimeMs now = 1767225600000;
  auto i0 = Clock::now();
  for (int i = 0; i < repeat; ++i) {
    auto reader = cb::cases::CsvReader::OpenFile(csv);
    cb::cases::ImportReport report;
    cb::Status st = cb::cases::ImportCsv(
        reader->get(), *mapping, 1000,
        [&](std::vector<cb::cases::ImportedCase> rows) -> cb::Result<size_t> {
          auto ids = book.Import(std::move(rows), now);
          if (!ids.ok()) return ids.status();
          return ids->size();
        },
        &report);
    if (!st.ok()) {
      std::cerr << st.ToString() << "\n";
      return 1;
    }
    total.rows_read += report.rows_read;
    total.imported += report.imported;
    total.skipped += report.skipped;
  }
  const double import_s = Since(i0);
  store->Close();
  RemoveDb(path);
  std::printf("RESULT name=case_import rows=%llu imported=%llu skipped=%llu seconds=%.3f rows_per_s=%.0f "
              "parse_rows=%llu parse_seconds=%.3f parse_rows_per_s=%.0f ratio=%.3f\n",
              static_cast<unsigned long long>(total.rows_read), static_cast<unsigned long long>(total.imported),
              static_cast<unsigned long long>(total.skipped), import_s,
              static_cast<double>(total.rows_read) / import_s, static_cast<unsigned long long>(parsed - repeat),
              parse_s, static_cast<double>(parsed - repeat) / parse_s,
              (static_cast<double>(total.rows_read) / import_s) / (static_cast<double>(parsed - repeat) / parse_s));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cb_cases_bench transitions|stats|import [--key value ...]\n");
    return 2;
  }
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) == 0) k = k.substr(2);
    a.kv[k] = argv[i + 1];
  }
  const std::string mode = argv[1];
  if (mode == "transitions") return Transitions(a);
  if (mode == "stats") return Stats(a);
  if (mode == "import") return Import(a);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
