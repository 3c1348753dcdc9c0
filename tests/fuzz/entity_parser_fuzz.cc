// libFuzzer target: the NGSI-LD entity parser (the first thing untrusted bodies reach).
// Whatever parses must encode as a store document and read back to the same entity. The
// input is also read as a (damaged) binary store document: refused or read, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "context/ngsi_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cb::context::EntityFromStoreDoc(std::string(1, '\x01').append(text));
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
