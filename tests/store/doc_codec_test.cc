// Compressed entity documents (store/sqlite/doc_codec.h): what is compressed, what is left
// as it is, what a corrupt frame gives, and dictionaries.
#include "store/sqlite/doc_codec.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cb::store {
namespace {

// A stored document of the FIWARE workload's shape, with some Chinese text.
std::string RealisticDoc() {
  std::string doc = R"({"id":"urn:ngsi-ld:WeatherObserved:wo0000042","type":"WeatherObserved")";
  for (const char* name :
       {"temperature", "relativeHumidity", "atmosphericPressure", "windSpeed", "precipitation"}) {
    doc += std::string(",\"") + name +
           R"(":{"type":"Property","value":21.5,"observedAt":"2026-12-07T13:20:36.493Z",)"
           R"("unitCode":"CEL","createdAt":"2026-12-07T13:20:36.524Z",)"
           R"("modifiedAt":"2026-12-07T13:20:36.524Z"})";
  }
  doc += R"(,"district":{"type":"Property","value":"湖滨街道 D0042"}})";
  return doc;
}

TEST(DocCodec, ADocumentIsStoredSmallerAndReadBackTheSame) {
  DocCodec codec;
  const std::string original = RealisticDoc();
  std::string buffer;
  std::string doc(codec.Compress(original, &buffer));
  EXPECT_TRUE(IsCompressedDoc(doc));
  EXPECT_LT(doc.size() * 3, original.size()) << "expected at least 3x on this shape";
  ASSERT_TRUE(codec.Decompress(&doc).ok());
  EXPECT_EQ(doc, original);
}

TEST(DocCodec, CompressingTwiceChangesNothing) {
  DocCodec codec;
  std::string buffer, again;
  const std::string once(codec.Compress(RealisticDoc(), &buffer));
  EXPECT_EQ(codec.Compress(once, &again), once);
}

TEST(DocCodec, ADocumentThatWouldNotShrinkStaysJson) {
  DocCodec codec;
  for (std::string doc : {std::string(), std::string("{}"), std::string(R"({"n":12})")}) {
    std::string buffer;
    EXPECT_EQ(codec.Compress(doc, &buffer), doc);
    EXPECT_FALSE(IsCompressedDoc(doc));
  }
}

TEST(DocCodec, JsonIsReadAsItIs) {
  DocCodec codec;
  std::string doc = RealisticDoc();
  const std::string original = doc;
  ASSERT_TRUE(codec.Decompress(&doc).ok());
  EXPECT_EQ(doc, original);
  EXPECT_FALSE(IsCompressedDoc(original));
}

TEST(DocCodec, ACorruptFrameIsAnErrorAndChangesNothing) {
  DocCodec codec;
  std::string buffer;
  const std::string good(codec.Compress(RealisticDoc(), &buffer));
  ASSERT_TRUE(IsCompressedDoc(good));
  std::string truncated = good.substr(0, good.size() / 2);
  std::string flipped = good;
  for (size_t i = 8; i < flipped.size(); i += 7) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  std::string header_only = good.substr(0, 4);
  for (std::string bad : {truncated, flipped, header_only}) {
    const std::string before = bad;
    Status st = codec.Decompress(&bad);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kInternal);
    EXPECT_EQ(bad, before);
  }
}

TEST(DocCodec, AFrameClaimingAHugeDocumentIsRefused) {
  DocCodec codec;
  std::string huge(65u << 20, ' ');  // past the 64 MiB a document may hold
  huge.front() = '{';
  huge.back() = '}';
  std::string buffer;
  std::string frame(codec.Compress(huge, &buffer));
  ASSERT_TRUE(IsCompressedDoc(frame));
  EXPECT_LT(frame.size(), 1u << 20);
  EXPECT_FALSE(codec.Decompress(&frame).ok());
}

// ---------------------------------------------------------------- dictionaries

// A document of the FIWARE shape for entity n, its values varying as a city's do.
std::string CityDoc(int n, std::mt19937& rng) {
  std::uniform_real_distribution<double> value(-20, 40);
  std::string doc = R"({"id":"urn:ngsi-ld:WeatherObserved:wo)" + std::to_string(100000 + n) +
                    R"(","type":"WeatherObserved")";
  for (const char* name : {"temperature", "relativeHumidity", "windSpeed", "precipitation"}) {
    doc += std::string(",\"") + name + R"(":{"type":"Property","value":)" +
           std::to_string(value(rng)) + R"(,"observedAt":"2026-12-07T13:)" +
           std::to_string(10 + n % 50) + R"(:36.493Z","unitCode":"CEL"})";
  }
  doc += R"(,"district":{"type":"Property","value":"湖滨街道 D)" + std::to_string(n % 97) +
         R"("},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[120.)" +
         std::to_string(160000 + n) + ",30." + std::to_string(250000 + n) + "]}}}";
  return doc;
}

DocDictionary Trained(int docs, int seed) {
  std::mt19937 rng(seed);
  std::string samples;
  std::vector<size_t> sizes;
  for (int i = 0; i < docs; ++i) {
    const std::string doc = CityDoc(i, rng);
    samples += doc;
    sizes.push_back(doc.size());
  }
  Result<DocDictionary> d = TrainDocDictionary(samples, sizes, 16 << 10);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : DocDictionary{};
}

TEST(DocCodec, ADictionaryMakesDocumentsSmallerAndTheyReadBackTheSame) {
  const DocDictionary dict = Trained(600, 1);
  ASSERT_NE(dict.id, 0u);
  DocCodec plain, with;
  ASSERT_TRUE(with.Add(dict.bytes).ok());
  ASSERT_TRUE(with.SetCurrent(dict.id).ok());
  EXPECT_EQ(with.current(), dict.id);
  std::mt19937 rng(2);
  size_t json = 0, alone = 0, dictionary = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string original = CityDoc(5000 + i, rng);  // not among the samples
    std::string a, b;
    const std::string without(plain.Compress(original, &a));
    std::string doc(with.Compress(original, &b));
    ASSERT_TRUE(IsCompressedDoc(doc));
    EXPECT_EQ(DocDictionaryId(doc), dict.id);
    EXPECT_EQ(DocDictionaryId(without), 0u);
    json += original.size();
    alone += without.size();
    dictionary += doc.size();
    ASSERT_TRUE(with.Decompress(&doc).ok());
    EXPECT_EQ(doc, original);
  }
  EXPECT_LT(dictionary * 2, alone) << "expected the dictionary to halve what zstd alone makes";
  EXPECT_LT(alone, json);
}

TEST(DocCodec, DocumentsWrittenWithoutADictionaryReadWithOne) {
  const DocDictionary dict = Trained(600, 3);
  DocCodec codec;
  std::string buffer;
  std::string doc(codec.Compress(RealisticDoc(), &buffer));
  ASSERT_TRUE(codec.Add(dict.bytes).ok());
  ASSERT_TRUE(codec.SetCurrent(dict.id).ok());
  ASSERT_TRUE(codec.Decompress(&doc).ok());
  EXPECT_EQ(doc, RealisticDoc());
}

TEST(DocCodec, ADocumentNamingAnUnknownDictionaryIsAnErrorAndChangesNothing) {
  const DocDictionary dict = Trained(600, 4);
  DocCodec writer, reader;
  ASSERT_TRUE(writer.Add(dict.bytes).ok());
  ASSERT_TRUE(writer.SetCurrent(dict.id).ok());
  std::string buffer;
  std::string doc(writer.Compress(RealisticDoc(), &buffer));
  const std::string before = doc;
  Status st = reader.Decompress(&doc);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_NE(st.message().find(std::to_string(dict.id)), std::string::npos) << st.message();
  EXPECT_EQ(doc, before);
  ASSERT_TRUE(reader.Add(dict.bytes).ok());
  ASSERT_TRUE(reader.Decompress(&doc).ok());
  EXPECT_EQ(doc, RealisticDoc());
}

TEST(DocCodec, RemovingTheCurrentDictionaryGoesBackToNone) {
  const DocDictionary dict = Trained(600, 5);
  DocCodec codec;
  ASSERT_TRUE(codec.Add(dict.bytes).ok());
  ASSERT_TRUE(codec.SetCurrent(dict.id).ok());
  codec.Remove(dict.id);
  EXPECT_EQ(codec.current(), 0u);
  EXPECT_FALSE(codec.Has(dict.id));
  std::string buffer;
  EXPECT_EQ(DocDictionaryId(codec.Compress(RealisticDoc(), &buffer)), 0u);
  EXPECT_EQ(codec.SetCurrent(dict.id).code(), Code::kInternal);  // no longer known
}

TEST(DocCodec, TwoDictionariesWithOneIdAreRefused) {
  const DocDictionary dict = Trained(600, 6);
  DocCodec codec;
  ASSERT_TRUE(codec.Add(dict.bytes).ok());
  ASSERT_TRUE(codec.Add(dict.bytes).ok());  // the same one again: nothing changes
  std::string other = dict.bytes;
  other.back() = static_cast<char>(other.back() ^ 1);  // same header, other content
  EXPECT_EQ(codec.Add(other).code(), Code::kInternal);
  EXPECT_EQ(codec.Add("not a dictionary").code(), Code::kInternal);
}

TEST(DocCodec, TooFewSamplesTrainNoDictionary) {
  const std::string doc = RealisticDoc();
  EXPECT_FALSE(TrainDocDictionary(doc, {doc.size()}, 16 << 10).ok());
  EXPECT_EQ(TrainDocDictionary(doc, {doc.size() + 1}, 16 << 10).status().code(),
            Code::kInvalidRequest);
}

}  // namespace
}  // namespace cb::store
