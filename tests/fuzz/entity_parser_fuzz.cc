// libFuzzer target: the NGSI-LD entity parser (the first thing untrusted bodies reach).
// Whatever parses must render and parse back to the same entity.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "context/ngsi_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = cb::ParseJson(text);
  if (!json.ok()) return 0;
  auto entity = cb::context::ParseEntity(*json, true);
  (void)cb::context::ParseFragment(*json);
  if (!entity.ok()) return 0;
  std::string doc = cb::context::EntityToStoreDoc(*entity);
  auto back = cb::context::EntityFromStoreDoc(doc);
  if (!back.ok()) std::abort();  // our own output must always read back
  if (cb::context::EntityToStoreDoc(*back) != doc) std::abort();
  return 0;
}
