#include "context/attribute_value_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cb::context {
namespace {

// The key of a plain scalar Property value; false for anything else.
bool KeyOf(const Attribute& a, QScalar* key) {
  if (a.kind != AttrKind::kProperty) return false;
  const JsonValue& v = a.value;
  switch (v.type()) {
    case JsonValue::Type::kString:
      key->kind = QScalar::Kind::kString;
      key->string.assign(v.as_string(), 0, AttributeValueIndex::kMaxKeyBytes);
      return true;
    case JsonValue::Type::kInt:
    case JsonValue::Type::kDouble:
      key->kind = QScalar::Kind::kNumber;
      key->number = v.as_double();
      return std::isfinite(key->number);
    case JsonValue::Type::kBool:
      key->kind = QScalar::Kind::kBool;
      key->number = v.as_bool() ? 1 : 0;
      return true;
    default:
      return false;
  }
}

bool SameKey(const QScalar& a, const QScalar& b) {
  return a.kind == b.kind && a.number == b.number && a.string == b.string;
}

// A query bound in the index's terms: strings cut like the keys (a prefix of a bound bounds
// the prefixes of what it bounds).
QScalar Bound(const QScalar& b) {
  QScalar k = b;
  if (k.kind == QScalar::Kind::kString && k.string.size() > AttributeValueIndex::kMaxKeyBytes) {
    k.string.resize(AttributeValueIndex::kMaxKeyBytes);
  }
  return k;
}

uint64_t Mix(const void* p) {
  uint64_t x = reinterpret_cast<uintptr_t>(p);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

// ------------------------------------------------------------------------------ TokenSet

AttributeValueIndex::TokenSet::TokenSet(TokenSet&& o) noexcept
    : slots_(o.slots_), one_(o.one_), cap_(o.cap_), size_(o.size_) {
  o.slots_ = nullptr;
  o.one_ = nullptr;
  o.cap_ = o.size_ = 0;
}

uint32_t AttributeValueIndex::TokenSet::Home(Token t) const {
  return static_cast<uint32_t>(Mix(t)) & (cap_ - 1);
}

void AttributeValueIndex::TokenSet::Rehash(uint32_t cap) {
  Token* old = slots_;
  uint32_t old_cap = cap_;
  slots_ = new Token[cap]();
  cap_ = cap;
  auto place = [&](Token t) {
    uint32_t j = Home(t);
    while (slots_[j] != nullptr) j = (j + 1) & (cap_ - 1);
    slots_[j] = t;
  };
  if (old_cap == 0 && one_ != nullptr) place(one_);  // the inline member moves in
  one_ = nullptr;
  for (uint32_t i = 0; i < old_cap; ++i) {
    if (old[i] != nullptr) place(old[i]);
  }
  delete[] old;
}

void AttributeValueIndex::TokenSet::Insert(Token t) {
  if (cap_ == 0) {
    if (size_ == 0) {
      one_ = t;
      size_ = 1;
      return;
    }
    if (one_ == t) return;
  }
  if (cap_ == 0 || (size_ + 1) * 4 > cap_ * 3) Rehash(cap_ == 0 ? 4 : cap_ * 2);
  uint32_t i = Home(t);
  while (slots_[i] != nullptr) {
    if (slots_[i] == t) return;
    i = (i + 1) & (cap_ - 1);
  }
  slots_[i] = t;
  ++size_;
}

bool AttributeValueIndex::TokenSet::Contains(Token t) const {
  if (cap_ == 0) return size_ == 1 && one_ == t;
  for (uint32_t i = Home(t); slots_[i] != nullptr; i = (i + 1) & (cap_ - 1)) {
    if (slots_[i] == t) return true;
  }
  return false;
}

void AttributeValueIndex::TokenSet::Erase(Token t) {
  if (cap_ == 0) {
    if (size_ == 1 && one_ == t) {
      one_ = nullptr;
      size_ = 0;
    }
    return;
  }
  const uint32_t mask = cap_ - 1;
  uint32_t i = Home(t);
  while (slots_[i] != t) {
    if (slots_[i] == nullptr) return;
    i = (i + 1) & mask;
  }
  // Backward-shift deletion: pull later members of the probe run into the hole when the
  // hole lies on their way from their home slot.
  slots_[i] = nullptr;
  --size_;
  for (uint32_t j = (i + 1) & mask; slots_[j] != nullptr; j = (j + 1) & mask) {
    uint32_t home = Home(slots_[j]);
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    slots_[j] = nullptr;
    i = j;
  }
  if (size_ == 0) {
    delete[] slots_;
    slots_ = nullptr;
    cap_ = 0;
  } else if (cap_ > 4 && size_ * 8 < cap_) {
    Rehash(cap_ / 2);
  }
}

// ------------------------------------------------------------------------------ the index

bool AttributeValueIndex::KeyLess::operator()(const QScalar& a, const QScalar& b) const {
  if (a.kind != b.kind) return a.kind < b.kind;
  if (a.kind == QScalar::Kind::kString) return a.string < b.string;
  return a.number < b.number;
}

void AttributeValueIndex::Contributions(const Entity& e, std::vector<Contribution>* out) {
  out->clear();
  for (const NamedAttribute& na : e.attrs) {
    Contribution c;
    c.name = na.name;
    c.attr = &na.attr;
    out->push_back(std::move(c));
  }
  std::sort(out->begin(), out->end(),
            [](const Contribution& a, const Contribution& b) { return a.name < b.name; });
  // Collapse the instances of one name: several are not indexed.
  size_t w = 0;
  for (size_t r = 0; r < out->size(); ++w) {
    size_t end = r + 1;
    while (end < out->size() && (*out)[end].name == (*out)[r].name) ++end;
    Contribution c = (*out)[r];
    if (end - r > 1) c.attr = nullptr;
    (*out)[w] = std::move(c);
    r = end;
  }
  out->resize(w);
}

void AttributeValueIndex::Resolve(Contribution* c) {
  if (c->resolved) return;
  c->resolved = true;
  c->keyed = c->attr != nullptr && KeyOf(**c->attr, &c->key);
}

void AttributeValueIndex::Add(AttrIndex* ai, Token token, Contribution* c) {
  Resolve(c);
  if (c->keyed) {
    ai->values.try_emplace(c->key).first->second.Insert(token);
  } else {
    ++ai->unindexed;
  }
}

void AttributeValueIndex::Remove(AttrIndex* ai, Token token, Contribution* c) {
  Resolve(c);
  if (!c->keyed) {
    if (ai->unindexed > 0) --ai->unindexed;
    return;
  }
  auto it = ai->values.find(c->key);
  if (it == ai->values.end()) return;
  it->second.Erase(token);
  if (it->second.size() == 0) ai->values.erase(it);
}

void AttributeValueIndex::Move(AttrIndex* ai, Token token, Contribution* old,
                               Contribution* now) {
  if (old->keyed && now->keyed) {
    auto it = ai->values.find(old->key);
    if (it != ai->values.end() && it->second.size() == 1 && it->second.Contains(token)) {
      // The entity alone held the old value (a continuous reading, mostly): its map node,
      // token set and all, is re-keyed instead of freed and another allocated. (Only if the
      // one token is this entity's: re-keying another's would lose it from the index.)
      auto node = ai->values.extract(it);
      node.key() = now->key;
      auto placed = ai->values.insert(std::move(node));
      if (!placed.inserted) placed.position->second.Insert(token);  // (the node is freed)
      return;
    }
  }
  Remove(ai, token, old);
  Add(ai, token, now);
}

void AttributeValueIndex::Change(Token token, const std::string& type,
                                 std::vector<Contribution>* before,
                                 std::vector<Contribution>* after) {
  auto tit = types_.find(type);
  auto type_index = [&]() -> TypeIndex& {
    if (tit == types_.end()) tit = types_.emplace(type, TypeIndex()).first;
    return tit->second;
  };
  auto attr_index = [&](std::string_view name) -> AttrIndex& {
    TypeIndex& ti = type_index();
    auto it = ti.find(name);
    if (it == ti.end()) it = ti.emplace(std::string(name), AttrIndex()).first;
    return it->second;
  };
  auto& b = *before;
  auto& a = *after;
  size_t i = 0, j = 0;
  while (i < b.size() || j < a.size()) {
    if (j == a.size() || (i < b.size() && b[i].name < a[j].name)) {  // removed
      Contribution& gone = b[i++];
      if (tit == types_.end()) continue;
      auto ait = tit->second.find(gone.name);
      if (ait == tit->second.end()) continue;
      Remove(&ait->second, token, &gone);
      if (ait->second.values.empty() && ait->second.unindexed == 0) tit->second.erase(ait);
    } else if (i == b.size() || a[j].name < b[i].name) {  // added
      Add(&attr_index(a[j].name), token, &a[j]);
      ++j;
    } else {
      Contribution& old = b[i++];
      Contribution& now = a[j++];
      // An attribute the new version shares with the old one costs nothing.
      if (old.attr != nullptr && now.attr != nullptr && old.attr->SharesWith(*now.attr)) continue;
      Replace(token, type, &old, &now);
      if (tit == types_.end()) tit = types_.find(type);  // Replace may have added it
    }
  }
  if (tit != types_.end() && tit->second.empty()) types_.erase(tit);
}

void AttributeValueIndex::Replace(Token token, const std::string& type, Contribution* old,
                                  Contribution* now) {
  // One rewritten with the same value costs a comparison.
  Resolve(old);
  Resolve(now);
  if (!old->keyed && !now->keyed) return;  // still counted as unindexed
  if (old->keyed && now->keyed && SameKey(old->key, now->key)) return;
  auto tit = types_.find(type);
  if (tit == types_.end()) tit = types_.emplace(type, TypeIndex()).first;
  auto it = tit->second.find(now->name);
  if (it == tit->second.end()) it = tit->second.emplace(std::string(now->name), AttrIndex()).first;
  Move(&it->second, token, old, now);
}

bool AttributeValueIndex::UpdateSameNames(Token token, const Entity& before, const Entity& after) {
  constexpr size_t kMaxAttrs = 64;  // larger entities take the general path
  const size_t n = before.attrs.size();
  if (after.attrs.size() != n || n > kMaxAttrs || before.types != after.types) return false;
  size_t changed[kMaxAttrs];
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (before.attrs[i].name != after.attrs[i].name) return false;
    if (!before.attrs[i].attr.SharesWith(after.attrs[i].attr)) changed[m++] = i;
  }
  // Several instances of one name are not indexed (see Contributions): the general path.
  for (size_t c = 0; c < m; ++c) {
    const std::string& name = before.attrs[changed[c]].name;
    for (size_t k = 0; k < n; ++k) {
      if (k != changed[c] && before.attrs[k].name == name) return false;
    }
  }
  for (size_t c = 0; c < m; ++c) {
    const NamedAttribute& b = before.attrs[changed[c]];
    Contribution old, now;
    old.name = now.name = b.name;
    old.attr = &b.attr;
    now.attr = &after.attrs[changed[c]].attr;
    for (const std::string& type : after.types) Replace(token, type, &old, &now);
  }
  return true;
}

void AttributeValueIndex::Update(Token token, const Entity* before, const Entity* after) {
  if (before == after) return;
  if (before != nullptr && after != nullptr && UpdateSameNames(token, *before, *after)) return;
  before_scratch_.clear();
  after_scratch_.clear();
  if (before != nullptr) Contributions(*before, &before_scratch_);
  if (after != nullptr) Contributions(*after, &after_scratch_);
  if (before != nullptr && after != nullptr && before->types == after->types) {
    for (const std::string& type : after->types) {
      Change(token, type, &before_scratch_, &after_scratch_);
    }
    return;
  }
  std::vector<Contribution> none;
  if (before != nullptr) {
    for (const std::string& type : before->types) Change(token, type, &before_scratch_, &none);
  }
  if (after != nullptr) {
    for (const std::string& type : after->types) Change(token, type, &none, &after_scratch_);
  }
}

const AttributeValueIndex::AttrIndex* AttributeValueIndex::Find(const std::string& type,
                                                                const std::string& attr) const {
  auto tit = types_.find(type);
  if (tit == types_.end()) return nullptr;
  auto ait = tit->second.find(attr);
  return ait == tit->second.end() ? nullptr : &ait->second;
}

template <typename F>
void AttributeValueIndex::ForEachInRanges(const AttrIndex& ai,
                                          const std::vector<QScalarRange>& ranges, F&& f) const {
  KeyLess less;
  for (const QScalarRange& r : ranges) {
    QScalar lo = Bound(r.lo);
    if (r.lo_open) {  // the smallest key of the kind
      lo.number = -std::numeric_limits<double>::infinity();
      lo.string.clear();
    }
    const QScalar hi = Bound(r.hi);
    for (auto it = ai.values.lower_bound(lo); it != ai.values.end(); ++it) {
      if (it->first.kind != lo.kind || (!r.hi_open && less(hi, it->first))) break;
      if (!f(it->second)) return;
    }
  }
}

std::optional<size_t> AttributeValueIndex::Count(const std::string& type, const std::string& attr,
                                                 const std::vector<QScalarRange>& ranges,
                                                 size_t cap) const {
  const AttrIndex* ai = Find(type, attr);
  if (ai == nullptr) return 0;  // no entity of the type has the attribute
  if (ai->unindexed > 0) return std::nullopt;
  size_t n = 0;
  ForEachInRanges(*ai, ranges, [&](const TokenSet& s) {
    n += s.size();
    return n <= cap;
  });
  return std::min(n, cap + 1);
}

void AttributeValueIndex::Collect(const std::string& type, const std::string& attr,
                                  const std::vector<QScalarRange>& ranges,
                                  std::vector<Token>* out) const {
  const AttrIndex* ai = Find(type, attr);
  if (ai == nullptr) return;
  ForEachInRanges(*ai, ranges, [&](const TokenSet& s) {
    s.ForEach([&](Token t) { out->push_back(t); });
    return true;
  });
}

bool AttributeValueIndex::Exact(const std::vector<QScalarRange>& ranges) {
  // A string shorter than the key length compares with a cut value as with the whole one.
  auto exact = [](const QScalar& b, bool open) {
    return open || b.kind == QScalar::Kind::kBool ||
           (b.kind == QScalar::Kind::kString && b.string.size() < kMaxKeyBytes);
  };
  return std::all_of(ranges.begin(), ranges.end(), [&](const QScalarRange& r) {
    return exact(r.lo, r.lo_open) && exact(r.hi, r.hi_open);
  });
}

size_t AttributeValueIndex::distinct_values() const {
  size_t n = 0;
  for (const auto& [type, attrs] : types_) {
    for (const auto& [name, ai] : attrs) n += ai.values.size();
  }
  return n;
}

size_t AttributeValueIndex::entries() const {
  size_t n = 0;
  for (const auto& [type, attrs] : types_) {
    for (const auto& [name, ai] : attrs) {
      for (const auto& [key, set] : ai.values) n += set.size();
    }
  }
  return n;
}

}  // namespace cb::context
