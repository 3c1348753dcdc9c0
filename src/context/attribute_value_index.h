// AttributeValueIndex: for each (entity type, attribute name), the entities ordered by the
// attribute's value, so that a selective q term (district=="D0042", temperature>39.5,
// level==1..3) finds its candidate entities without scanning every entity of the type.
//
// What is indexed: Properties whose value is a plain scalar (string, number, boolean).
// Strings longer than kMaxKeyBytes are indexed by their first kMaxKeyBytes bytes (a prefix
// orders like the string, so ranges stay correct). Every other instance of an attribute (an
// array or object value, a Relationship, a GeoProperty, a LanguageProperty, or a second
// instance of the same name) is only counted: while an attribute of a type has any such
// instance, the index declines to answer for it and the caller scans instead. Candidates are
// a superset of the matches (a string prefix, or integers beyond 2^53 that share a double,
// may bring in a few that do not match): the caller evaluates the whole q on each.
//
// Entities are identified by an opaque Token the caller chooses (the broker's slot pointer),
// stable while the entity exists. Memory: about 8–21 bytes per indexed value (an open-
// addressing set of tokens per distinct value), plus one ordered-map node per distinct value.
//
// Thread-safety: none; the caller serialises writers and keeps readers from overlapping them
// (the broker's state lock).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "context/entity.h"
#include "context/q_query.h"

namespace cb::context {

class AttributeValueIndex {
 public:
  using Token = const void*;
  static constexpr size_t kMaxKeyBytes = 64;

  AttributeValueIndex() = default;
  AttributeValueIndex(const AttributeValueIndex&) = delete;
  AttributeValueIndex& operator=(const AttributeValueIndex&) = delete;

  // Records that the entity `token` changed from `before` to `after` (null: absent, for a
  // creation or a removal). Attributes `after` shares with `before` cost nothing.
  void Update(Token token, const Entity* before, const Entity* after);

  // How many entities of `type` have `attr` within `ranges` (an entity counts once per
  // matching value), or nullopt when the index cannot answer for (type, attr): some entity
  // has a value the index does not hold. Stops counting past `cap` (returns cap + 1).
  std::optional<size_t> Count(const std::string& type, const std::string& attr,
                              const std::vector<QScalarRange>& ranges, size_t cap) const;
  // Appends the tokens of the entities of `type` with `attr` within `ranges` to *out, in no
  // particular order and possibly more than once. Only when Count() answered.
  void Collect(const std::string& type, const std::string& attr,
               const std::vector<QScalarRange>& ranges, std::vector<Token>* out) const;

  // Whether every entity Collect() gives for `ranges` has its value within them, not just a
  // nearby one: booleans, and strings shorter than kMaxKeyBytes (numbers may share a double).
  static bool Exact(const std::vector<QScalarRange>& ranges);

  // Distinct values held, and tokens held over all of them (for tests and statistics).
  size_t distinct_values() const;
  size_t entries() const;

 private:
  // An open-addressing (linear probing) set of tokens: the entities with one value. Most
  // values of a continuous reading belong to one entity, so a lone token is held inline
  // (no table to allocate, and no cache miss to reach it).
  class TokenSet {
   public:
    TokenSet() = default;
    TokenSet(TokenSet&& o) noexcept;
    TokenSet& operator=(TokenSet&&) = delete;
    TokenSet(const TokenSet&) = delete;
    ~TokenSet() { delete[] slots_; }
    void Insert(Token t);
    void Erase(Token t);
    bool Contains(Token t) const;
    uint32_t size() const { return size_; }
    template <typename F>
    void ForEach(F&& f) const {
      if (cap_ == 0) {
        if (size_ == 1) f(one_);
        return;
      }
      for (uint32_t i = 0; i < cap_; ++i) {
        if (slots_[i] != nullptr) f(slots_[i]);
      }
    }

   private:
    uint32_t Home(Token t) const;
    void Rehash(uint32_t cap);
    Token* slots_ = nullptr;
    Token one_ = nullptr;  // the member while there is no table (cap_ == 0, size_ <= 1)
    uint32_t cap_ = 0;     // 0 or a power of two
    uint32_t size_ = 0;
  };

  struct KeyLess {
    bool operator()(const QScalar& a, const QScalar& b) const;
  };
  struct AttrIndex {
    std::map<QScalar, TokenSet, KeyLess> values;
    size_t unindexed = 0;  // instances counted but not held (see the header comment)
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using TypeIndex = std::unordered_map<std::string, AttrIndex, NameHash, std::equal_to<>>;

  // What one entity contributes to one attribute of its types: a key, or "unindexed".
  struct Contribution {
    std::string_view name;
    const AttrRef* attr = nullptr;  // the only instance; null when several
    bool resolved = false;          // keyed and key are set (see Resolve)
    bool keyed = false;
    QScalar key;
  };
  // The entity's attributes by name, keys not yet computed.
  static void Contributions(const Entity& e, std::vector<Contribution>* out);
  static void Resolve(Contribution* c);
  static void Add(AttrIndex* ai, Token token, Contribution* c);
  static void Remove(AttrIndex* ai, Token token, Contribution* c);
  // Remove(old) then Add(now), both resolved, re-using the map node where it can.
  static void Move(AttrIndex* ai, Token token, Contribution* old, Contribution* now);
  // Moves the entity's contributions to `type` from *before to *after (both by name).
  void Change(Token token, const std::string& type, std::vector<Contribution>* before,
              std::vector<Contribution>* after);
  // The entity's attribute `now->name` of `type` changed from *old to *now.
  void Replace(Token token, const std::string& type, Contribution* old, Contribution* now);
  // The common update, a PATCH: the same types and attribute names in the same order, none
  // given twice. Re-indexes the attributes whose handles differ without building and
  // sorting the contributions of every attribute. False, changing nothing, otherwise.
  bool UpdateSameNames(Token token, const Entity& before, const Entity& after);
  const AttrIndex* Find(const std::string& type, const std::string& attr) const;
  template <typename F>
  void ForEachInRanges(const AttrIndex& ai, const std::vector<QScalarRange>& ranges, F&& f) const;

  std::unordered_map<std::string, TypeIndex> types_;
  std::vector<Contribution> before_scratch_, after_scratch_;
};

}  // namespace cb::context
