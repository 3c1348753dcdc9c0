// The web dashboard's file types and the Accept-Encoding rule for gzip siblings.

#include <gtest/gtest.h>

#include <string>

#include "api/api.h"

namespace cb::api {
namespace {

TEST(StaticFilesTest, ContentTypesByExtension) {
  const struct {
    const char* path;
    const char* type;
  } cases[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"assets/index-4f3a.js", "text/javascript; charset=utf-8"},
      {"assets/worker.mjs", "text/javascript; charset=utf-8"},
      {"assets/index-9c1d.CSS", "text/css; charset=utf-8"},
      {"manifest.json", "application/json; charset=utf-8"},
      {"basemap/roads.geojson", "application/geo+json; charset=utf-8"},
      {"favicon.svg", "image/svg+xml; charset=utf-8"},
      {"a.png", "image/png"},
      {"a.jpg", "image/jpeg"},
      {"a.jpeg", "image/jpeg"},
      {"a.webp", "image/webp"},
      {"favicon.ico", "image/x-icon"},
      {"f.woff2", "font/woff2"},
      {"f.woff", "font/woff"},
      {"robots.txt", "text/plain; charset=utf-8"},
      {"assets/index.js.map", "application/json; charset=utf-8"},
      {"m.wasm", "application/wasm"},
      {"data.bin", "application/octet-stream"},
      {"LICENSE", "application/octet-stream"},
      {"dir.d/LICENSE", "application/octet-stream"},
  };
  for (const auto& c : cases) EXPECT_EQ(StaticContentType(c.path), c.type) << c.path;
}

TEST(StaticFilesTest, GzipWhenAcceptEncodingAllowsIt) {
  const struct {
    const char* header;
    bool gzip;
  } cases[] = {
      {"", false},
      {"gzip", true},
      {"gzip, deflate, br", true},
      {"br;q=1.0, GZIP;q=0.5", true},
      {"deflate, br", false},
      {"gzip;q=0", false},
      {"gzip; q=0.000, *", false},  // refused by name: * does not bring it back
      {"*", true},
      {"*;q=0", false},
      {"identity", false},
      {"x-gzip", true},
      {"gzipx", false},
  };
  for (const auto& c : cases) EXPECT_EQ(AcceptsGzip(c.header), c.gzip) << c.header;
}

}  // namespace
}  // namespace cb::api
