// Reading and writing NGSI-LD JSON: entities and attribute fragments in normalized,
// concise and keyValues forms (input), normalized and keyValues/simplified (output).
// JSON-LD @context handling is offline: the core context and any other context are
// accepted without fetching; term names are kept as given (see docs/api.md).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "context/entity.h"
#include "core/json.h"
#include "core/status.h"

namespace cb::context {

inline constexpr std::string_view kCoreContext =
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";

// Checks an "@context" member or Link header value: a URI string, an inline object, or an
// array of those. Anything else is BadRequestData.
Status ValidateContext(const JsonValue& context);

// Parses one attribute. `name` selects defaults ("location" etc. are GeoProperties when
// given as bare GeoJSON). Accepts normalized ({"type":"Property","value":…}), concise
// ({"value":…} / {"object":…} / {"languageMap":…} / bare GeoJSON) and keyValues (any
// other JSON value becomes the Property's value).
Result<Attribute> ParseAttribute(std::string_view name, const JsonValue& v);

// Parses an entity body. `require_id_type` is false for bodies whose id comes from the URL.
Result<Entity> ParseEntity(const JsonValue& body, bool require_id_type = true);

// Parses an attributes fragment (PATCH/POST …/attrs): every member except id, type and
// @context is an attribute. An empty fragment is BadRequestData.
Result<std::vector<NamedAttribute>> ParseFragment(const JsonValue& body);

// Merges a partial attribute update (PATCH …/attrs/{attr}) into `target`: members given
// replace those present (value/object/languageMap, observedAt, unitCode, sub-attributes).
Status MergeAttributePatch(const JsonValue& patch, std::string_view name, Attribute* target);

struct RenderOptions {
  bool key_values = false;         // options=keyValues / format=simplified
  bool sys_attrs = false;          // options=sysAttrs: createdAt/modifiedAt
  bool with_context = false;       // application/ld+json: add "@context"
  const std::unordered_set<std::string>* attrs = nullptr;  // projection; null = all
};

void RenderAttribute(const Attribute& a, const RenderOptions& o, JsonWriter* w);
void RenderEntity(const Entity& e, const RenderOptions& o, JsonWriter* w);
// Bytes to reserve for one rendered entity: a typical city entity (8 attributes) fits.
inline constexpr size_t kRenderedEntityBytes = 1024;
std::string RenderEntity(const Entity& e, const RenderOptions& o);

// The document the store keeps for an entity: a compact binary encoding of every field,
// system attributes included (format in store_doc.cc). Not JSON, and not for clients.
std::string EntityToStoreDoc(const Entity& e);
// EntityToStoreDoc(e) into *doc and the history value of each attribute named in
// `history_attrs` (RenderAttribute without system attributes, as a HistoryRow keeps it)
// into (*history_values)[i]. A name `e` lacks gets an empty value; a name held by several
// instances refers to its first instance (as Entity::Find).
void RenderForStore(const Entity& e, const std::vector<std::string>& history_attrs,
                    std::string* doc, std::vector<std::string>* history_values);
// Reads a document EntityToStoreDoc wrote, or one of the normalized JSON documents (with
// system attributes) the store kept before.
Result<Entity> EntityFromStoreDoc(std::string_view doc);

}  // namespace cb::context
