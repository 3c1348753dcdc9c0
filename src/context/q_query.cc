#include "context/q_query.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace cb::context {
namespace q_internal {

constexpr size_t kMaxValueLen = 1024;
constexpr size_t kMaxNameLen = 256;
constexpr size_t kMaxRegexLen = 256;
constexpr int kMaxDepth = 32;
constexpr int kNoCmp = 2;  // "does not compare" result of Compare()

// ---------------------------------------------------------------------------------------------
// Small text helpers.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Describes one byte of the query for an error message.
std::string DescribeChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  char buf[16];
  if (u >= 0x21 && u < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c'", c);
  } else if (u == ' ') {
    std::snprintf(buf, sizeof buf, "' '");
  } else {
    std::snprintf(buf, sizeof buf, "byte 0x%02X", u);
  }
  return buf;
}

// Decodes one UTF-8 code point at s[i]. A malformed byte decodes on its own to a value above
// U+10FFFF, so it matches nothing but '.' and negated classes.
char32_t DecodeUtf8(std::string_view s, size_t i, size_t* len) {
  auto b0 = static_cast<unsigned char>(s[i]);
  *len = 1;
  if (b0 < 0x80) return b0;
  size_t n;
  char32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0x110000 + b0;
  }
  if (i + n > s.size()) return 0x110000 + b0;
  for (size_t k = 1; k < n; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0x110000 + b0;
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = n;
  return cp;
}

// "HH:MM[:SS[.fraction]][Z]" → milliseconds since midnight.
bool ParseTimeOfDay(std::string_view s, int64_t* ms) {
  auto two = [&](size_t p, int* out) {
    if (p + 2 > s.size() || !IsDigit(s[p]) || !IsDigit(s[p + 1])) return false;
    *out = (s[p] - '0') * 10 + (s[p + 1] - '0');
    return true;
  };
  int h, m, sec = 0;
  if (!two(0, &h) || s.size() < 5 || s[2] != ':' || !two(3, &m)) return false;
  size_t p = 5;
  int64_t frac = 0;
  if (p < s.size() && s[p] == ':') {
    if (!two(p + 1, &sec)) return false;
    p += 3;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      size_t start = p;
      int64_t scale = 100;
      while (p < s.size() && IsDigit(s[p])) {
        frac += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start) return false;
    }
  }
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) ++p;
  if (p != s.size() || h > 23 || m > 59 || sec > 60) return false;
  *ms = ((h * 60 + m) * 60 + sec) * int64_t{1000} + frac;
  return true;
}

bool LooksLikeDate(std::string_view s) {
  return s.size() >= 10 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) && IsDigit(s[3]) &&
         s[4] == '-' && IsDigit(s[5]) && IsDigit(s[6]) && s[7] == '-' && IsDigit(s[8]) &&
         IsDigit(s[9]);
}

bool LooksLikeTime(std::string_view s) {
  return s.size() >= 5 && IsDigit(s[0]) && IsDigit(s[1]) && s[2] == ':';
}

// Parses an ISO 8601 date or date-time held in an attribute value. The shape check first
// keeps the common "not a date" case free of the error path (which allocates).
bool ParseDateTimeValue(std::string_view s, TimeMs* t) {
  if (!LooksLikeDate(s)) return false;
  Result<TimeMs> r = ParseIso8601(s);
  if (!r.ok()) return false;
  *t = *r;
  return true;
}

// ---------------------------------------------------------------------------------------------
// A small regular-expression engine: ECMAScript syntax (no backreferences, no lookaround),
// compiled to a Pike VM that runs in O(pattern × text) time. std::regex backtracks, which
// makes patterns like (a+)+b exponential and recurses once per character of the subject.

enum class ROp : uint8_t {
  kChar,
  kAny,
  kClass,
  kSplit,
  kJmp,
  kBol,
  kEol,
  kWordB,
  kNotWordB,
  kMatch
};

struct RInst {
  ROp op;
  uint32_t x = 0;  // kSplit/kJmp target; kClass index
  uint32_t y = 0;  // kSplit second target
  char32_t c = 0;  // kChar
};

struct CharRange {
  char32_t lo, hi;
};

struct CharClass {
  std::vector<CharRange> ranges;  // sorted, merged
  bool negated = false;
};

constexpr char32_t kMaxCp = 0x10FFFF + 0x100;  // includes the "malformed byte" code points
constexpr char32_t kNoChar = 0xFFFFFFFF;
constexpr size_t kMaxInsts = 4096;
constexpr int kMaxRepeat = 1000;

struct RNode {
  enum Kind : uint8_t {
    kEmpty,
    kLit,
    kAny,
    kClass,
    kBol,
    kEol,
    kWordB,
    kNotWordB,
    kCat,
    kAlt,
    kRepeat
  };
  Kind kind = kEmpty;
  char32_t c = 0;
  uint32_t cls = 0;
  int min = 0, max = 0;  // kRepeat; max < 0: unbounded
  std::vector<RNode> kids;
};

char32_t FoldAscii(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
char32_t UpperAscii(char32_t c) { return (c >= 'a' && c <= 'z') ? c - 32 : c; }
bool IsWordCp(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsLineTerminator(char32_t c) { return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029; }

void Normalize(std::vector<CharRange>* r) {
  std::sort(r->begin(), r->end(), [](CharRange a, CharRange b) { return a.lo < b.lo; });
  std::vector<CharRange> out;
  for (CharRange x : *r) {
    if (!out.empty() && x.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, x.hi);
    } else {
      out.push_back(x);
    }
  }
  *r = std::move(out);
}

std::vector<CharRange> Complement(std::vector<CharRange> r) {
  Normalize(&r);
  std::vector<CharRange> out;
  char32_t next = 0;
  for (CharRange x : r) {
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= kMaxCp) out.push_back({next, kMaxCp});
  return out;
}

bool InRanges(const std::vector<CharRange>& r, char32_t c) {
  auto it = std::upper_bound(r.begin(), r.end(), c,
                             [](char32_t v, const CharRange& x) { return v < x.lo; });
  if (it == r.begin()) return false;
  --it;
  return c <= it->hi;
}

// The class escapes \d \w \s as ranges.
std::vector<CharRange> BuiltinClass(char e) {
  switch (e) {
    case 'd':
      return {{'0', '9'}};
    case 'w':
      return {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    default:  // 's'
      return {{'\t', '\r'},     {' ', ' '},       {0xA0, 0xA0},     {0x1680, 0x1680},
              {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
              {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
  }
}

class RegexParser {
 public:
  RegexParser(std::u32string_view p, bool icase, std::vector<CharClass>* classes)
      : p_(p), icase_(icase), classes_(classes) {}

  // Returns an empty string on success, else the reason.
  std::string Parse(RNode* out) {
    std::string err = ParseAlt(out, 0);
    if (!err.empty()) return err;
    if (i_ < p_.size()) return "unmatched ')'";
    return {};
  }

 private:
  bool At(char32_t c) const { return i_ < p_.size() && p_[i_] == c; }

  std::string ParseAlt(RNode* out, int depth) {
    RNode alt;
    alt.kind = RNode::kAlt;
    for (;;) {
      RNode cat;
      std::string err = ParseCat(&cat, depth);
      if (!err.empty()) return err;
      alt.kids.push_back(std::move(cat));
      if (!At('|')) break;
      ++i_;
    }
    if (alt.kids.size() == 1) {
      *out = std::move(alt.kids[0]);
    } else {
      *out = std::move(alt);
    }
    return {};
  }

  std::string ParseCat(RNode* out, int depth) {
    out->kind = RNode::kCat;
    while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') {
      RNode atom;
      bool repeatable = true;
      std::string err = ParseAtom(&atom, depth, &repeatable);
      if (!err.empty()) return err;
      int min, max;
      bool quant;
      err = ParseQuantifier(&quant, &min, &max);
      if (!err.empty()) return err;
      if (quant) {
        if (!repeatable) return "nothing to repeat";
        if (At('?')) ++i_;  // lazy: the same for a yes/no match
        RNode rep;
        rep.kind = RNode::kRepeat;
        rep.min = min;
        rep.max = max;
        rep.kids.push_back(std::move(atom));
        atom = std::move(rep);
        bool again;
        err = ParseQuantifier(&again, &min, &max);
        if (!err.empty()) return err;
        if (again) return "nothing to repeat";
      }
      out->kids.push_back(std::move(atom));
    }
    if (out->kids.empty()) {
      out->kind = RNode::kEmpty;
    } else if (out->kids.size() == 1) {
      RNode only = std::move(out->kids[0]);
      *out = std::move(only);
    }
    return {};
  }

  // Reads a quantifier at i_ if there is one; a '{' that does not start a valid quantifier
  // is a literal (ECMAScript Annex B) and is left alone.
  std::string ParseQuantifier(bool* found, int* min, int* max) {
    *found = false;
    if (i_ >= p_.size()) return {};
    char32_t c = p_[i_];
    if (c == '*' || c == '+' || c == '?') {
      *found = true;
      *min = c == '+' ? 1 : 0;
      *max = c == '?' ? 1 : -1;
      ++i_;
      return {};
    }
    if (c != '{') return {};
    size_t j = i_ + 1;
    auto number = [&](int* v) {
      size_t start = j;
      long long n = 0;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9') {
        n = std::min<long long>(n * 10 + (p_[j] - '0'), 1000000);
        ++j;
      }
      *v = static_cast<int>(n);
      return j > start;
    };
    int lo, hi;
    if (!number(&lo)) return {};
    hi = lo;
    if (j < p_.size() && p_[j] == ',') {
      ++j;
      if (!number(&hi)) hi = -1;
    }
    if (j >= p_.size() || p_[j] != '}') return {};
    if (lo > kMaxRepeat || hi > kMaxRepeat) return "repetition count too large (max 1000)";
    if (hi >= 0 && hi < lo) return "numbers out of order in {} quantifier";
    i_ = j + 1;
    *found = true;
    *min = lo;
    *max = hi;
    return {};
  }

  uint32_t AddClass(std::vector<CharRange> ranges, bool negated) {
    Normalize(&ranges);
    classes_->push_back({std::move(ranges), negated});
    return static_cast<uint32_t>(classes_->size() - 1);
  }

  static int HexVal(char32_t c) {
    if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
    return -1;
  }

  // Reads n hex digits after i_ (i_ at the escape letter); on success moves past them.
  bool Hex(size_t n, char32_t* out) {
    if (i_ + n >= p_.size()) return false;
    char32_t v = 0;
    for (size_t k = 1; k <= n; ++k) {
      int h = HexVal(p_[i_ + k]);
      if (h < 0) return false;
      v = v * 16 + static_cast<char32_t>(h);
    }
    i_ += n;
    *out = v;
    return true;
  }

  // An escape after '\' (i_ at the letter). Sets either *c (one character) or *set (a class
  // escape such as \d). Moves i_ past the escape.
  std::string ParseEscape(bool in_class, char32_t* c, std::vector<CharRange>* set, bool* is_set) {
    *is_set = false;
    if (i_ >= p_.size()) return "trailing backslash";
    char32_t e = p_[i_];
    switch (e) {
      case 'd':
      case 'w':
      case 's':
        *is_set = true;
        *set = BuiltinClass(static_cast<char>(e));
        break;
      case 'D':
      case 'W':
      case 'S':
        *is_set = true;
        *set = Complement(BuiltinClass(static_cast<char>(e + 32)));
        break;
      case 'n':
        *c = '\n';
        break;
      case 'r':
        *c = '\r';
        break;
      case 't':
        *c = '\t';
        break;
      case 'f':
        *c = '\f';
        break;
      case 'v':
        *c = '\v';
        break;
      case '0':
        *c = 0;
        break;
      case 'b':
        *c = 0x08;
        break;  // only reached inside a class
      case 'x':
        if (!Hex(2, c)) *c = 'x';
        break;
      case 'u':
        if (!Hex(4, c)) *c = 'u';
        break;
      case 'c':
        if (i_ + 1 < p_.size() && p_[i_ + 1] < 128 && IsAlpha(static_cast<char>(p_[i_ + 1]))) {
          ++i_;
          *c = p_[i_] % 32;
        } else {
          *c = '\\';
          return {};  // '\c' not followed by a letter: a literal backslash, 'c' comes next
        }
        break;
      default:
        if (e >= '1' && e <= '9' && !in_class) return "backreferences are not supported";
        *c = e;
    }
    ++i_;
    return {};
  }

  std::string ParseClass(RNode* out) {
    // i_ is just past '['.
    bool negated = false;
    if (At('^')) {
      negated = true;
      ++i_;
    }
    std::vector<CharRange> ranges;
    for (;;) {
      if (i_ >= p_.size()) return "missing ']'";
      if (p_[i_] == ']') {
        ++i_;
        break;
      }
      char32_t lo = 0;
      bool lo_set = false;
      std::vector<CharRange> set;
      std::string err = ClassAtom(&lo, &set, &lo_set);
      if (!err.empty()) return err;
      if (lo_set) {
        ranges.insert(ranges.end(), set.begin(), set.end());
        continue;
      }
      if (At('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        char32_t hi = 0;
        bool hi_set = false;
        std::vector<CharRange> set2;
        err = ClassAtom(&hi, &set2, &hi_set);
        if (!err.empty()) return err;
        if (hi_set) {  // [a-\d]: '-' is literal
          ranges.push_back({lo, lo});
          ranges.push_back({'-', '-'});
          ranges.insert(ranges.end(), set2.begin(), set2.end());
          continue;
        }
        if (hi < lo) return "range out of order in character class";
        ranges.push_back({lo, hi});
        continue;
      }
      ranges.push_back({lo, lo});
    }
    out->kind = RNode::kClass;
    out->cls = AddClass(std::move(ranges), negated);
    return {};
  }

  std::string ClassAtom(char32_t* c, std::vector<CharRange>* set, bool* is_set) {
    *is_set = false;
    if (p_[i_] == '\\') {
      ++i_;
      return ParseEscape(/*in_class=*/true, c, set, is_set);
    }
    *c = p_[i_++];
    return {};
  }

  std::string ParseAtom(RNode* out, int depth, bool* repeatable) {
    char32_t c = p_[i_];
    switch (c) {
      case '(': {
        if (depth + 1 > kMaxDepth) return "groups nested too deeply";
        ++i_;
        if (At('?')) {
          if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
            i_ += 2;
          } else if (i_ + 1 < p_.size() && p_[i_ + 1] == '<' && i_ + 2 < p_.size() &&
                     p_[i_ + 2] != '=' && p_[i_ + 2] != '!') {
            // Named group (?<name>...): the name does not matter for a yes/no match.
            size_t j = i_ + 2;
            while (j < p_.size() && p_[j] != '>') ++j;
            if (j >= p_.size()) return "invalid group name";
            i_ = j + 1;
          } else if (i_ + 1 < p_.size() &&
                     (p_[i_ + 1] == '=' || p_[i_ + 1] == '!' || p_[i_ + 1] == '<')) {
            return "lookaround is not supported";
          } else {
            return "invalid group";
          }
        }
        std::string err = ParseAlt(out, depth + 1);
        if (!err.empty()) return err;
        if (!At(')')) return "missing ')'";
        ++i_;
        return {};
      }
      case '[':
        ++i_;
        return ParseClass(out);
      case '.':
        ++i_;
        out->kind = RNode::kAny;
        return {};
      case '^':
      case '$':
        ++i_;
        out->kind = c == '^' ? RNode::kBol : RNode::kEol;
        *repeatable = false;
        return {};
      case '*':
      case '+':
      case '?':
        return "nothing to repeat";
      case '{': {
        bool quant;
        int min, max;
        std::string err = ParseQuantifier(&quant, &min, &max);
        if (!err.empty()) return err;
        if (quant) return "nothing to repeat";
        ++i_;
        out->kind = RNode::kLit;
        out->c = '{';
        return {};
      }
      case '\\': {
        ++i_;
        if (At('b') || At('B')) {
          out->kind = p_[i_] == 'b' ? RNode::kWordB : RNode::kNotWordB;
          ++i_;
          *repeatable = false;
          return {};
        }
        char32_t ch = 0;
        bool is_set;
        std::vector<CharRange> set;
        std::string err = ParseEscape(/*in_class=*/false, &ch, &set, &is_set);
        if (!err.empty()) return err;
        if (is_set) {
          out->kind = RNode::kClass;
          out->cls = AddClass(std::move(set), false);
        } else {
          out->kind = RNode::kLit;
          out->c = icase_ ? FoldAscii(ch) : ch;
        }
        return {};
      }
      default:
        ++i_;
        out->kind = RNode::kLit;
        out->c = icase_ ? FoldAscii(c) : c;
        return {};
    }
  }

  std::u32string_view p_;
  size_t i_ = 0;
  bool icase_;
  std::vector<CharClass>* classes_;
};

class RegexCompiler {
 public:
  explicit RegexCompiler(std::vector<RInst>* prog) : prog_(prog) {}

  // False when the program grows past kMaxInsts.
  bool Emit(const RNode& n) {
    if (prog_->size() > kMaxInsts) return false;
    switch (n.kind) {
      case RNode::kEmpty:
        return true;
      case RNode::kLit:
        return Push({ROp::kChar, 0, 0, n.c});
      case RNode::kAny:
        return Push({ROp::kAny});
      case RNode::kClass:
        return Push({ROp::kClass, n.cls});
      case RNode::kBol:
        return Push({ROp::kBol});
      case RNode::kEol:
        return Push({ROp::kEol});
      case RNode::kWordB:
        return Push({ROp::kWordB});
      case RNode::kNotWordB:
        return Push({ROp::kNotWordB});
      case RNode::kCat:
        for (const RNode& k : n.kids) {
          if (!Emit(k)) return false;
        }
        return true;
      case RNode::kAlt: {
        std::vector<size_t> jumps;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          if (i + 1 < n.kids.size()) {
            size_t split = prog_->size();
            if (!Push({ROp::kSplit, static_cast<uint32_t>(split + 1)})) return false;
            if (!Emit(n.kids[i])) return false;
            jumps.push_back(prog_->size());
            if (!Push({ROp::kJmp})) return false;
            (*prog_)[split].y = Here();
          } else if (!Emit(n.kids[i])) {
            return false;
          }
        }
        for (size_t j : jumps) (*prog_)[j].x = Here();
        return true;
      }
      case RNode::kRepeat: {
        const RNode& body = n.kids[0];
        for (int i = 0; i < n.min; ++i) {
          if (!Emit(body)) return false;
        }
        if (n.max < 0) {
          size_t loop = prog_->size();
          if (!Push({ROp::kSplit, static_cast<uint32_t>(loop + 1)})) return false;
          if (!Emit(body)) return false;
          if (!Push({ROp::kJmp, static_cast<uint32_t>(loop)})) return false;
          (*prog_)[loop].y = Here();
          return true;
        }
        std::vector<size_t> splits;
        for (int i = n.min; i < n.max; ++i) {
          splits.push_back(prog_->size());
          if (!Push({ROp::kSplit, Here() + 1})) return false;
          if (!Emit(body)) return false;
        }
        for (size_t s : splits) (*prog_)[s].y = Here();
        return true;
      }
    }
    return false;
  }

 private:
  uint32_t Here() const { return static_cast<uint32_t>(prog_->size()); }
  bool Push(RInst in) {
    if (prog_->size() >= kMaxInsts) return false;
    prog_->push_back(in);
    return true;
  }
  std::vector<RInst>* prog_;
};

class Regex {
 public:
  // Compiles a UTF-8 pattern; nullptr with *error set on failure.
  static std::unique_ptr<Regex> Compile(std::string_view pattern, bool icase, std::string* error) {
    std::u32string cps;
    for (size_t i = 0; i < pattern.size();) {
      size_t len;
      cps.push_back(DecodeUtf8(pattern, i, &len));
      i += len;
    }
    auto re = std::unique_ptr<Regex>(new Regex());
    re->icase_ = icase;
    RNode root;
    RegexParser parser(cps, icase, &re->classes_);
    *error = parser.Parse(&root);
    if (!error->empty()) return nullptr;
    RegexCompiler compiler(&re->prog_);
    if (!compiler.Emit(root) || re->prog_.size() >= kMaxInsts) {
      *error = "pattern too complex";
      return nullptr;
    }
    re->prog_.push_back({ROp::kMatch});
    re->anchored_ = !re->prog_.empty() && re->prog_[0].op == ROp::kBol;
    return re;
  }

  // Does the pattern match anywhere in `s`? Allocation-free once the calling thread's
  // scratch space has grown to the program size.
  bool Search(std::string_view s) const {
    Scratch& sc = scratch_;
    const size_t n = prog_.size();
    sc.a.Reset(n);
    sc.b.Reset(n);
    if (sc.stack.capacity() < 2 * n + 2) sc.stack.reserve(2 * n + 2);
    SparseSet* clist = &sc.a;
    SparseSet* nlist = &sc.b;
    size_t pos = 0, len = 0;
    char32_t prev = kNoChar;
    char32_t cur = s.empty() ? kNoChar : DecodeUtf8(s, 0, &len);
    for (;;) {
      if (!anchored_ || pos == 0) {
        Ctx ctx{pos == 0, pos == s.size(), IsWordCp(prev), IsWordCp(cur)};
        if (AddThread(clist, 0, ctx, &sc.stack)) return true;
      }
      if (pos == s.size() || (anchored_ && clist->n == 0)) return false;
      const char32_t c = cur;
      const size_t next = pos + len;
      prev = cur;
      cur = next < s.size() ? DecodeUtf8(s, next, &len) : kNoChar;
      Ctx nctx{false, next == s.size(), IsWordCp(prev), IsWordCp(cur)};
      nlist->n = 0;
      const char32_t fc = icase_ ? FoldAscii(c) : c;
      for (uint32_t k = 0; k < clist->n; ++k) {
        const uint32_t pc = clist->dense[k];
        const RInst& in = prog_[pc];
        bool ok = false;
        switch (in.op) {
          case ROp::kChar:
            ok = fc == in.c;
            break;
          case ROp::kAny:
            ok = !IsLineTerminator(c);
            break;
          case ROp::kClass:
            ok = ClassMatch(classes_[in.x], c);
            break;
          default:
            break;
        }
        if (ok && AddThread(nlist, pc + 1, nctx, &sc.stack)) return true;
      }
      std::swap(clist, nlist);
      pos = next;
    }
  }

 private:
  Regex() = default;

  struct Ctx {
    bool at_start, at_end, prev_word, next_word;
  };

  struct SparseSet {
    std::vector<uint32_t> dense, sparse;
    uint32_t n = 0;
    void Reset(size_t cap) {
      if (sparse.size() < cap) {
        sparse.resize(cap);
        dense.resize(cap);
      }
      n = 0;
    }
    bool Contains(uint32_t v) const {
      uint32_t s = sparse[v];
      return s < n && dense[s] == v;
    }
    void Insert(uint32_t v) {
      sparse[v] = n;
      dense[n++] = v;
    }
  };

  struct Scratch {
    SparseSet a, b;
    std::vector<uint32_t> stack;
  };

  bool ClassMatch(const CharClass& cls, char32_t c) const {
    bool in = InRanges(cls.ranges, c);
    if (!in && icase_) {
      in = InRanges(cls.ranges, FoldAscii(c)) || InRanges(cls.ranges, UpperAscii(c));
    }
    return in != cls.negated;
  }

  // Adds pc and everything reachable from it without consuming input. True on a match.
  bool AddThread(SparseSet* set, uint32_t pc, const Ctx& ctx, std::vector<uint32_t>* stack) const {
    stack->clear();
    stack->push_back(pc);
    while (!stack->empty()) {
      uint32_t p = stack->back();
      stack->pop_back();
      if (set->Contains(p)) continue;
      set->Insert(p);
      const RInst& in = prog_[p];
      switch (in.op) {
        case ROp::kMatch:
          return true;
        case ROp::kJmp:
          stack->push_back(in.x);
          break;
        case ROp::kSplit:
          stack->push_back(in.y);
          stack->push_back(in.x);
          break;
        case ROp::kBol:
          if (ctx.at_start) stack->push_back(p + 1);
          break;
        case ROp::kEol:
          if (ctx.at_end) stack->push_back(p + 1);
          break;
        case ROp::kWordB:
          if (ctx.prev_word != ctx.next_word) stack->push_back(p + 1);
          break;
        case ROp::kNotWordB:
          if (ctx.prev_word == ctx.next_word) stack->push_back(p + 1);
          break;
        default:
          break;  // consumes a character: handled by the step loop
      }
    }
    return false;
  }

  std::vector<RInst> prog_;
  std::vector<CharClass> classes_;
  bool icase_ = false;
  bool anchored_ = false;
  static thread_local Scratch scratch_;
};

thread_local Regex::Scratch Regex::scratch_;

// ---------------------------------------------------------------------------------------------
// The expression tree.

enum class Op : uint8_t { kExists, kEq, kNe, kGt, kGe, kLt, kLe, kMatch, kNoMatch };
enum class LitKind : uint8_t { kNumber, kString, kBare, kBool, kDateTime, kTime };
enum class Shape : uint8_t { kSingle, kList, kRange };
enum class Member : uint8_t { kNone, kObservedAt, kCreatedAt, kModifiedAt, kUnitCode, kDatasetId };

struct Literal {
  LitKind kind = LitKind::kBare;
  bool is_int = false;
  bool b = false;
  bool has_time = false;  // a quoted string holding a date-time: t is set
  bool has_tod = false;   // a quoted string holding a time of day: tod is set
  int64_t i = 0;
  double d = 0;
  TimeMs t = 0;
  int64_t tod = 0;
  std::string s;  // kString, kBare
};

struct PathSeg {
  std::string name;
  Member member = Member::kNone;
};

struct Term {
  std::string attr;
  std::vector<PathSeg> path;      // sub-attributes after attr; a member only as the last one
  std::vector<std::string> keys;  // [key] path into the value
  Op op = Op::kExists;
  Shape shape = Shape::kSingle;
  std::vector<Literal> values;  // kRange: {min, max}
  std::unique_ptr<Regex> re;
};

struct Node {
  enum Kind : uint8_t { kTerm, kAnd, kOr };
  Kind kind;
  uint32_t a;  // kTerm: term index; else first index into kids
  uint32_t b;  // end index into kids
};

}  // namespace q_internal

class QExpr {
 public:
  std::vector<q_internal::Term> terms;
  std::vector<q_internal::Node> nodes;
  std::vector<uint32_t> kids;
  uint32_t root = 0;
  std::vector<std::string> attrs;
};

namespace q_internal {
namespace {

// ---------------------------------------------------------------------------------------------
// Parser.

bool IsNameChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == ':' || c == '/' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Characters that end an unquoted value.
bool IsBareStop(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u == 0x7f) return true;
  switch (c) {
    case ';':
    case '|':
    case '(':
    case ')':
    case ',':
    case '"':
    case '[':
    case ']':
    case '=':
    case '<':
    case '>':
    case '!':
    case '~':
    case '\\':
    case '{':
    case '}':
    case '^':
    case '`':
      return true;
    default:
      return false;
  }
}

bool IsOpChar(char c) { return c == '=' || c == '!' || c == '<' || c == '>' || c == '~'; }

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kMatch:
      return "~=";
    case Op::kNoMatch:
      return "!~=";
    case Op::kExists:
      break;
  }
  return "";
}

Member MemberOf(std::string_view s) {
  if (s == "observedAt") return Member::kObservedAt;
  if (s == "createdAt") return Member::kCreatedAt;
  if (s == "modifiedAt") return Member::kModifiedAt;
  if (s == "unitCode") return Member::kUnitCode;
  if (s == "datasetId") return Member::kDatasetId;
  return Member::kNone;
}

// [+-]? (digits ('.' digits)? | '.' digits) ([eE] [+-]? digits)?
bool IsNumberSyntax(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t frac = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac;
    if (frac == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

class QParser {
 public:
  QParser(std::string_view q, QExpr* out) : q_(q), out_(out) {}

  Status Parse() {
    if (q_.size() > kMaxQLength) {
      return Status::InvalidRequest("q: query too long (" + std::to_string(q_.size()) +
                                    " bytes, max " + std::to_string(kMaxQLength) + ")");
    }
    SkipSpaces();
    if (AtEnd()) return Status::InvalidRequest("q: empty query");
    uint32_t root = 0;
    CB_RETURN_IF_ERROR(ParseOr(0, &root));
    SkipSpaces();
    if (!AtEnd()) {
      if (Peek() == ')') return Error("unbalanced ')'", pos_);
      return Unexpected();
    }
    out_->root = root;
    for (const Term& t : out_->terms) {
      if (std::find(out_->attrs.begin(), out_->attrs.end(), t.attr) == out_->attrs.end()) {
        out_->attrs.push_back(t.attr);
      }
    }
    return Status::Ok();
  }

 private:
  bool AtEnd() const { return pos_ >= q_.size(); }
  char Peek() const { return AtEnd() ? '\0' : q_[pos_]; }
  void SkipSpaces() {
    while (!AtEnd() && (q_[pos_] == ' ' || q_[pos_] == '\t')) ++pos_;
  }

  static Status Error(std::string_view what, size_t pos) {
    return Status::InvalidRequest("q: " + std::string(what) + " at position " +
                                  std::to_string(pos));
  }
  Status Unexpected() const {
    return Error("unexpected character " + DescribeChar(q_[pos_]), pos_);
  }

  uint32_t AddGroup(Node::Kind kind, const std::vector<uint32_t>& kids) {
    auto first = static_cast<uint32_t>(out_->kids.size());
    out_->kids.insert(out_->kids.end(), kids.begin(), kids.end());
    out_->nodes.push_back({kind, first, static_cast<uint32_t>(out_->kids.size())});
    return static_cast<uint32_t>(out_->nodes.size() - 1);
  }

  Status ParseOr(int depth, uint32_t* node) {
    std::vector<uint32_t> kids;
    for (;;) {
      uint32_t n = 0;
      CB_RETURN_IF_ERROR(ParseAnd(depth, &n));
      kids.push_back(n);
      SkipSpaces();
      if (Peek() != '|') break;
      ++pos_;
    }
    *node = kids.size() == 1 ? kids[0] : AddGroup(Node::kOr, kids);
    return Status::Ok();
  }

  Status ParseAnd(int depth, uint32_t* node) {
    std::vector<uint32_t> kids;
    for (;;) {
      uint32_t n = 0;
      CB_RETURN_IF_ERROR(ParseFactor(depth, &n));
      kids.push_back(n);
      SkipSpaces();
      if (Peek() != ';') break;
      ++pos_;
    }
    *node = kids.size() == 1 ? kids[0] : AddGroup(Node::kAnd, kids);
    return Status::Ok();
  }

  Status ParseFactor(int depth, uint32_t* node) {
    SkipSpaces();
    if (Peek() != '(') return ParseTerm(node);
    size_t open = pos_;
    if (depth + 1 > kMaxDepth) {
      return Error("expression nested too deeply (max " + std::to_string(kMaxDepth) + ")", open);
    }
    ++pos_;
    CB_RETURN_IF_ERROR(ParseOr(depth + 1, node));
    SkipSpaces();
    if (AtEnd()) return Error("missing ')' to close '('", open);
    if (Peek() != ')') return Unexpected();
    ++pos_;
    return Status::Ok();
  }

  Status ParseName(std::string* out, std::string_view what) {
    size_t start = pos_;
    while (!AtEnd() && IsNameChar(q_[pos_])) ++pos_;
    if (pos_ == start) {
      if (AtEnd()) return Error("missing " + std::string(what), pos_);
      return Error("unexpected character " + DescribeChar(q_[pos_]) + " (expected " +
                       std::string(what) + ")",
                   pos_);
    }
    if (pos_ - start > kMaxNameLen) {
      return Error(std::string(what) + " too long (max " + std::to_string(kMaxNameLen) + " bytes)",
                   start);
    }
    out->assign(q_.substr(start, pos_ - start));
    return Status::Ok();
  }

  Status ParseTerm(uint32_t* node) {
    SkipSpaces();
    const size_t start = pos_;
    if (AtEnd() || Peek() == ';' || Peek() == '|' || Peek() == ')') {
      return Error("empty term", start);
    }
    if (!IsNameChar(Peek())) return Unexpected();
    Term t;
    CB_RETURN_IF_ERROR(ParseName(&t.attr, "attribute name"));
    while (Peek() == '.') {
      if (!t.path.empty() && t.path.back().member != Member::kNone) {
        return Error("nothing may follow '." + t.path.back().name + "'", pos_);
      }
      ++pos_;
      PathSeg seg;
      CB_RETURN_IF_ERROR(ParseName(&seg.name, "sub-attribute name"));
      seg.member = MemberOf(seg.name);
      t.path.push_back(std::move(seg));
    }
    while (Peek() == '[') {
      if (!t.path.empty() && t.path.back().member != Member::kNone) {
        return Error("nothing may follow '." + t.path.back().name + "'", pos_);
      }
      const size_t open = pos_++;
      size_t kstart = pos_;
      while (!AtEnd() && q_[pos_] != ']' && q_[pos_] != '[' &&
             static_cast<unsigned char>(q_[pos_]) >= 0x20) {
        ++pos_;
      }
      if (AtEnd()) return Error("missing ']' for '['", open);
      if (q_[pos_] != ']') return Unexpected();
      if (pos_ == kstart) return Error("empty key in '[]'", open);
      if (pos_ - kstart > kMaxNameLen) return Error("key too long", kstart);
      t.keys.emplace_back(q_.substr(kstart, pos_ - kstart));
      ++pos_;
    }
    SkipSpaces();
    if (IsOpChar(Peek())) {
      const size_t op_pos = pos_;
      while (!AtEnd() && IsOpChar(q_[pos_])) ++pos_;
      std::string_view op = q_.substr(op_pos, pos_ - op_pos);
      if (op == "==") {
        t.op = Op::kEq;
      } else if (op == "!=") {
        t.op = Op::kNe;
      } else if (op == ">") {
        t.op = Op::kGt;
      } else if (op == ">=") {
        t.op = Op::kGe;
      } else if (op == "<") {
        t.op = Op::kLt;
      } else if (op == "<=") {
        t.op = Op::kLe;
      } else if (op == "~=") {
        t.op = Op::kMatch;
      } else if (op == "!~=") {
        t.op = Op::kNoMatch;
      } else {
        return Error("unknown operator '" + std::string(op) + "'", op_pos);
      }
      if (t.op == Op::kMatch || t.op == Op::kNoMatch) {
        CB_RETURN_IF_ERROR(ParseRegex(&t));
      } else {
        CB_RETURN_IF_ERROR(ParseValues(&t));
      }
    }
    out_->terms.push_back(std::move(t));
    out_->nodes.push_back({Node::kTerm, static_cast<uint32_t>(out_->terms.size() - 1), 0});
    *node = static_cast<uint32_t>(out_->nodes.size() - 1);
    return Status::Ok();
  }

  // A quoted string at pos_. In regex mode only \" is unescaped: every other backslash
  // belongs to the pattern.
  Status ParseQuoted(std::string* out, bool regex) {
    const size_t start = pos_++;
    for (;;) {
      if (AtEnd()) return Error("unterminated string starting", start);
      char c = q_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\\' && pos_ + 1 < q_.size()) {
        char n = q_[pos_ + 1];
        if (n == '"') {
          out->push_back('"');
        } else if (n == '\\') {
          out->append(regex ? "\\\\" : "\\");
        } else {
          out->push_back('\\');
          out->push_back(n);
        }
        pos_ += 2;
      } else {
        out->push_back(c);
        ++pos_;
      }
      if (out->size() > kMaxValueLen) {
        return Error("value too long (max " + std::to_string(kMaxValueLen) + " bytes)", start);
      }
    }
    return Status::Ok();
  }

  Status ParseLiteral(Literal* lit, Op op) {
    SkipSpaces();
    const size_t start = pos_;
    if (AtEnd() || Peek() == ';' || Peek() == '|' || Peek() == ')' || Peek() == ',') {
      return Error("missing value after '" + std::string(OpText(op)) + "'", start);
    }
    if (Peek() == '"') {
      CB_RETURN_IF_ERROR(ParseQuoted(&lit->s, /*regex=*/false));
      lit->kind = LitKind::kString;
      if (LooksLikeDate(lit->s)) {
        Result<TimeMs> r = ParseIso8601(lit->s);
        if (r.ok()) {
          lit->has_time = true;
          lit->t = *r;
        }
      } else if (LooksLikeTime(lit->s)) {
        lit->has_tod = ParseTimeOfDay(lit->s, &lit->tod);
      }
      return Status::Ok();
    }
    while (!AtEnd() && !IsBareStop(q_[pos_]) &&
           !(q_[pos_] == '.' && pos_ + 1 < q_.size() && q_[pos_ + 1] == '.')) {
      ++pos_;
    }
    if (pos_ == start) {
      if (Peek() == '.') return Error("missing value before '..'", start);
      return Unexpected();
    }
    std::string_view tok = q_.substr(start, pos_ - start);
    if (tok.size() > kMaxValueLen) {
      return Error("value too long (max " + std::to_string(kMaxValueLen) + " bytes)", start);
    }
    if (tok == "true" || tok == "false") {
      lit->kind = LitKind::kBool;
      lit->b = tok == "true";
    } else if (IsNumberSyntax(tok)) {
      lit->kind = LitKind::kNumber;
      std::string_view num = tok[0] == '+' ? tok.substr(1) : tok;
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), lit->d);
      if (ec != std::errc() || p != num.data() + num.size() || !std::isfinite(lit->d)) {
        return Error("number out of range '" + std::string(tok) + "'", start);
      }
      if (num.find_first_of(".eE") == std::string_view::npos) {
        auto [p2, ec2] = std::from_chars(num.data(), num.data() + num.size(), lit->i);
        lit->is_int = ec2 == std::errc() && p2 == num.data() + num.size();
      }
    } else if (LooksLikeDate(tok)) {
      Result<TimeMs> r = ParseIso8601(tok);
      if (!r.ok()) return Error("invalid date-time '" + std::string(tok) + "'", start);
      lit->kind = LitKind::kDateTime;
      lit->t = *r;
    } else if (LooksLikeTime(tok)) {
      if (!ParseTimeOfDay(tok, &lit->tod)) {
        return Error("invalid time '" + std::string(tok) + "'", start);
      }
      lit->kind = LitKind::kTime;
    } else {
      lit->kind = LitKind::kBare;
      lit->s.assign(tok);
    }
    return Status::Ok();
  }

  Status ParseValues(Term* t) {
    SkipSpaces();
    const size_t vpos = pos_;
    Literal first;
    CB_RETURN_IF_ERROR(ParseLiteral(&first, t->op));
    t->values.push_back(std::move(first));
    SkipSpaces();
    const bool equality = t->op == Op::kEq || t->op == Op::kNe;
    if (q_.substr(pos_, 2) == "..") {
      if (!equality) {
        return Error(
            "a range is only allowed with == and != (not '" + std::string(OpText(t->op)) + "')",
            vpos);
      }
      pos_ += 2;
      Literal hi;
      CB_RETURN_IF_ERROR(ParseLiteral(&hi, t->op));
      t->values.push_back(std::move(hi));
      t->shape = Shape::kRange;
      auto group = [](LitKind k) { return k == LitKind::kBare ? LitKind::kString : k; };
      LitKind k0 = group(t->values[0].kind), k1 = group(t->values[1].kind);
      if (k0 == LitKind::kBool || k1 == LitKind::kBool) {
        return Error("a range needs numbers, strings, date-times or times", vpos);
      }
      if (k0 != k1) return Error("range bounds of different types", vpos);
      return Status::Ok();
    }
    if (Peek() == ',') {
      if (!equality) {
        return Error("a value list is only allowed with == and != (not '" +
                         std::string(OpText(t->op)) + "')",
                     vpos);
      }
      while (Peek() == ',') {
        ++pos_;
        Literal v;
        CB_RETURN_IF_ERROR(ParseLiteral(&v, t->op));
        t->values.push_back(std::move(v));
        SkipSpaces();
      }
      t->shape = Shape::kList;
      return Status::Ok();
    }
    if (!equality) {
      LitKind k = t->values[0].kind;
      if (k == LitKind::kBool || k == LitKind::kBare) {
        return Error("operator '" + std::string(OpText(t->op)) +
                         "' needs a number, quoted string, date-time or time value",
                     vpos);
      }
    }
    return Status::Ok();
  }

  Status ParseRegex(Term* t) {
    SkipSpaces();
    const size_t start = pos_;
    std::string pattern;
    if (Peek() == '"') {
      CB_RETURN_IF_ERROR(ParseQuoted(&pattern, /*regex=*/true));
    } else {
      // Unquoted: up to ';' or '|' outside () and [], or an unbalanced ')'.
      int depth = 0;
      bool in_class = false;
      while (!AtEnd()) {
        char c = q_[pos_];
        if (c == '\\') {
          pos_ = std::min(pos_ + 2, q_.size());
          continue;
        }
        if (in_class) {
          if (c == ']') in_class = false;
        } else if (c == '[') {
          in_class = true;
        } else if (c == '(') {
          ++depth;
        } else if (c == ')') {
          if (depth == 0) break;
          --depth;
        } else if ((c == ';' || c == '|') && depth == 0) {
          break;
        }
        ++pos_;
      }
      pattern.assign(q_.substr(start, pos_ - start));
    }
    if (pattern.empty()) {
      return Error("missing regular expression after '" + std::string(OpText(t->op)) + "'", start);
    }
    if (pattern.size() > kMaxRegexLen) {
      return Error("regular expression too long (max " + std::to_string(kMaxRegexLen) + " bytes)",
                   start);
    }
    bool icase = false;
    std::string_view body = pattern;
    if (body.substr(0, 4) == "(?i)") {
      icase = true;
      body.remove_prefix(4);
    }
    std::string error;
    t->re = Regex::Compile(body, icase, &error);
    if (!t->re) return Error("invalid regular expression (" + error + ")", start);
    return Status::Ok();
  }

  std::string_view q_;
  size_t pos_ = 0;
  QExpr* out_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation.

// One comparable value taken from an entity.
struct Scalar {
  enum Kind : uint8_t { kNone, kNumber, kString, kBool, kDateTime, kTime };
  Kind kind = kNone;
  bool is_int = false;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  int64_t t = 0;  // kDateTime: TimeMs; kTime: ms since midnight
  std::string_view s;
};

Scalar ScalarOf(const JsonValue& v) {
  Scalar x;
  switch (v.type()) {
    case JsonValue::Type::kInt:
      x.kind = Scalar::kNumber;
      x.is_int = true;
      x.i = v.as_int();
      x.d = static_cast<double>(x.i);
      break;
    case JsonValue::Type::kDouble:
      x.kind = Scalar::kNumber;
      x.d = v.as_double();
      break;
    case JsonValue::Type::kString:
      x.kind = Scalar::kString;
      x.s = v.as_string();
      break;
    case JsonValue::Type::kBool:
      x.kind = Scalar::kBool;
      x.b = v.as_bool();
      break;
    case JsonValue::Type::kObject: {
      // JSON-LD value object: {"@type": "DateTime", "@value": "2018-12-04T12:00:00Z"}.
      const JsonValue* val = v.Find("@value");
      if (val == nullptr || val->is_object() || val->is_array()) break;
      const JsonValue* type = v.Find("@type");
      if (type != nullptr && type->is_string() && val->is_string()) {
        std::string_view ty = type->as_string();
        if (ty == "DateTime" || ty == "Date") {
          if (ParseDateTimeValue(val->as_string(), &x.t)) x.kind = Scalar::kDateTime;
          break;
        }
        if (ty == "Time") {
          if (ParseTimeOfDay(val->as_string(), &x.t)) x.kind = Scalar::kTime;
          break;
        }
      }
      return ScalarOf(*val);
    }
    default:
      break;
  }
  return x;
}

template <typename T>
int Cmp3(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// -1, 0, 1 as x is below, equal to or above the literal; kNoCmp when they do not compare.
int Compare(const Scalar& x, const Literal& l) {
  switch (l.kind) {
    case LitKind::kNumber:
      if (x.kind != Scalar::kNumber) return kNoCmp;
      if (x.is_int && l.is_int) return Cmp3(x.i, l.i);
      if (std::isnan(x.d)) return kNoCmp;
      return Cmp3(x.d, l.d);
    case LitKind::kString:
      if (x.kind == Scalar::kString) return Cmp3(x.s, std::string_view(l.s));
      if (x.kind == Scalar::kDateTime && l.has_time) return Cmp3(x.t, l.t);
      if (x.kind == Scalar::kTime && l.has_tod) return Cmp3(x.t, l.tod);
      return kNoCmp;
    case LitKind::kBare:
      if (x.kind == Scalar::kString) return Cmp3(x.s, std::string_view(l.s));
      return kNoCmp;
    case LitKind::kBool:
      if (x.kind != Scalar::kBool) return kNoCmp;
      return Cmp3(x.b, l.b);
    case LitKind::kDateTime: {
      if (x.kind == Scalar::kDateTime) return Cmp3(x.t, l.t);
      TimeMs t;
      if (x.kind == Scalar::kString && ParseDateTimeValue(x.s, &t)) return Cmp3(t, l.t);
      return kNoCmp;
    }
    case LitKind::kTime: {
      if (x.kind == Scalar::kTime) return Cmp3(x.t, l.tod);
      int64_t tod;
      if (x.kind == Scalar::kString && ParseTimeOfDay(x.s, &tod)) return Cmp3(tod, l.tod);
      return kNoCmp;
    }
  }
  return kNoCmp;
}

// Whether the term's positive predicate (equality for == and !=, a regex match for ~= and
// !~=) holds for x: 1 or 0, or kNoCmp when x does not compare with the term's value(s).
int Positive(const Term& t, const Scalar& x) {
  switch (t.op) {
    case Op::kExists:
      return 1;
    case Op::kMatch:
    case Op::kNoMatch:
      if (x.kind != Scalar::kString) return kNoCmp;
      return t.re->Search(x.s) ? 1 : 0;
    case Op::kEq:
    case Op::kNe: {
      if (t.shape == Shape::kRange) {
        int lo = Compare(x, t.values[0]);
        int hi = Compare(x, t.values[1]);
        if (lo == kNoCmp || hi == kNoCmp) return kNoCmp;
        return lo >= 0 && hi <= 0 ? 1 : 0;
      }
      int result = kNoCmp;
      for (const Literal& l : t.values) {
        int c = Compare(x, l);
        if (c == 0) return 1;
        if (c != kNoCmp) result = 0;
      }
      return result;
    }
    default: {
      int c = Compare(x, t.values[0]);
      if (c == kNoCmp) return kNoCmp;
      switch (t.op) {
        case Op::kGt:
          return c > 0;
        case Op::kGe:
          return c >= 0;
        case Op::kLt:
          return c < 0;
        case Op::kLe:
          return c <= 0;
        default:
          return 0;
      }
    }
  }
}

// Walks the values a term's path reaches, calling f(Scalar) for each (array elements and
// language strings one by one) until f returns true. *exists is set once the path resolves.
// Returns true when f asked to stop.
template <typename F>
bool VisitLeaf(const JsonValue& v, bool lang, F& f) {
  if (v.is_array()) {
    for (const JsonValue& el : v.as_array()) {
      if (f(ScalarOf(el))) return true;
    }
    return false;
  }
  if (lang && v.is_object()) {
    for (const JsonValue::Member& m : v.as_object()) {  // language → text
      if (VisitLeaf(m.second, false, f)) return true;
    }
    return false;
  }
  return f(ScalarOf(v));
}

template <typename F>
bool VisitKeys(const Term& t, size_t k, const JsonValue& v, bool lang, F& f, bool* exists) {
  if (k == t.keys.size()) {
    *exists = true;
    return VisitLeaf(v, lang, f);
  }
  if (v.is_object()) {
    const JsonValue* m = v.Find(t.keys[k]);
    return m != nullptr && VisitKeys(t, k + 1, *m, false, f, exists);
  }
  if (v.is_array()) {  // one level of arrays of objects: any element
    for (const JsonValue& el : v.as_array()) {
      if (!el.is_object()) continue;
      const JsonValue* m = el.Find(t.keys[k]);
      if (m != nullptr && VisitKeys(t, k + 1, *m, false, f, exists)) return true;
    }
  }
  return false;
}

std::string_view MemberJsonName(Member m) {
  switch (m) {
    case Member::kObservedAt:
      return "observedAt";
    case Member::kCreatedAt:
      return "createdAt";
    case Member::kModifiedAt:
      return "modifiedAt";
    case Member::kUnitCode:
      return "unitCode";
    case Member::kDatasetId:
      return "datasetId";
    case Member::kNone:
      break;
  }
  return "";
}

bool IsReservedMember(std::string_view s) {
  return s == "type" || s == "value" || s == "object" || s == "languageMap" || s == "objectType" ||
         s == "@context" || s == "lang" || s == "instanceId";
}

// attr_json is a sub-attribute in normalized form; t.path[seg..] is still to walk.
template <typename F>
bool VisitSubAttr(const Term& t, size_t seg, const JsonValue& attr_json, F& f, bool* exists) {
  if (seg == t.path.size()) {
    if (!attr_json.is_object()) return VisitKeys(t, 0, attr_json, false, f, exists);
    if (const JsonValue* v = attr_json.Find("value")) return VisitKeys(t, 0, *v, false, f, exists);
    if (const JsonValue* v = attr_json.Find("object")) {
      return VisitKeys(t, 0, *v, false, f, exists);
    }
    if (const JsonValue* v = attr_json.Find("languageMap")) {
      return VisitKeys(t, 0, *v, true, f, exists);
    }
    if (t.keys.empty()) *exists = true;  // an attribute without a value: it exists
    return false;
  }
  if (!attr_json.is_object()) return false;
  const PathSeg& ps = t.path[seg];
  if (ps.member != Member::kNone) {
    const JsonValue* m = attr_json.Find(MemberJsonName(ps.member));
    if (m == nullptr) return false;
    *exists = true;
    Scalar x = ScalarOf(*m);
    bool is_time = ps.member == Member::kObservedAt || ps.member == Member::kCreatedAt ||
                   ps.member == Member::kModifiedAt;
    TimeMs tm;
    if (is_time && x.kind == Scalar::kString && ParseDateTimeValue(x.s, &tm)) {
      x.kind = Scalar::kDateTime;
      x.t = tm;
    }
    return f(x);
  }
  if (IsReservedMember(ps.name)) return false;
  const JsonValue* sub = attr_json.Find(ps.name);
  if (sub == nullptr || !sub->is_object()) return false;
  return VisitSubAttr(t, seg + 1, *sub, f, exists);
}

template <typename F>
bool VisitAttr(const Term& t, const Attribute& a, F& f, bool* exists) {
  if (t.path.empty()) {
    return VisitKeys(t, 0, a.value, a.kind == AttrKind::kLanguageProperty, f, exists);
  }
  const PathSeg& first = t.path[0];
  Scalar x;
  switch (first.member) {
    case Member::kObservedAt:
    case Member::kCreatedAt:
    case Member::kModifiedAt: {
      TimeMs tm = first.member == Member::kObservedAt  ? a.observed_at
                  : first.member == Member::kCreatedAt ? a.created_at
                                                       : a.modified_at;
      if (tm == kNoTime) return false;
      x.kind = Scalar::kDateTime;
      x.t = tm;
      *exists = true;
      return f(x);
    }
    case Member::kUnitCode:
    case Member::kDatasetId: {
      const std::string& s = first.member == Member::kUnitCode ? a.unit_code : a.dataset_id;
      if (s.empty()) return false;
      x.kind = Scalar::kString;
      x.s = s;
      *exists = true;
      return f(x);
    }
    case Member::kNone:
      break;
  }
  for (const auto& [name, sub] : a.sub_attrs) {
    if (name == first.name) return VisitSubAttr(t, 1, sub, f, exists);
  }
  return false;
}

bool EvalTerm(const Term& t, const Entity& e) {
  const bool negative = t.op == Op::kNe || t.op == Op::kNoMatch;
  bool exists = false;
  bool comparable = false;
  bool positive = false;
  auto f = [&](const Scalar& x) {
    int p = Positive(t, x);
    if (p == kNoCmp) return false;
    comparable = true;
    if (p == 1) positive = true;
    return positive;  // one positive element decides either way
  };
  for (const NamedAttribute& na : e.attrs) {  // every instance (datasetId) of the attribute
    if (na.name != t.attr) continue;
    if (VisitAttr(t, na.attr, f, &exists)) break;
    if (t.op == Op::kExists && exists) break;
  }
  if (t.op == Op::kExists) return exists;
  if (negative) return comparable && !positive;
  return positive;
}

bool EvalNode(const QExpr& q, uint32_t n, const Entity& e) {
  const Node& node = q.nodes[n];
  switch (node.kind) {
    case Node::kTerm:
      return EvalTerm(q.terms[node.a], e);
    case Node::kAnd:
      for (uint32_t k = node.a; k < node.b; ++k) {
        if (!EvalNode(q, q.kids[k], e)) return false;
      }
      return true;
    case Node::kOr:
      for (uint32_t k = node.a; k < node.b; ++k) {
        if (EvalNode(q, q.kids[k], e)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace
}  // namespace q_internal

Result<std::shared_ptr<const QExpr>> ParseQ(std::string_view q) {
  auto expr = std::make_shared<QExpr>();
  q_internal::QParser parser(q, expr.get());
  Status st = parser.Parse();
  if (!st.ok()) return st;
  return std::shared_ptr<const QExpr>(std::move(expr));
}

bool Matches(const QExpr& q, const Entity& e) { return q_internal::EvalNode(q, q.root, e); }

std::vector<std::string> QAttributes(const QExpr& q) { return q.attrs; }

namespace q_internal {
namespace {

// The literal as an index key, when it compares with plain scalars the way index keys do:
// numbers by value, strings (quoted or bare) bytewise, booleans. Date-times and times also
// compare with strings that parse as such, in time order, so they do not qualify.
bool ScalarOfLiteral(const Literal& l, QScalar* out) {
  switch (l.kind) {
    case LitKind::kNumber:
      out->kind = QScalar::Kind::kNumber;
      out->number = l.d;  // integers compare exactly, but never out of double order
      return true;
    case LitKind::kString:
    case LitKind::kBare:
      out->kind = QScalar::Kind::kString;
      out->string = l.s;
      return true;
    case LitKind::kBool:
      out->kind = QScalar::Kind::kBool;
      out->number = l.b ? 1 : 0;
      return true;
    case LitKind::kDateTime:
    case LitKind::kTime:
      return false;
  }
  return false;
}

bool IndexableTerm(const Term& t, QIndexableTerm* out) {
  if (!t.path.empty() || !t.keys.empty()) return false;
  out->attr = t.attr;
  out->ranges.clear();
  out->whole = t.op == Op::kEq;
  QScalar v;
  switch (t.op) {
    case Op::kEq:
      if (t.shape == Shape::kRange) {
        QScalarRange r;
        if (!ScalarOfLiteral(t.values[0], &r.lo) || !ScalarOfLiteral(t.values[1], &r.hi) ||
            r.lo.kind != r.hi.kind) {
          return false;
        }
        out->ranges.push_back(std::move(r));
        return true;
      }
      for (const Literal& l : t.values) {  // a value, or any of a list
        if (!ScalarOfLiteral(l, &v)) return false;
        out->ranges.push_back({v, v});
      }
      return true;
    case Op::kGt:
    case Op::kGe:
    case Op::kLt:
    case Op::kLe: {
      if (!ScalarOfLiteral(t.values[0], &v)) return false;
      QScalarRange r{v, v};
      // Inclusive even for > and <: integers beyond 2^53 share their double.
      out->whole = t.op == Op::kGe || t.op == Op::kLe;
      if (t.op == Op::kGt || t.op == Op::kGe) {
        r.hi_open = true;
      } else {
        r.lo_open = true;
      }
      out->ranges.push_back(std::move(r));
      return true;
    }
    default:
      return false;
  }
}

void CollectIndexable(const QExpr& q, uint32_t n, std::vector<QIndexableTerm>* out) {
  const Node& node = q.nodes[n];
  if (node.kind == Node::kTerm) {
    QIndexableTerm t;
    if (IndexableTerm(q.terms[node.a], &t)) {
      t.whole = t.whole && n == q.root;
      out->push_back(std::move(t));
    }
  } else if (node.kind == Node::kAnd) {
    for (uint32_t k = node.a; k < node.b; ++k) CollectIndexable(q, q.kids[k], out);
  }
  // kOr: no single conjunct bounds the matches.
}

}  // namespace
}  // namespace q_internal

std::vector<QIndexableTerm> IndexableTerms(const QExpr& q) {
  std::vector<QIndexableTerm> out;
  q_internal::CollectIndexable(q, q.root, &out);
  return out;
}

}  // namespace cb::context
