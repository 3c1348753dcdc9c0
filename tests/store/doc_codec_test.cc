// Compressed entity documents (store/sqlite/doc_codec.h): what is compressed, what is left
// as it is, and what a corrupt frame gives.
#include "store/sqlite/doc_codec.h"

#include <string>

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
  const std::string original = RealisticDoc();
  std::string buffer;
  std::string doc(CompressDoc(original, &buffer));
  EXPECT_TRUE(IsCompressedDoc(doc));
  EXPECT_LT(doc.size() * 3, original.size()) << "expected at least 3x on this shape";
  ASSERT_TRUE(DecompressDoc(&doc).ok());
  EXPECT_EQ(doc, original);
}

TEST(DocCodec, CompressingTwiceChangesNothing) {
  std::string buffer, again;
  const std::string once(CompressDoc(RealisticDoc(), &buffer));
  EXPECT_EQ(CompressDoc(once, &again), once);
}

TEST(DocCodec, ADocumentThatWouldNotShrinkStaysJson) {
  for (std::string doc : {std::string(), std::string("{}"), std::string(R"({"n":12})")}) {
    std::string buffer;
    EXPECT_EQ(CompressDoc(doc, &buffer), doc);
    EXPECT_FALSE(IsCompressedDoc(doc));
  }
}

TEST(DocCodec, JsonIsReadAsItIs) {
  std::string doc = RealisticDoc();
  const std::string original = doc;
  ASSERT_TRUE(DecompressDoc(&doc).ok());
  EXPECT_EQ(doc, original);
  EXPECT_FALSE(IsCompressedDoc(original));
}

TEST(DocCodec, ACorruptFrameIsAnErrorAndChangesNothing) {
  std::string buffer;
  const std::string good(CompressDoc(RealisticDoc(), &buffer));
  ASSERT_TRUE(IsCompressedDoc(good));
  std::string truncated = good.substr(0, good.size() / 2);
  std::string flipped = good;
  for (size_t i = 8; i < flipped.size(); i += 7) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  std::string header_only = good.substr(0, 4);
  for (std::string bad : {truncated, flipped, header_only}) {
    const std::string before = bad;
    Status st = DecompressDoc(&bad);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kInternal);
    EXPECT_EQ(bad, before);
  }
}

TEST(DocCodec, AFrameClaimingAHugeDocumentIsRefused) {
  std::string huge(65u << 20, ' ');  // past the 64 MiB a document may hold
  huge.front() = '{';
  huge.back() = '}';
  std::string buffer;
  std::string frame(CompressDoc(huge, &buffer));
  ASSERT_TRUE(IsCompressedDoc(frame));
  EXPECT_LT(frame.size(), 1u << 20);
  EXPECT_FALSE(DecompressDoc(&frame).ok());
}

}  // namespace
}  // namespace cb::store
