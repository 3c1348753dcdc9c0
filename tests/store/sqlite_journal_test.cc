// The store's journal: the payload encoding, replay of committed frames the database does
// not hold yet (from "crash images": the files of a store whose applier was held, copied
// aside), torn and damaged frames, segment cleanup, and what the applier does with many
// frames at once.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/sqlite/journal.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store_test_util.h"

namespace cb::store {
namespace {

using testing::Batch;
using testing::Entity;
using testing::ExpectOpened;
using testing::Hist;
using testing::Query;
using testing::StoreTest;
using testing::SubmitForStatus;
namespace fs = std::filesystem;

std::string RandomText(std::mt19937& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

WriteBatch RandomBatch(std::mt19937& rng) {
  std::uniform_int_distribution<int> n(0, 3);
  WriteBatch b;
  for (int i = n(rng); i > 0; --i) b.delete_entities.push_back(RandomText(rng, 20));
  for (int i = n(rng); i > 0; --i) b.delete_records.push_back({RandomText(rng, 5), RandomText(rng, 5), ""});
  for (int i = n(rng); i > 0; --i) {
    b.put_entities.push_back(
        {RandomText(rng, 20), RandomText(rng, 10), RandomText(rng, 300), static_cast<TimeMs>(rng())});
  }
  for (int i = n(rng); i > 0; --i) {
    b.history.push_back({RandomText(rng, 20), RandomText(rng, 10), -static_cast<TimeMs>(rng()),
                         RandomText(rng, 100)});
  }
  for (int i = n(rng); i > 0; --i) {
    b.put_records.push_back({RandomText(rng, 5), RandomText(rng, 5), RandomText(rng, 50)});
  }
  return b;
}

bool SameBatch(const WriteBatch& a, const WriteBatch& b) {
  auto same_rows = [](const EntityRow& x, const EntityRow& y) {
    return x.id == y.id && x.type == y.type && x.doc == y.doc && x.modified_at == y.modified_at;
  };
  auto same_hist = [](const HistoryRow& x, const HistoryRow& y) {
    return x.entity_id == y.entity_id && x.attr == y.attr && x.observed_at == y.observed_at &&
           x.value == y.value;
  };
  auto same_rec = [](const Record& x, const Record& y) {
    return x.kind == y.kind && x.key == y.key && x.doc == y.doc;
  };
  auto same_del = [](const Record& x, const Record& y) { return x.kind == y.kind && x.key == y.key; };
  return a.delete_entities == b.delete_entities &&
         std::equal(a.delete_records.begin(), a.delete_records.end(), b.delete_records.begin(),
                    b.delete_records.end(), same_del) &&
         std::equal(a.put_entities.begin(), a.put_entities.end(), b.put_entities.begin(),
                    b.put_entities.end(), same_rows) &&
         std::equal(a.history.begin(), a.history.end(), b.history.begin(), b.history.end(),
                    same_hist) &&
         std::equal(a.put_records.begin(), a.put_records.end(), b.put_records.begin(),
                    b.put_records.end(), same_rec);
}

TEST(JournalEncodingTest, RandomBatchesRoundTrip) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<WriteBatch> batches;
    for (int i = static_cast<int>(rng() % 5); i > 0; --i) batches.push_back(RandomBatch(rng));
    std::vector<const WriteBatch*> ptrs;
    for (const WriteBatch& b : batches) ptrs.push_back(&b);
    std::string payload;
    EncodeBatches(ptrs, &payload);
    std::vector<WriteBatch> back;
    ASSERT_TRUE(DecodeBatches(payload, &back).ok());
    ASSERT_EQ(back.size(), batches.size());
    for (size_t i = 0; i < batches.size(); ++i) EXPECT_TRUE(SameBatch(back[i], batches[i])) << i;
    // Any cut or any extra byte is refused, never read past.
    if (!payload.empty()) {
      const size_t cut = rng() % payload.size();
      std::vector<WriteBatch> partial;
      EXPECT_FALSE(DecodeBatches(std::string_view(payload).substr(0, cut), &partial).ok()) << cut;
    }
    std::vector<WriteBatch> extra;
    EXPECT_FALSE(DecodeBatches(payload + "x", &extra).ok());
  }
}

TEST(JournalEncodingTest, HugeCountsInDamagedPayloadsAreRefused) {
  std::string payload(4, '\xff');  // 4 billion batches in 4 bytes
  std::vector<WriteBatch> out;
  EXPECT_FALSE(DecodeBatches(payload, &out).ok());
}

// The bytes of a frame header, and of the end marker written after each frame (journal.h).
constexpr size_t kHeaderBytes = 20;
constexpr size_t kEndMarkerBytes = kHeaderBytes;

// The journal on its own: frames appended, dropped, and read back by a later Open.
class JournalReuseTest : public ::testing::Test {
 protected:
  std::string Db() const { return dir_.path() + "/j.db"; }
  std::unique_ptr<Journal> OpenJournal(uint64_t applied, std::vector<JournalFrame>* replay) {
    JournalOptions o;
    o.database_path = Db();
    o.segment_bytes = 400;
    auto j = Journal::Open(o, applied, replay);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }
  size_t Files(const std::string& infix) const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      n += e.path().filename().string().find(infix) != std::string::npos;
    }
    return n;
  }
  static std::string Payload(uint64_t number, size_t bytes) {
    std::string p = "frame " + std::to_string(number) + " ";
    p.resize(std::max(bytes, p.size()), 'x');
    return p;
  }
  testing::TempDir dir_;
};

TEST_F(JournalReuseTest, DroppedSegmentsAreReusedAndTheirOldFramesNeverReadAgain) {
  std::vector<JournalFrame> replay;
  auto j = OpenJournal(0, &replay);
  ASSERT_NE(j, nullptr);
  // Long frames first: the reused files hold more old bytes than the new frames cover.
  for (uint64_t n = 1; n <= 30; ++n) ASSERT_EQ(*j->Append(Payload(n, 150)), n);
  j->DropThrough(30);
  EXPECT_EQ(Files("-spare-"), 2u);  // two kept, the rest deleted
  for (uint64_t n = 31; n <= 60; ++n) ASSERT_EQ(*j->Append(Payload(n, 20)), n);
  EXPECT_EQ(Files("-spare-"), 0u);  // both became segments again
  j.reset();
  // Frames 31..60 are read back exactly; none of the old ones after them.
  j = OpenJournal(30, &replay);
  ASSERT_NE(j, nullptr);
  ASSERT_EQ(replay.size(), 30u);
  for (uint64_t n = 31; n <= 60; ++n) {
    EXPECT_EQ(replay[n - 31].number, n);
    EXPECT_EQ(replay[n - 31].payload, Payload(n, 20));
  }
  EXPECT_EQ(j->next_number(), 61u);
}

// Frames of every size, those written in two parts (over 64 KiB) among them, in new and
// reused files, read back exactly, with and without sync.
TEST_F(JournalReuseTest, FramesOfEverySizeReadBackExactly) {
  for (const bool sync : {true, false}) {
    SCOPED_TRACE(::testing::Message() << "sync " << sync);
    testing::TempDir dir;
    JournalOptions o;
    o.database_path = dir.path() + "/j.db";
    o.segment_bytes = 64 << 10;
    o.sync = sync;
    std::vector<JournalFrame> replay;
    auto j = Journal::Open(o, 0, &replay);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    std::mt19937 rng(11);
    std::vector<std::string> written;
    auto append = [&](size_t bytes) {
      std::string p = Payload(written.size() + 1, bytes);
      for (size_t i = 0; i < p.size(); i += 7) p[i] = static_cast<char>(rng());
      ASSERT_EQ(*(*j)->Append(p), written.size() + 1);
      written.push_back(std::move(p));
    };
    // Small and odd sizes, sizes around the 64 KiB of one write, and a large one.
    for (int i = 0; i < 60; ++i) append(rng() % 300);
    for (size_t b : {size_t{65536} - 1, size_t{65536}, size_t{65537}, size_t{4} << 20}) {
      append(b);
    }
    for (int i = 0; i < 200; ++i) append(rng() % 9000);
    // Drop the first half so that later segments reuse those files, then write more.
    const uint64_t dropped = written.size() / 2;
    (*j)->DropThrough(dropped);
    for (int i = 0; i < 200; ++i) append(rng() % 700);
    j->reset();
    auto again = Journal::Open(o, dropped, &replay);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ASSERT_EQ(replay.size(), written.size() - dropped);
    for (size_t i = 0; i < replay.size(); ++i) {
      ASSERT_EQ(replay[i].number, dropped + i + 1);
      ASSERT_EQ(replay[i].payload, written[dropped + i]) << "frame " << replay[i].number;
    }
  }
}

TEST_F(JournalReuseTest, SparesLeftByAnEarlierProcessAreReused) {
  std::vector<JournalFrame> replay;
  auto j = OpenJournal(0, &replay);
  for (uint64_t n = 1; n <= 20; ++n) ASSERT_TRUE(j->Append(Payload(n, 150)).ok());
  j->DropThrough(20);
  j.reset();
  ASSERT_EQ(Files("-spare-"), 2u);
  j = OpenJournal(20, &replay);  // the new segment it opens is one of the spares
  ASSERT_NE(j, nullptr);
  EXPECT_TRUE(replay.empty());
  EXPECT_EQ(Files("-spare-"), 1u);
  ASSERT_TRUE(j->Append(Payload(21, 10)).ok());
  j.reset();
  j = OpenJournal(20, &replay);
  ASSERT_EQ(replay.size(), 1u);
  EXPECT_EQ(replay[0].payload, Payload(21, 10));
}

TEST_F(JournalReuseTest, ATornFrameInAReusedSegmentEndsTheJournal) {
  std::vector<JournalFrame> replay;
  auto j = OpenJournal(0, &replay);
  for (uint64_t n = 1; n <= 30; ++n) ASSERT_TRUE(j->Append(Payload(n, 150)).ok());
  j->DropThrough(30);
  for (uint64_t n = 31; n <= 33; ++n) ASSERT_TRUE(j->Append(Payload(n, 20)).ok());
  j.reset();
  // Damage the last frame's payload in place (a torn write over the old bytes).
  std::string last;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    const std::string name = e.path().filename().string();
    if (name.find("-log-") != std::string::npos && name > fs::path(last).filename().string()) {
      last = e.path().string();
    }
  }
  ASSERT_FALSE(last.empty());
  {
    std::fstream f(last, std::ios::in | std::ios::out | std::ios::binary);
    const auto frame = static_cast<std::streamoff>(kHeaderBytes + 20);  // 20-byte payloads
    f.seekp(2 * frame + static_cast<std::streamoff>(kHeaderBytes) + 3);  // frame 33's payload
    f.put('#');
  }
  j = OpenJournal(30, &replay);
  ASSERT_NE(j, nullptr);
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[1].number, 32u);
  EXPECT_EQ(j->next_number(), 33u);  // the torn frame was never acknowledged: its number is reused
}

// Holds the applier while closed (SqliteTuning::before_apply), so committed frames stay in
// the journal only. Thread-safety: Hook() runs on the applier; Open() on the test thread.
class ApplyGate {
 public:
  std::function<void()> Hook() {
    return [state = state_] {
      std::unique_lock<std::mutex> lock(state->mu);
      state->cv.wait(lock, [&] { return state->open; });
    };
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->open = true;
    }
    state_->cv.notify_all();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

class SqliteJournalTest : public StoreTest {
 protected:
  std::string ImageDir() const { return dir_.path() + "/image"; }
  std::string ImagePath() const { return ImageDir() + "/city.db"; }

  std::unique_ptr<Store> Open(const std::string& path, Durability durability,
                              std::function<void()> before_apply = nullptr,
                              size_t segment_bytes = size_t{64} << 20,
                              size_t max_queue_rows = StoreOptions().max_queue_rows,
                              size_t max_unapplied_rows = StoreOptions().max_unapplied_rows) {
    StoreOptions options;
    options.path = path;
    options.durability = durability;
    options.max_queue_rows = max_queue_rows;
    options.max_unapplied_rows = max_unapplied_rows;
    // Every group goes through the journal: a direct group would wait for a held applier.
    options.direct_group_rows = std::numeric_limits<size_t>::max();
    // Applies come from the row count, the timer and reads only (the idle apply has its
    // own tests below).
    options.apply_when_idle_ms = 0;
    SqliteTuning tuning;
    tuning.before_apply = std::move(before_apply);
    tuning.journal_segment_bytes = segment_bytes;
    return ExpectOpened(OpenSqliteStoreWithTuning(options, tuning));
  }

  // The journal segments of the database at `path`, oldest first.
  static std::vector<std::string> Segments(const std::string& path) {
    std::vector<std::string> out;
    const std::string prefix = fs::path(path).filename().string() + "-log-";
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
      const std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Copies the files of the store at DbPath() (database, WAL, journal) to ImageDir(): what
  // a machine that stopped at this moment would find on its disk.
  void TakeImage() {
    fs::create_directories(ImageDir());
    for (const auto& e : fs::directory_iterator(dir_.path())) {
      const std::string name = e.path().filename().string();
      if (name.rfind("city.db", 0) == 0 && name.find("-shm") == std::string::npos) {
        fs::copy_file(e.path(), ImageDir() + "/" + name, fs::copy_options::overwrite_existing);
      }
    }
  }

  // Writes `n` batches to a store whose applier is held, takes the image, and closes.
  // Batch i puts entity urn:e<i> and one history row; returns nothing, all are acknowledged.
  void WriteHeldAndImage(size_t n, size_t segment_bytes = size_t{64} << 20) {
    ApplyGate gate;
    auto store = Open(DbPath(), Durability::kFsync, gate.Hook(), segment_bytes);
    ASSERT_NE(store, nullptr);
    for (size_t i = 0; i < n; ++i) {
      const std::string id = "urn:e" + std::to_string(i);
      ASSERT_TRUE(store->SubmitSync(Batch()
                                        .Put(Entity(id, "T", "{\"n\":" + std::to_string(i) + "}",
                                                    static_cast<TimeMs>(i)))
                                        .Add(Hist(id, "n", static_cast<TimeMs>(i), std::to_string(i))))
                      .ok());
    }
    TakeImage();
    gate.Open();
  }

  static std::map<std::string, std::string> Docs(Store& store) {
    std::map<std::string, std::string> docs;
    EXPECT_TRUE(store.ScanEntities([&](EntityRow&& e) { docs[e.id] = e.doc; }).ok());
    return docs;
  }
};

TEST_F(SqliteJournalTest, CommittedFramesTheDatabaseLacksAreReplayedAtOpen) {
  WriteHeldAndImage(50);
  auto image = Open(ImagePath(), Durability::kFsync);
  ASSERT_NE(image, nullptr);
  auto docs = Docs(*image);
  ASSERT_EQ(docs.size(), 50u);
  EXPECT_EQ(docs["urn:e49"], "{\"n\":49}");
  auto h = image->QueryHistory(Query("urn:e7"));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].value, "7");
  // Replayed frames are in the database: their segments are gone, one fresh one is left.
  EXPECT_EQ(Segments(ImagePath()).size(), 1u);
  // And a second open replays nothing twice.
  image.reset();
  image = Open(ImagePath(), Durability::kFsync);
  EXPECT_EQ(Docs(*image).size(), 50u);
  auto again = image->QueryHistory(Query("urn:e7"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 1u);
}

TEST_F(SqliteJournalTest, ATornLastFrameIsIgnoredAndTheRestReplayed) {
  WriteHeldAndImage(20);
  auto segments = Segments(ImagePath());
  ASSERT_EQ(segments.size(), 1u);
  const auto size = fs::file_size(segments[0]);
  // The last frame lost its last bytes (and the end marker written after it).
  fs::resize_file(segments[0], size - kEndMarkerBytes - 3);
  auto image = Open(ImagePath(), Durability::kFsync);
  ASSERT_NE(image, nullptr);
  auto docs = Docs(*image);
  EXPECT_EQ(docs.size(), 19u);
  EXPECT_EQ(docs.count("urn:e19"), 0u);
  // Writing goes on after the torn frame.
  ASSERT_TRUE(image->SubmitSync(Batch().Put(Entity("urn:after", "T", "{}", 1))).ok());
  image.reset();
  image = Open(ImagePath(), Durability::kFsync);
  EXPECT_EQ(Docs(*image).size(), 20u);
}

TEST_F(SqliteJournalTest, GarbageAfterTheLastFrameIsIgnored) {
  WriteHeldAndImage(5);
  auto segments = Segments(ImagePath());
  ASSERT_EQ(segments.size(), 1u);
  {
    std::ofstream out(segments[0], std::ios::app | std::ios::binary);
    out << std::string(100, '\0') << "garbage";
  }
  auto image = Open(ImagePath(), Durability::kFsync);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(Docs(*image).size(), 5u);
}

TEST_F(SqliteJournalTest, DamageBeforeTheLastSegmentRefusesToOpen) {
  WriteHeldAndImage(40, /*segment_bytes=*/300);
  auto segments = Segments(ImagePath());
  ASSERT_GE(segments.size(), 3u);
  {
    std::fstream f(segments[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('X');  // inside the first frame's payload
  }
  StoreOptions options;
  options.path = ImagePath();
  auto opened = OpenSqliteStore(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kInternal);
  EXPECT_NE(opened.status().message().find("damaged"), std::string::npos)
      << opened.status().message();
}

TEST_F(SqliteJournalTest, AMissingSegmentRefusesToOpen) {
  WriteHeldAndImage(40, /*segment_bytes=*/300);
  auto segments = Segments(ImagePath());
  ASSERT_GE(segments.size(), 3u);
  fs::remove(segments[1]);
  StoreOptions options;
  options.path = ImagePath();
  auto opened = OpenSqliteStore(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("missing"), std::string::npos)
      << opened.status().message();
}

TEST_F(SqliteJournalTest, ManySegmentsReplayInOrder) {
  WriteHeldAndImage(60, /*segment_bytes=*/500);
  ASSERT_GE(Segments(ImagePath()).size(), 5u);
  auto image = Open(ImagePath(), Durability::kFsync);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(Docs(*image).size(), 60u);
}

TEST_F(SqliteJournalTest, AppliedSegmentsAreDeleted) {
  ApplyGate gate;
  auto store = Open(DbPath(), Durability::kProcess, gate.Hook(), /*segment_bytes=*/1000);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:e" + std::to_string(i), "T",
                                                     std::string(100, 'x'), 1)))
                    .ok());
  }
  EXPECT_GT(Segments(DbPath()).size(), 5u);  // not applied yet
  gate.Open();
  EXPECT_EQ(Docs(*store).size(), 200u);  // a read applies everything
  // The applier deletes the segments it applied (right after committing, on its thread).
  for (int i = 0; i < 500 && Segments(DbPath()).size() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Segments(DbPath()).size(), 1u);
  EXPECT_GE(store->Stats().applies, 1u);
  EXPECT_EQ(store->Stats().unapplied_rows, 0u);
}

TEST_F(SqliteJournalTest, ManyPutsOfAnEntityApplyAsItsLast) {
  ApplyGate gate;
  auto store = Open(DbPath(), Durability::kProcess, gate.Hook());
  std::vector<std::future<Status>> done;
  // Frames with puts, deletes and re-creations of the same entities, applied together.
  for (int i = 0; i < 300; ++i) {
    Batch b;
    b.Put(Entity("urn:a", "T", "a" + std::to_string(i), i));
    if (i % 50 == 10) b.Delete("urn:b");
    if (i % 50 != 10) b.Put(Entity("urn:b", "T", "b" + std::to_string(i), i));
    if (i == 299) b.Delete("urn:c");
    if (i < 299) b.Put(Entity("urn:c", "T", "c" + std::to_string(i), i));
    b.Add(Hist("urn:a", "n", i, std::to_string(i)));
    done.push_back(SubmitForStatus(*store, std::move(b)));
  }
  for (auto& f : done) ASSERT_TRUE(f.get().ok());
  gate.Open();
  auto docs = Docs(*store);
  EXPECT_EQ(docs, (std::map<std::string, std::string>{{"urn:a", "a299"}, {"urn:b", "b299"}}));
  auto h = store->QueryHistory(Query("urn:a").LastN(1000));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 300u);
  EXPECT_LE(store->Stats().applies, 2u);  // the frame the applier held, then all the rest
}

TEST_F(SqliteJournalTest, BackPressureCountsRowsNotYetApplied) {
  ApplyGate gate;
  auto store = Open(DbPath(), Durability::kProcess, gate.Hook(), size_t{64} << 20,
                    /*max_queue_rows=*/10);
  Status refused;
  int accepted = 0;
  for (int i = 0; i < 20 && refused.ok(); ++i) {
    refused = store->SubmitSync(Batch().Put(Entity("urn:e" + std::to_string(i), "T", "{}", 1)));
    if (refused.ok()) ++accepted;
  }
  EXPECT_EQ(refused.code(), Code::kTooManyRequests);
  EXPECT_GE(accepted, 9);
  EXPECT_LE(accepted, 11);
  gate.Open();
  EXPECT_EQ(Docs(*store).size(), static_cast<size_t>(accepted));
  EXPECT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:later", "T", "{}", 1))).ok());
}

TEST_F(SqliteJournalTest, ABehindApplierSlowsAcknowledgementsInsteadOfRefusing) {
  ApplyGate gate;
  auto store = Open(DbPath(), Durability::kProcess, gate.Hook(), size_t{64} << 20,
                    StoreOptions().max_queue_rows, /*max_unapplied_rows=*/5);
  Batch big;
  for (int i = 0; i < 10; ++i) big.Put(Entity("urn:e" + std::to_string(i), "T", "{}", 1));
  ASSERT_TRUE(store->SubmitSync(std::move(big)).ok());  // 10 rows wait for the applier
  std::future<Status> next =
      SubmitForStatus(*store, Batch().Put(Entity("urn:next", "T", "{}", 1)));
  EXPECT_EQ(next.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  gate.Open();
  EXPECT_TRUE(next.get().ok());
  EXPECT_EQ(Docs(*store).size(), 11u);
}

TEST_F(SqliteJournalTest, ALargeGroupIsAppliedDirectlyInOrder) {
  StoreOptions options;
  options.path = DbPath();
  options.durability = Durability::kFsync;
  options.direct_group_rows = 100;
  auto store = ExpectOpened(OpenSqliteStore(options));
  // Small groups go to the journal; the large one skips it but is applied after them.
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:x", "T", "small-1", 1))).ok());
  const auto journal_bytes = [&] {
    uintmax_t total = 0;
    for (const std::string& seg : Segments(DbPath())) total += fs::file_size(seg);
    return total;
  };
  const uintmax_t before = journal_bytes();
  Batch big;
  for (int i = 0; i < 150; ++i) big.Put(Entity("urn:big" + std::to_string(i), "T", "{}", 1));
  big.Put(Entity("urn:x", "T", "big", 2));
  ASSERT_TRUE(store->SubmitSync(std::move(big)).ok());
  EXPECT_EQ(journal_bytes(), before);
  // Acknowledged means in the database already: another connection sees it.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(DbPath().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT d.doc FROM entity_heads h JOIN entity_docs d ON d.seq = h.doc_seq "
                               "WHERE h.id = 'urn:x'", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "big");
  sqlite3_finalize(q);
  sqlite3_close(raw);
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:x", "T", "small-2", 3))).ok());
  auto docs = Docs(*store);
  EXPECT_EQ(docs.size(), 151u);
  EXPECT_EQ(docs["urn:x"], "small-2");
  EXPECT_EQ(store->Stats().commits, 3u);
  // After a restart, nothing is lost and nothing replayed twice.
  store.reset();
  store = ExpectOpened(OpenSqliteStore(options));
  docs = Docs(*store);
  EXPECT_EQ(docs.size(), 151u);
  EXPECT_EQ(docs["urn:x"], "small-2");
}

TEST_F(SqliteJournalTest, ReadsWaitForAcknowledgedWrites) {
  auto store = Open(DbPath(), Durability::kProcess);
  // The applier would wait a second (apply_after_ms); each read asks it to apply at once.
  for (int i = 0; i < 30; ++i) {
    const std::string id = "urn:r" + std::to_string(i);
    ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity(id, "T", "{}", 1)).Add(Hist(id, "x", i, "v"))).ok());
    auto h = store->QueryHistory(Query(id));
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->size(), 1u) << i;
  }
  EXPECT_EQ(Docs(*store).size(), 30u);
}

// Opens a store whose timer would wait a minute, so only the idle rule (or nothing) applies.
std::unique_ptr<Store> OpenWithIdle(const std::string& path, int idle_ms) {
  StoreOptions options;
  options.path = path;
  options.durability = Durability::kProcess;
  options.direct_group_rows = std::numeric_limits<size_t>::max();
  options.apply_after_ms = 60000;
  options.apply_when_idle_ms = idle_ms;
  return ExpectOpened(OpenSqliteStoreWithTuning(options, SqliteTuning{}));
}

// Polls the store's stats until `pred` holds or `limit` passes.
bool StatsReach(Store& store, const std::function<bool(const StoreStats&)>& pred,
                std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (pred(store.Stats())) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST_F(SqliteJournalTest, WritesAreAppliedOnceTheyPause) {
  auto store = OpenWithIdle(DbPath(), 20);
  for (int i = 0; i < 5; ++i) {
    const std::string id = "urn:i" + std::to_string(i);
    ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity(id, "T", "{}", 1)).Add(Hist(id, "x", i, "v"))).ok());
  }
  // No read asks for them and the timer is a minute away: only the pause applies them.
  EXPECT_TRUE(StatsReach(
      *store, [](const StoreStats& s) { return s.unapplied_rows == 0 && s.rows_applied == 10; },
      std::chrono::seconds(30)));
}

TEST_F(SqliteJournalTest, IdleApplyCanBeTurnedOff) {
  auto store = OpenWithIdle(DbPath(), 0);
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:o", "T", "{}", 1))).ok());
  // Nothing but the minute's timer (or a read) would apply it: it is still waiting.
  EXPECT_FALSE(StatsReach(
      *store, [](const StoreStats& s) { return s.unapplied_rows == 0; },
      std::chrono::milliseconds(300)));
  EXPECT_EQ(store->Stats().applies, 0u);
  EXPECT_EQ(Docs(*store).size(), 1u);  // a read still sees it
}


// ---------------------------------------------------------------- deferred entity documents

// The documents in the database file itself (not through the store, which would first
// write the deferred ones).
std::map<std::string, std::string> DocsOnDisk(const std::string& path) {
  std::map<std::string, std::string> docs;
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, "SELECT h.id, d.doc FROM entity_heads h JOIN entity_docs d ON d.seq = h.doc_seq",
                               -1, &q, nullptr), SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    docs[reinterpret_cast<const char*>(sqlite3_column_text(q, 0))] =
        reinterpret_cast<const char*>(sqlite3_column_text(q, 1));
  }
  sqlite3_finalize(q);
  sqlite3_close(raw);
  return docs;
}

class DeferredDocsTest : public SqliteJournalTest {
 protected:
  // Documents wait `defer_ms` (or until they hold `max_bytes`); nothing applies by itself
  // for a minute (no idle rule): reads decide when frames are applied.
  std::unique_ptr<Store> OpenDeferring(const std::string& path, int defer_ms,
                                       size_t max_bytes = StoreOptions().max_deferred_doc_bytes) {
    StoreOptions options;
    options.path = path;
    options.durability = Durability::kFsync;
    options.direct_group_rows = std::numeric_limits<size_t>::max();
    options.apply_after_ms = 60000;
    options.apply_when_idle_ms = 0;
    options.defer_docs_ms = defer_ms;
    options.max_deferred_doc_bytes = max_bytes;
    return ExpectOpened(OpenSqliteStoreWithTuning(options, SqliteTuning{}));
  }
  static std::string Doc(int i, int version) {
    return "{\"n\":" + std::to_string(i) + ",\"v\":" + std::to_string(version) + "}";
  }
  // Puts urn:e<i> (document version `version`) with one history row, for i in [0, n).
  static void PutAll(Store& store, int n, int version) {
    for (int i = 0; i < n; ++i) {
      const std::string id = "urn:e" + std::to_string(i);
      ASSERT_TRUE(store.SubmitSync(Batch()
                                       .Put(Entity(id, "T", Doc(i, version), version))
                                       .Add(Hist(id, "v", version * 1000 + i, Doc(i, version))))
                      .ok());
    }
  }
};

TEST_F(DeferredDocsTest, AnApplyWritesHistoryAndKeepsTheDocumentsForLater) {
  auto store = OpenDeferring(DbPath(), 3600 * 1000);
  PutAll(*store, 20, 1);
  PutAll(*store, 20, 2);
  // A history read applies every frame: the history is in the database, the documents not.
  auto h = store->QueryHistory(Query("urn:e3").LastN(10));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ(store->Stats().unapplied_rows, 0u);
  EXPECT_EQ(store->Stats().deferred_docs, 20u);  // each entity's newest, once
  EXPECT_TRUE(DocsOnDisk(DbPath()).empty());
  // A read of the entities writes them first.
  auto docs = Docs(*store);
  ASSERT_EQ(docs.size(), 20u);
  EXPECT_EQ(docs["urn:e3"], Doc(3, 2));
  EXPECT_EQ(store->Stats().deferred_docs, 0u);
  EXPECT_EQ(DocsOnDisk(DbPath()), docs);
}

TEST_F(DeferredDocsTest, AStopWithDocumentsDeferredReplaysThemButNotTheirHistory) {
  {
    auto store = OpenDeferring(DbPath(), 3600 * 1000);
    PutAll(*store, 30, 1);
    PutAll(*store, 30, 2);
    ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());  // history applied
    ASSERT_EQ(store->Stats().deferred_docs, 30u);
    TakeImage();  // what a machine stopping now would keep: documents only in the journal
    EXPECT_TRUE(DocsOnDisk(ImagePath()).empty());
  }
  auto image = OpenDeferring(ImagePath(), 3600 * 1000);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->Stats().deferred_docs, 0u);  // the replay wrote them
  auto docs = DocsOnDisk(ImagePath());
  ASSERT_EQ(docs.size(), 30u);
  EXPECT_EQ(docs["urn:e29"], Doc(29, 2));
  for (int i : {0, 17, 29}) {
    auto h = image->QueryHistory(Query("urn:e" + std::to_string(i)).LastN(10));
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(h->size(), 2u) << i;  // not applied twice
    EXPECT_EQ((*h)[0].value, Doc(i, 1));
    EXPECT_EQ((*h)[1].value, Doc(i, 2));
  }
  // Replayed into the database: the journal keeps only the segment being written.
  EXPECT_EQ(Segments(ImagePath()).size(), 1u);
  image.reset();
  image = OpenDeferring(ImagePath(), 3600 * 1000);
  auto again = image->QueryHistory(Query("urn:e17").LastN(10));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 2u);
  EXPECT_EQ(Docs(*image).size(), 30u);
}

TEST_F(DeferredDocsTest, AReplayedDeleteKeepsTheHistoryWrittenAfterIt) {
  {
    auto store = OpenDeferring(DbPath(), 3600 * 1000);
    ASSERT_TRUE(store->SubmitSync(Batch()
                                      .Put(Entity("urn:x", "T", "first", 1))
                                      .Add(Hist("urn:x", "v", 1, "\"old\"")))
                    .ok());
    ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:x")).ok());
    ASSERT_TRUE(store->SubmitSync(Batch()
                                      .Put(Entity("urn:x", "T", "second", 2))
                                      .Add(Hist("urn:x", "v", 2, "\"new\"")))
                    .ok());
    ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:gone", "T", "doomed", 3))).ok());
    ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:gone")).ok());
    auto h = store->QueryHistory(Query("urn:x").LastN(10));
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(h->size(), 1u);
    TakeImage();
  }
  // The replay applies the delete to the document only: the history it already removed
  // stays removed, and the history written after it stays.
  auto image = OpenDeferring(ImagePath(), 3600 * 1000);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(Docs(*image), (std::map<std::string, std::string>{{"urn:x", "second"}}));
  auto h = image->QueryHistory(Query("urn:x").LastN(10));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].value, "\"new\"");
}

// Puts and deletes of a few entities in random order, all within one window of deferred
// documents (applied now and then by history reads, so documents are superseded, dropped
// and deferred again while they wait): the store reads back each entity's newest document,
// and so does the database after a reopening. With a small max_deferred_doc_bytes the
// superseded documents and the marks of deleted entities are compacted away now and then,
// and the documents are written when that frees too little.
class DeferredDocsAtRandomTest : public DeferredDocsTest,
                                 public ::testing::WithParamInterface<size_t> {};

TEST_P(DeferredDocsAtRandomTest, PutsAndDeletesWithinOneWindowKeepTheNewestDocuments) {
  std::mt19937 rng(11);
  std::map<std::string, std::string> model;
  {
    auto store = OpenDeferring(DbPath(), 3600 * 1000, GetParam());
    for (int step = 0; step < 400; ++step) {
      // (ids past the small-string size: their bytes live on the heap)
      const std::string id = "urn:ngsi-ld:Entity:" + std::to_string(rng() % 8);
      if (rng() % 4 == 0) {
        ASSERT_TRUE(store->SubmitSync(Batch().Delete(id)).ok());
        model.erase(id);
      } else {
        const std::string doc = "{\"step\":" + std::to_string(step) + "}";
        ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity(id, "T", doc, step))).ok());
        model[id] = doc;
      }
      if (step % 37 == 0) {
        ASSERT_TRUE(store->QueryHistory(Query(id)).ok());
      }
    }
    EXPECT_GT(store->Stats().deferred_docs, 0u);
    EXPECT_EQ(Docs(*store), model);
    EXPECT_EQ(store->Stats().deferred_docs, 0u);
  }
  EXPECT_EQ(DocsOnDisk(DbPath()), model);
}

INSTANTIATE_TEST_SUITE_P(ByteLimits, DeferredDocsAtRandomTest,
                         ::testing::Values(StoreOptions().max_deferred_doc_bytes, 3000));

// A window keeps its documents by entity (one entry each) when many of the window before
// were superseded, and in arrival order (an entry per document) when few were.
TEST_F(DeferredDocsTest, HowAWindowKeepsDocumentsFollowsTheWindowBefore) {
  auto store = OpenDeferring(DbPath(), 3600 * 1000);
  PutAll(*store, 10, 1);
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());
  EXPECT_EQ(store->Stats().deferred_docs, 10u);
  ASSERT_EQ(Docs(*store).size(), 10u);  // written: none of the 10 was superseded
  PutAll(*store, 10, 2);
  PutAll(*store, 10, 3);
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());
  EXPECT_EQ(store->Stats().deferred_docs, 20u);  // in arrival order
  auto docs = Docs(*store);                      // written: half were superseded
  EXPECT_EQ(docs["urn:e4"], Doc(4, 3));
  PutAll(*store, 10, 4);
  PutAll(*store, 10, 5);
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());
  EXPECT_EQ(store->Stats().deferred_docs, 10u);  // by entity
  docs = Docs(*store);
  EXPECT_EQ(docs.size(), 10u);
  EXPECT_EQ(docs["urn:e9"], Doc(9, 5));
  EXPECT_EQ(DocsOnDisk(DbPath()), docs);
}

// In arrival order, at max_deferred_doc_bytes the superseded documents are dropped first;
// when that frees at least half, the window goes on and nothing is written yet. A deleted
// entity's documents go with it.
TEST_F(DeferredDocsTest, AtTheByteLimitSupersededDocumentsGoAndTheWindowGoesOn) {
  // Each document and its bookkeeping takes ~240 bytes: four versions of twenty entities
  // are over the limit, one version under half of it.
  auto store = OpenDeferring(DbPath(), 3600 * 1000, /*max_bytes=*/10000);
  PutAll(*store, 20, 1);
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());  // deferred
  ASSERT_EQ(Docs(*store).size(), 20u);  // a window with nothing superseded: arrival order next
  PutAll(*store, 20, 2);
  ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:e5")).ok());
  PutAll(*store, 20, 3);
  PutAll(*store, 20, 4);
  ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:e7")).ok());
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());  // one apply of all of them
  EXPECT_EQ(store->Stats().unapplied_rows, 0u);
  EXPECT_EQ(store->Stats().deferred_docs, 19u);  // the newest of each entity left
  auto on_disk = DocsOnDisk(DbPath());
  EXPECT_EQ(on_disk["urn:e3"], Doc(3, 1)) << "the window's documents were written early";
  auto docs = Docs(*store);
  EXPECT_EQ(docs.size(), 19u);
  EXPECT_EQ(docs.count("urn:e7"), 0u);
  EXPECT_EQ(docs["urn:e5"], Doc(5, 4));  // put again after its delete
  EXPECT_EQ(docs["urn:e19"], Doc(19, 4));
  EXPECT_EQ(DocsOnDisk(DbPath()), docs);
}

// Updates of many entities interleaved, applied in one transaction (the store inserts its
// history rows by entity, not as they came): each entity's history reads back complete and
// in order, instances of one time in the order they were written, and an entity deleted in
// the middle keeps only what came after its delete.
TEST_F(DeferredDocsTest, InterleavedHistoryOfManyEntitiesInOneApplyReadsBackInOrder) {
  auto store = OpenDeferring(DbPath(), 3600 * 1000);
  constexpr int kEntities = 40;
  std::map<std::string, std::vector<std::pair<TimeMs, std::string>>> model;
  for (int round = 0; round < 4; ++round) {
    for (int i = kEntities - 1; i >= 0; --i) {  // against the order of the entities' numbers
      const std::string id = "urn:e" + std::to_string(i);
      const TimeMs t = 1000 + (round / 2) * 10 + i % 3;  // two rounds share each time
      const std::string value = "\"" + std::to_string(round) + "\"";
      ASSERT_TRUE(
          store
              ->SubmitSync(
                  Batch().Put(Entity(id, "T", Doc(i, round), round)).Add(Hist(id, "v", t, value)))
              .ok());
      model[id].emplace_back(t, value);
    }
    if (round == 2) {
      ASSERT_TRUE(store->SubmitSync(Batch().Delete("urn:e7")).ok());
      model["urn:e7"].clear();
    }
  }
  EXPECT_GT(store->Stats().unapplied_rows, 0u);  // nothing applied yet
  for (const auto& [id, expected] : model) {
    auto h = store->QueryHistory(Query(id));
    ASSERT_TRUE(h.ok()) << id;
    std::vector<std::pair<TimeMs, std::string>> got;
    for (const HistoryRow& r : *h) got.emplace_back(r.observed_at, r.value);
    EXPECT_EQ(got, expected) << id;
  }
}

TEST_F(DeferredDocsTest, DocumentsAreWrittenOnceTheyHaveWaitedTheirTime) {
  auto store = OpenDeferring(DbPath(), 100);
  PutAll(*store, 5, 1);
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());
  EXPECT_TRUE(StatsReach(
      *store, [](const StoreStats& s) { return s.deferred_docs == 0; }, std::chrono::seconds(30)));
  EXPECT_EQ(DocsOnDisk(DbPath()).size(), 5u);
  // Their frames are no longer needed: the journal drops them.
  for (int i = 0; i < 500 && Segments(DbPath()).size() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Segments(DbPath()).size(), 1u);
}

TEST_F(DeferredDocsTest, DocumentsPastTheByteLimitAreWrittenAtOnce) {
  auto store = OpenDeferring(DbPath(), 3600 * 1000, /*max_bytes=*/200);
  PutAll(*store, 10, 1);  // ~25 bytes each and their bookkeeping: together over the limit
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());
  EXPECT_EQ(store->Stats().deferred_docs, 0u);
  EXPECT_EQ(DocsOnDisk(DbPath()).size(), 10u);
}

TEST_F(DeferredDocsTest, ADirectGroupWritesTheDeferredDocumentsBeforeItsOwn) {
  StoreOptions options;
  options.path = DbPath();
  options.direct_group_rows = 100;
  options.apply_when_idle_ms = 0;
  options.defer_docs_ms = 3600 * 1000;
  auto store = ExpectOpened(OpenSqliteStore(options));
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:x", "T", "small", 1))).ok());
  ASSERT_TRUE(store->SubmitSync(Batch().Put(Entity("urn:y", "T", "small", 1))).ok());
  Batch big;
  for (int i = 0; i < 150; ++i) big.Put(Entity("urn:big" + std::to_string(i), "T", "{}", 1));
  big.Put(Entity("urn:x", "T", "big", 2));
  ASSERT_TRUE(store->SubmitSync(std::move(big)).ok());
  // Acknowledged means in the database: the big group's documents, and the ones before it.
  auto docs = DocsOnDisk(DbPath());
  EXPECT_EQ(docs.size(), 152u);
  EXPECT_EQ(docs["urn:x"], "big");
  EXPECT_EQ(docs["urn:y"], "small");
  EXPECT_EQ(store->Stats().deferred_docs, 0u);
}

TEST_F(DeferredDocsTest, ZeroWritesTheDocumentsWithEveryApply) {
  auto store = OpenDeferring(DbPath(), 0);
  PutAll(*store, 5, 1);
  ASSERT_TRUE(store->QueryHistory(Query("urn:e0")).ok());
  EXPECT_EQ(store->Stats().deferred_docs, 0u);
  EXPECT_EQ(DocsOnDisk(DbPath()).size(), 5u);
}

// A group commit of many small batches (single-entity updates piling up under load) goes
// to the journal even when it has more rows than direct_group_rows: only large batches are
// applied directly.
TEST_F(SqliteJournalTest, ManySmallBatchesInOneLargeGroupAreJournaled) {
  ApplyGate writer_gate;
  StoreOptions options;
  options.path = DbPath();
  options.direct_group_rows = 20;
  options.direct_batch_rows = 50;
  SqliteTuning tuning;
  tuning.before_group = writer_gate.Hook();
  auto store = ExpectOpened(OpenSqliteStoreWithTuning(options, tuning));
  const auto journal_bytes = [&] {
    uintmax_t total = 0;
    for (const std::string& seg : Segments(DbPath())) total += fs::file_size(seg);
    return total;
  };
  const uintmax_t before = journal_bytes();
  std::vector<std::future<Status>> done;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "urn:s" + std::to_string(i);
    done.push_back(SubmitForStatus(*store, Batch().Put(Entity(id, "T", "{}", 1)).Add(Hist(id, "x", i, "1"))));
  }
  writer_gate.Open();  // the first group holds one batch; the rest wait and commit together
  for (auto& f : done) ASSERT_TRUE(f.get().ok());
  const StoreStats stats = store->Stats();
  EXPECT_LE(stats.commits, 3u);
  EXPECT_EQ(stats.rows_committed, 80u);
  EXPECT_GT(journal_bytes(), before + 40 * 20);  // every row went through the journal
  EXPECT_EQ(Docs(*store).size(), 40u);
}

}  // namespace
}  // namespace cb::store
