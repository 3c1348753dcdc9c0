// The NGSI-LD query language (ETSI GS CIM 009, section 4.9): the `q=` filter of entity
// queries and subscriptions. ParseQ turns the text into a compact, immutable QExpr once;
// Matches then evaluates it against entities without allocating (the regex engine keeps a
// small per-thread scratch buffer that grows once).
//
// What is understood:
//   term       attr                      the attribute exists
//              attr op value             op: == != > >= < <=
//              attr ~= regex             regular-expression search in string values
//              attr !~= regex            no string value matches
//   values     numbers (-1, 2.5, 1e3), "quoted strings" (\" and \\ escapes), true / false,
//              unquoted ISO 8601 date-times, dates and times (2024-01-01T08:00:00Z,
//              2024-01-01, 08:00:00), unquoted URIs (for == and != only);
//              ranges min..max and lists v1,v2,v3 (for == and != only).
//   paths      attr.sub.sub              sub-attributes (properties of properties), and the
//                                        members observedAt, createdAt, modifiedAt,
//                                        unitCode, datasetId of an attribute
//              attr[key][key2]           a path into a JSON object value
//   logic      a;b  AND      a|b  OR     AND binds tighter than OR; (...) groups.
//
// Semantics. A term on a missing attribute is false (for != as well: the attribute must
// exist). Values of different types do not compare: a number attribute against a string
// value is false, not an error. Relationships compare by their object URI;
// LanguageProperties by any of their language strings (or attr[lang] for one). Objects of
// the form {"@type": "DateTime" | "Date" | "Time", "@value": "..."} and strings holding
// ISO 8601 date-times compare as points in time against date-time values. When the value is
// an array, == > >= < <= ~= match if any element matches; != and !~= match if the attribute
// has at least one comparable element and no element equals (matches) the value.
//
// Regular expressions follow ECMAScript syntax without backreferences and lookaround; a
// leading (?i) makes them case-insensitive. They run on a linear-time engine, so no pattern
// can take exponential time. An unquoted pattern extends to the next ';' or '|' outside
// brackets and parentheses, or to an unbalanced ')'; quote it ("a|b") to use a top-level '|'.
//
// Errors are Status::InvalidRequest with a message that names the (0-based) byte position,
// e.g. "q: unexpected character '#' at position 7". Limits: 4096 bytes of query text, 1024
// bytes per value, 256 bytes per regular expression, parentheses nested 32 deep.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "context/entity.h"
#include "core/status.h"

namespace cb::context {

// A parsed q expression: a compact tree of terms with literal values pre-parsed (numbers,
// date-times, compiled regular expressions).
// Thread-safety: immutable once built; one QExpr may be evaluated from many threads at once.
class QExpr;

inline constexpr size_t kMaxQLength = 4096;

// Parses `q` (already URL-decoded). Errors are Code::kInvalidRequest.
Result<std::shared_ptr<const QExpr>> ParseQ(std::string_view q);

// Does `e` satisfy `q`? Never fails: anything that does not compare is simply false.
bool Matches(const QExpr& q, const Entity& e);

// Top-level attribute names the expression refers to, each once, in order of appearance
// (for subscriptions' watched attributes and for validation).
std::vector<std::string> QAttributes(const QExpr& q);

// A plain scalar value as an index of attribute values orders it (see
// AttributeValueIndex): booleans, then numbers (as doubles, integers rounded), then strings
// (bytewise).
struct QScalar {
  enum class Kind : uint8_t { kBool, kNumber, kString };
  Kind kind = Kind::kNumber;
  double number = 0;   // kNumber; kBool: 0 (false) or 1 (true)
  std::string string;  // kString
};

// The scalars of one kind from lo to hi, both inclusive; an open side is unbounded within
// the kind.
struct QScalarRange {
  QScalar lo, hi;  // lo.kind == hi.kind
  bool lo_open = false;
  bool hi_open = false;
};

// A conjunct of a q expression that an index of attribute values can answer: every entity
// that satisfies the whole expression has an instance of `attr` that either is a Property
// whose value is a plain scalar (bool, number, string) within one of `ranges`, or is not such
// a Property (an array or object value, a Relationship, ...). So the entities with a scalar
// value in the ranges, plus those with any other kind of value, hold every match.
struct QIndexableTerm {
  std::string attr;
  std::vector<QScalarRange> ranges;  // any of
  // The term is all of q, and a plain scalar value satisfies it exactly when it lies within
  // one of the ranges (no strict < or >, whose ranges include their bound).
  bool whole = false;
};

// The indexable conjuncts of q: terms ==, >, >=, <, <= (with a value, a list or a range of
// numbers, strings or booleans) on a top-level attribute, that q's top level ANDs together.
// Empty when q's top level is an OR, or no conjunct qualifies (paths, date-times, !=, ~=).
std::vector<QIndexableTerm> IndexableTerms(const QExpr& q);

}  // namespace cb::context
