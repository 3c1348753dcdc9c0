// cb_storage_baseline: the storage limit for the batch-upsert benchmark.
//
// Writes the rows the server writes for a batch upsert of the benchmark workload
// (bench/workload.h) — per entity its whole stored document (binary) appended to the log of
// documents and its head pointed at it (the first time, inserted), and its 8
// attribute instances as history rows, one per run of attributes observed at the same time
// (plus, the first time, its history_entities and 8 history_series rows) — with no HTTP, no JSON
// parsing and no in-memory broker, in batches of B entities:
//
//   --mode sqlite   raw SQLite through its C API: the store's schema (made by migrations.cc),
//                   its pragmas (WAL, 8 KiB pages, 64 MiB cache, wal_autocheckpoint 8192),
//                   one BEGIN IMMEDIATE … COMMIT per batch, synchronous=FULL (--durability
//                   fsync) or NORMAL (process). Single thread. Row text is generated outside
//                   the timed transactions. This is what the issue calls the storage limit.
//   --mode store    the project's store (cb_store: OpenSqliteStore, WriteBatch, group
//                   commit) fed by --conns threads, each submitting one batch and waiting for
//                   it to be durable, like the HTTP connections of the server do.
//   --order random --max-batches N   rounds after the first write N random batches only
//                   (bounds the time of update rounds over a large entity set)
//   --check         compares the rows generated here with the server's own rendering
//                   (cb_context: ParseEntity + EntityToStoreDoc / RenderAttribute).
//
// Prints one "RESULT name=... key=value ..." line per round (round 0 creates the entities,
// later rounds replace them), like cb_loadgen.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "context/ngsi_json.h"
#include "core/json.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "workload.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::map<std::string, std::string> kv;
  std::string Str(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  int64_t Int(const std::string& k, int64_t def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stoll(it->second);
  }
  bool Has(const std::string& k) const { return kv.count(k) != 0; }
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  return v[std::min(v.size() - 1, idx == 0 ? 0 : idx - 1)];
}

void Die(sqlite3* db, int rc, const char* what) {
  std::cerr << "sqlite: " << what << ": " << (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))
            << " (" << rc << ")\n";
  std::exit(1);
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::cerr << "sqlite: " << sql << ": " << (err ? err : "") << "\n";
    std::exit(1);
  }
}


// The rows of one batch, generated before its transaction.
struct BatchRows {
  std::vector<std::string> ids, docs;
  std::vector<std::string> values;  // 8 per entity
  std::vector<int64_t> times;       // 8 per entity
};

// The batches of a round: all of them in order for round 0 (creation); for later rounds in
// random order when --order random, at most --max-batches of them (0: all).
std::vector<uint64_t> RoundBatches(const Args& a, uint64_t count, uint64_t batch, int round) {
  std::vector<uint64_t> starts;
  for (uint64_t s = 0; s < count; s += batch) starts.push_back(s);
  if (round > 0 && a.Str("order", "seq") == "random") {
    std::mt19937_64 rng(static_cast<uint64_t>(round) + 1);
    std::shuffle(starts.begin(), starts.end(), rng);
  }
  const uint64_t max_batches = static_cast<uint64_t>(a.Int("max-batches", 0));
  if (round > 0 && max_batches > 0 && starts.size() > max_batches) starts.resize(max_batches);
  return starts;
}

void MakeRows(uint64_t start, uint64_t end, uint32_t round, int64_t t0, int64_t now,
              BatchRows* b) {
  size_t n = end - start;
  b->ids.resize(n);
  b->docs.resize(n);
  b->values.resize(n * cbbench::kAttrsPerEntity);
  b->times.resize(n * cbbench::kAttrsPerEntity);
  for (size_t j = 0; j < n; ++j) {
    uint64_t i = start + j;
    b->ids[j].clear();
    cbbench::AppendEntityId(&b->ids[j], i);
    b->docs[j].clear();
    cbbench::AppendStoreDoc(&b->docs[j], i, round, t0, now);
    cbbench::Values v = cbbench::ValuesOf(i, round);
    for (int k = 0; k < cbbench::kAttrsPerEntity; ++k) {
      std::string& s = b->values[j * cbbench::kAttrsPerEntity + k];
      s.clear();
      cbbench::AppendHistoryValue(&s, v, k, round, t0);
      b->times[j * cbbench::kAttrsPerEntity + k] = cbbench::HistoryTime(k, round, t0, now);
    }
  }
}

int RunSqlite(const Args& a) {
  const std::string path = a.Str("db", "baseline.db");
  const uint64_t count = a.Int("entities", 100000), batch = a.Int("batch", 100);
  const int rounds = static_cast<int>(a.Int("rounds", 2));
  const bool fsync = a.Str("durability", "fsync") == "fsync";
  const std::string name = a.Str("name", "sqlite");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) Die(db, rc, "open");
  Exec(db, "PRAGMA page_size = 8192");
  Exec(db, "PRAGMA journal_mode = WAL");
  Exec(db, fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  Exec(db,
       "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; "
       "PRAGMA journal_size_limit = 67108864; PRAGMA wal_autocheckpoint = 8192;");
  // The store's own schema, created by the store's own migration code.
  cb::Status migrated = cb::store::MigrateSqliteSchema(db, path);
  if (!migrated.ok()) {
    std::cerr << "schema: " << migrated.ToString() << "\n";
    std::exit(1);
  }

  auto prep = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    int r = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (r != SQLITE_OK) Die(db, r, sql);
    return s;
  };
  sqlite3_stmt* begin = prep("BEGIN IMMEDIATE");
  sqlite3_stmt* commit = prep("COMMIT");
  // The log's compactions, which move current documents from its oldest end, are the
  // store's own work and are left out here.
  sqlite3_stmt* upsert =
      prep("INSERT INTO entity_docs(seq, id, type, doc, modified_at) VALUES(?1, ?2, ?3, ?4, ?5)");
  sqlite3_stmt* new_head = prep("INSERT INTO entity_heads(id, doc_seq) VALUES(?1, ?2)");
  sqlite3_stmt* move_head = prep("UPDATE entity_heads SET doc_seq = ?2 WHERE id = ?1");
  sqlite3_stmt* owner = prep("INSERT INTO history_entities(entity_id) VALUES(?1)");
  sqlite3_stmt* series = prep("INSERT INTO history_series(owner, attr) VALUES(?1, ?2)");
  sqlite3_stmt* hist = prep(
      "INSERT INTO history(seq, epoch, owner, observed_at, instances) VALUES(?1, ?2, ?3, ?4, ?5)");
  sqlite3_stmt* widen = prep(
      "INSERT INTO history_epochs(epoch, min_observed_at, max_observed_at) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(epoch) DO UPDATE SET "
      "min_observed_at = min(min_observed_at, excluded.min_observed_at), "
      "max_observed_at = max(max_observed_at, excluded.max_observed_at)");
  auto step = [&](sqlite3_stmt* s, const char* what) {
    int r = sqlite3_step(s);
    if (r != SQLITE_DONE) Die(db, r, what);
    sqlite3_reset(s);
  };

  // Entity numbers in memory (the store caches them too), 0 until the entity has history.
  std::vector<int64_t> owner_id(count, 0);
  std::string instances;
  int64_t seq = 1;
  int64_t doc_seq = 1;
  const int64_t t0 = NowMs();
  BatchRows rows;
  int failures = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<double> txn_ms;
    double sqlite_s = 0, gen_s = 0;
    auto round_start = Clock::now();
    uint64_t written = 0;
    for (uint64_t s : RoundBatches(a, count, batch, round)) {
      const uint64_t e = std::min(count, s + batch);
      written += e - s;
      auto g0 = Clock::now();
      const int64_t now = NowMs();
      MakeRows(s, e, static_cast<uint32_t>(round), t0, now, &rows);
      auto t_begin = Clock::now();
      gen_s += std::chrono::duration<double>(t_begin - g0).count();
      step(begin, "begin");
      int64_t epoch_min = INT64_MAX, epoch_max = INT64_MIN, epoch = seq >> 20;
      auto flush_epoch = [&] {
        if (epoch_min > epoch_max) return;
        sqlite3_bind_int64(widen, 1, epoch);
        sqlite3_bind_int64(widen, 2, epoch_min);
        sqlite3_bind_int64(widen, 3, epoch_max);
        step(widen, "widen epoch");
        epoch_min = INT64_MAX;
        epoch_max = INT64_MIN;
      };
      for (uint64_t i = s; i < e; ++i) {
        const size_t j = i - s;
        sqlite3_bind_int64(upsert, 1, doc_seq);
        sqlite3_bind_text(upsert, 2, rows.ids[j].data(), static_cast<int>(rows.ids[j].size()),
                          SQLITE_STATIC);
        sqlite3_bind_text(upsert, 3, cbbench::kEntityType.data(),
                          static_cast<int>(cbbench::kEntityType.size()), SQLITE_STATIC);
        sqlite3_bind_text(upsert, 4, rows.docs[j].data(), static_cast<int>(rows.docs[j].size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(upsert, 5, now);
        step(upsert, "append entity document");
        int64_t& oid = owner_id[i];
        sqlite3_stmt* head = oid == 0 ? new_head : move_head;
        sqlite3_bind_text(head, 1, rows.ids[j].data(), static_cast<int>(rows.ids[j].size()),
                          SQLITE_STATIC);
        sqlite3_bind_int64(head, 2, doc_seq++);
        step(head, "point entity head");
        if (oid == 0) {
          sqlite3_bind_text(owner, 1, rows.ids[j].data(), static_cast<int>(rows.ids[j].size()), SQLITE_STATIC);
          step(owner, "insert history entity");
          oid = sqlite3_last_insert_rowid(db);
          for (int k = 0; k < cbbench::kAttrsPerEntity; ++k) {
            sqlite3_bind_int64(series, 1, oid);
            sqlite3_bind_text(series, 2, cbbench::kAttrs[k].name, -1, SQLITE_STATIC);
            step(series, "insert series");
          }
        }
        // One history row per run of attributes observed at the same time, as the store
        // writes them.
        for (int k = 0; k < cbbench::kAttrsPerEntity;) {
          const size_t r0 = j * cbbench::kAttrsPerEntity + k;
          const int64_t t = rows.times[r0];
          instances.clear();
          for (; k < cbbench::kAttrsPerEntity && rows.times[j * cbbench::kAttrsPerEntity + k] == t; ++k) {
            cb::store::AppendHistoryInstance(&instances, cbbench::kAttrs[k].name,
                                             rows.values[j * cbbench::kAttrsPerEntity + k]);
          }
          if ((seq >> 20) != epoch) {
            flush_epoch();
            epoch = seq >> 20;
          }
          sqlite3_bind_int64(hist, 1, seq);
          sqlite3_bind_int64(hist, 2, seq >> 20);
          sqlite3_bind_int64(hist, 3, oid);
          sqlite3_bind_int64(hist, 4, t);
          sqlite3_bind_text(hist, 5, instances.data(), static_cast<int>(instances.size()), SQLITE_STATIC);
          step(hist, "insert history");
          ++seq;
          epoch_min = std::min(epoch_min, t);
          epoch_max = std::max(epoch_max, t);
        }
      }
      flush_epoch();
      step(commit, "commit");
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t_begin).count();
      txn_ms.push_back(ms);
      sqlite_s += ms / 1000.0;
    }
    const double wall_s = std::chrono::duration<double>(Clock::now() - round_start).count();
    const double attrs = double(written) * cbbench::kAttrsPerEntity;
    std::cout << "RESULT name=" << name << "_r" << round << " mode=sqlite entities=" << written
              << " batch=" << batch << " transactions=" << txn_ms.size()
              << " seconds=" << Fmt(sqlite_s, 3) << " wall_s=" << Fmt(wall_s, 3)
              << " gen_s=" << Fmt(gen_s, 3) << " attrs_per_s=" << Fmt(attrs / sqlite_s, 0)
              << " entities_per_s=" << Fmt(written / sqlite_s, 0)
              << " p50_ms=" << Fmt(Percentile(txn_ms, 50), 3)
              << " p99_ms=" << Fmt(Percentile(txn_ms, 99), 3) << " durability="
              << (fsync ? "fsync" : "process") << std::endl;
  }
  for (sqlite3_stmt* s : {begin, commit, upsert, new_head, move_head, owner, series, hist, widen})
    sqlite3_finalize(s);
  sqlite3_close(db);
  std::cerr << "  database: " << std::filesystem::file_size(path) / 1e6 << " MB\n";
  return failures == 0 ? 0 : 1;
}

// The project's store, fed by `conns` threads in a closed loop.
int RunStore(const Args& a) {
  const std::string path = a.Str("db", "baseline-store.db");
  const uint64_t count = a.Int("entities", 100000), batch = a.Int("batch", 100);
  const int rounds = static_cast<int>(a.Int("rounds", 2));
  const int conns = static_cast<int>(a.Int("conns", 8));
  const bool fsync = a.Str("durability", "fsync") == "fsync";
  const std::string name = a.Str("name", "store");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  cb::store::StoreOptions so;
  so.path = path;
  so.durability = fsync ? cb::store::Durability::kFsync : cb::store::Durability::kProcess;
  auto opened = cb::store::OpenSqliteStore(so);
  if (!opened.ok()) {
    std::cerr << opened.status().ToString() << "\n";
    return 1;
  }
  std::unique_ptr<cb::store::Store> store = std::move(opened).value();
  const int64_t t0 = NowMs();
  int failures = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::vector<uint64_t> starts = RoundBatches(a, count, batch, round);
    std::atomic<uint64_t> next{0};
    std::mutex mu;
    std::vector<double> lat_ms;
    std::atomic<int> failed{0};
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < conns; ++c) {
      threads.emplace_back([&] {
        std::vector<double> mine;
        for (;;) {
          uint64_t k = next.fetch_add(1);
          if (k >= starts.size()) break;
          uint64_t s = starts[k];
          uint64_t e = std::min(count, s + batch);
          const int64_t now = NowMs();
          cb::store::WriteBatch wb;
          wb.put_entities.reserve(e - s);
          wb.history.reserve((e - s) * cbbench::kAttrsPerEntity);
          auto t_submit = Clock::now();
          for (uint64_t i = s; i < e; ++i) {
            cb::store::EntityRow row;
            cbbench::AppendEntityId(&row.id, i);
            row.type = std::string(cbbench::kEntityType);
            cbbench::AppendStoreDoc(&row.doc, i, static_cast<uint32_t>(round), t0, now);
            row.modified_at = now;
            cbbench::Values v = cbbench::ValuesOf(i, static_cast<uint32_t>(round));
            for (int k = 0; k < cbbench::kAttrsPerEntity; ++k) {
              cb::store::HistoryRow h;
              h.entity_id = row.id;
              h.attr = cbbench::kAttrs[k].name;
              h.observed_at = cbbench::HistoryTime(k, static_cast<uint32_t>(round), t0, now);
              cbbench::AppendHistoryValue(&h.value, v, k, static_cast<uint32_t>(round), t0);
              wb.history.push_back(std::move(h));
            }
            wb.put_entities.push_back(std::move(row));
          }
          cb::Status st = store->SubmitSync(std::move(wb));
          if (!st.ok()) {
            if (failed.fetch_add(1) == 0) std::cerr << "  store: " << st.ToString() << "\n";
          }
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t_submit).count());
        }
        std::lock_guard l(mu);
        lat_ms.insert(lat_ms.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    uint64_t written = 0;
    for (uint64_t s : starts) written += std::min(count, s + batch) - s;
    const double attrs = double(written) * cbbench::kAttrsPerEntity;
    cb::store::StoreStats stats = store->Stats();
    std::cout << "RESULT name=" << name << "_r" << round << " mode=store entities=" << written
              << " batch=" << batch << " conns=" << conns << " seconds=" << Fmt(secs, 3)
              << " attrs_per_s=" << Fmt(attrs / secs, 0) << " entities_per_s=" << Fmt(written / secs, 0)
              << " p50_ms=" << Fmt(Percentile(lat_ms, 50), 3)
              << " p99_ms=" << Fmt(Percentile(lat_ms, 99), 3) << " commits_total=" << stats.commits
              << " failed=" << failed.load() << " durability=" << (fsync ? "fsync" : "process")
              << std::endl;
    failures += failed.load();
  }
  store->Close();
  return failures == 0 ? 0 : 1;
}

// The rows generated here must be those the server would store.
int RunCheck() {
  const int64_t t0 = 1714557600000;  // 2024-05-01T10:00:00Z
  const int64_t now = t0 + 12345;
  int bad = 0;
  for (uint64_t i : {0ull, 1ull, 42ull, 99999ull, 999999ull}) {
    for (uint32_t round : {0u, 1u, 7u}) {
      std::string in;
      cbbench::AppendEntityJson(&in, i, round, t0);
      auto json = cb::ParseJson(in);
      if (!json.ok()) {
        std::cerr << "check: request does not parse: " << in << "\n";
        return 1;
      }
      auto e = cb::context::ParseEntity(*json, true);
      if (!e.ok()) {
        std::cerr << "check: server refuses the entity: " << e.status().ToString() << "\n";
        return 1;
      }
      e->created_at = e->modified_at = now;
      for (auto& na : e->attrs) {
        cb::context::Attribute& a = na.attr.Mutable();
        a.created_at = a.modified_at = now;
      }
      std::string server_doc = cb::context::EntityToStoreDoc(*e);
      std::string mine;
      cbbench::AppendStoreDoc(&mine, i, round, t0, now);
      if (server_doc != mine) {
        size_t at = 0;
        while (at < server_doc.size() && at < mine.size() && server_doc[at] == mine[at]) ++at;
        std::cerr << "check: documents of entity " << i << " round " << round
                  << " differ from byte " << at << " (server " << server_doc.size()
                  << " bytes, bench " << mine.size() << ")\n";
        ++bad;
      }
      cbbench::Values v = cbbench::ValuesOf(i, round);
      for (int k = 0; k < cbbench::kAttrsPerEntity; ++k) {
        std::string server_value;
        cb::JsonWriter w(&server_value);
        cb::context::RenderOptions o;
        o.sys_attrs = false;
        cb::context::RenderAttribute(e->Find(cbbench::kAttrs[k].name) ? *e->Find(cbbench::kAttrs[k].name)
                                                                      : cb::context::Attribute{},
                                     o, &w);
        std::string value;
        cbbench::AppendHistoryValue(&value, v, k, round, t0);
        if (server_value != value) {
          std::cerr << "check: history values differ\n server: " << server_value
                    << "\n bench:  " << value << "\n";
          ++bad;
        }
      }
    }
  }
  std::string sample;
  cbbench::AppendEntityJson(&sample, 42, 1, t0);
  std::string doc;
  cbbench::AppendStoreDoc(&doc, 42, 1, t0, now);
  std::cout << "RESULT name=check ok=" << (bad == 0 ? 1 : 0) << " request_entity_bytes=" << sample.size()
            << " stored_doc_bytes=" << doc.size() << std::endl;
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || k == "--help") {
      (k == "--help" ? std::cout : std::cerr)
          << "usage: cb_storage_baseline --mode sqlite|store [--db PATH] [--entities N] "
             "[--batch B] [--rounds R] [--conns C] [--order seq|random] [--max-batches N] "
             "[--durability fsync|process] [--name LABEL] | --check\n"
             "The storage limit of the benchmarks (bench/run.sh): the same rows as the "
             "batch upserts, written by raw SQLite (sqlite) or by CityBrain's store (store).\n";
      return k == "--help" ? 0 : 2;
    }
    k = k.substr(2);
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      a.kv[k] = argv[++i];
    } else {
      a.kv[k] = "1";
    }
  }
  if (a.Has("check")) return RunCheck();
  std::string mode = a.Str("mode", "sqlite");
  if (mode == "sqlite") return RunSqlite(a);
  if (mode == "store") return RunStore(a);
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
