// The built web dashboard's files, served as the Router's fallback (AddStaticFiles in
// api.h). Each request resolves its path under the directory again and reads the file from
// disk: nothing is cached in memory, so a rebuilt dashboard is served as soon as it is there.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "api/api.h"
#include "api/problem.h"

namespace cb::api {
namespace {

// The API's own path prefixes: a path under them that no route has keeps the server's 404.
constexpr std::array<std::string_view, 7> kApiPrefixes = {"ngsi-ld", "api",     "admin", "ws",
                                                          "open311", "health", "metrics"};

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; child-src blob:; connect-src 'self' ws: wss:; "
    "font-src 'self' data:; object-src 'none'; frame-ancestors 'none'";

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The first segment of a '/'-separated path ("" for "/").
std::string_view FirstSegment(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path.substr(0, path.find('/'));
}

bool IsApiPath(std::string_view path) {
  const std::string_view first = FirstSegment(path);
  for (std::string_view p : kApiPrefixes) {
    if (first == p) return true;
  }
  return false;
}

HttpResponse NotFound(std::string_view path) {
  // Word for word the server's own 404 for a path no route has.
  return ProblemResponse(404, Code::kNotFound, "no such resource: " + std::string(path));
}

void AddSecurityHeaders(HttpResponse* r) {
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
}

// The file's real path when it is a regular file inside `root` (itself a real path).
std::optional<std::string> ResolveInside(const std::string& root, const std::string& candidate) {
  char buf[PATH_MAX];
  if (::realpath(candidate.c_str(), buf) == nullptr) return std::nullopt;
  std::string real(buf);
  if (real.size() <= root.size() || real.compare(0, root.size(), root) != 0 ||
      real[root.size()] != '/') {
    return std::nullopt;
  }
  struct stat st;
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return real;
}

struct FileData {
  std::string body;
  std::string etag;
};

// Reads a regular file of at most `max_bytes`; its ETag from size and modification time.
Result<FileData> ReadFile(const std::string& path, size_t max_bytes, std::string_view tag_suffix) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("cannot open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::NotFound(path + " is not a file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status(Code::kTooLarge, path + " is larger than " + std::to_string(max_bytes) +
                                       " bytes, the most a file is served");
  }
  FileData f;
  f.body.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < f.body.size()) {
    const ssize_t n = ::read(fd, f.body.data() + got, f.body.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  f.body.resize(got);  // shrunk while read: what was there
  char tag[96];
  std::snprintf(tag, sizeof tag, "\"%zx-%llx%.*s\"", got,
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec),
                static_cast<int>(tag_suffix.size()), tag_suffix.data());
  f.etag = tag;
  return f;
}

// Whether an If-None-Match header value names `etag` (weak comparison, as RFC 9110 asks
// for If-None-Match; "*" matches any).
bool MatchesEtag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view t = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (t == "*") return true;
    if (t.substr(0, 2) == "W/") t.remove_prefix(2);
    if (t == etag) return true;
  }
  return false;
}

class StaticFiles {
 public:
  explicit StaticFiles(StaticFilesOptions options) : options_(std::move(options)) {}

  HttpResponse Serve(const HttpRequest& req) const {
    if (req.method != "GET" && req.method != "HEAD") {
      // Only reads are public; a write to a path no route has is unknown like before.
      return NotFound(req.path);
    }
    if (IsApiPath(req.path)) return NotFound(req.path);
    auto rel = RelativePath(req.path);
    if (!rel.ok() && rel.status().code() == Code::kNotFound) return Secured(NotFound(req.path));
    if (!rel.ok()) return Secured(ProblemResponse(rel.status()));
    if (IsApiPath(*rel)) return NotFound(req.path);  // an encoded "/" hid the prefix
    char buf[PATH_MAX];
    if (::realpath(options_.dir.c_str(), buf) == nullptr) {
      return Secured(NotFound(req.path));  // no dashboard there now (being rebuilt?)
    }
    const std::string root(buf);
    std::string name = rel->empty() ? std::string("index.html") : *rel;
    std::optional<std::string> file = ResolveInside(root, root + "/" + name);
    if (!file) {
      // The dashboard's own routes (/cases/42) are pages of index.html; a missing file
      // with an extension is not found.
      const size_t slash = name.rfind('/');
      const std::string_view last =
          std::string_view(name).substr(slash == std::string::npos ? 0 : slash + 1);
      if (last.find('.') != std::string_view::npos) return Secured(NotFound(req.path));
      name = "index.html";
      file = ResolveInside(root, root + "/index.html");
      if (!file) return Secured(NotFound(req.path));
    }
    return File(req, name, *file);
  }

 private:
  // The decoded path under the directory, without its leading '/'; an error for paths that
  // could leave it or that no file name has.
  static Result<std::string> RelativePath(std::string_view raw) {
    auto bad = [](std::string_view why) {
      return Status::InvalidRequest(std::string("path refused: ") + std::string(why));
    };
    if (raw.find('\\') != std::string_view::npos) return bad("backslash");
    auto decoded = PercentDecode(raw, false);
    if (!decoded.ok()) return bad("bad percent-encoding");
    const std::string& p = *decoded;
    if (p.find('\0') != std::string::npos) return bad("NUL");
    if (p.find('\\') != std::string::npos) return bad("backslash");
    std::string out;
    size_t i = 0;
    while (i < p.size()) {
      const size_t end = std::min(p.find('/', i), p.size());
      std::string_view seg(p.data() + i, end - i);
      i = end + 1;
      if (seg.empty()) continue;
      if (seg == "." || seg == "..") return bad("dot segment");
      if (seg.front() == '.') return Status::NotFound("hidden file");
      if (!out.empty()) out += '/';
      out.append(seg);
    }
    if (!p.empty() && p.back() == '/' && !out.empty()) out += '/';
    return out;
  }

  static HttpResponse Secured(HttpResponse r) {
    AddSecurityHeaders(&r);
    return r;
  }

  HttpResponse File(const HttpRequest& req, const std::string& name,
                    const std::string& path) const {
    const bool immutable = name.rfind("assets/", 0) == 0;
    const std::string gz_path = path + ".gz";
    struct stat gz_st;
    const bool has_gz = ::stat(gz_path.c_str(), &gz_st) == 0 && S_ISREG(gz_st.st_mode);
    const bool gzip = has_gz && AcceptsGzip(req.Header("accept-encoding"));
    auto data = ReadFile(gzip ? gz_path : path, options_.max_file_bytes, gzip ? "-gz" : "");
    if (!data.ok()) {
      if (data.status().code() == Code::kNotFound) return Secured(NotFound(req.path));
      return Secured(ProblemResponse(500, Code::kInternal, data.status().message()));
    }
    HttpResponse r;
    r.content_type = std::string(StaticContentType(name));
    r.headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable"
                                                      : "no-cache");
    r.headers.emplace_back("ETag", data->etag);
    if (has_gz) r.headers.emplace_back("Vary", "Accept-Encoding");
    if (gzip) r.headers.emplace_back("Content-Encoding", "gzip");
    AddSecurityHeaders(&r);
    if (MatchesEtag(req.Header("if-none-match"), data->etag)) {
      r.status = 304;
      return r;
    }
    r.body = std::move(data->body);
    return r;
  }

  StaticFilesOptions options_;
};

}  // namespace

std::string_view StaticContentType(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = path.substr(slash == std::string_view::npos ? 0 : slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string ext = LowerCopy(name.substr(dot + 1));
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json; charset=utf-8"},
      {"geojson", "application/geo+json; charset=utf-8"},
      {"svg", "image/svg+xml; charset=utf-8"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"woff", "font/woff"},
      {"txt", "text/plain; charset=utf-8"},
      {"map", "application/json; charset=utf-8"},
      {"wasm", "application/wasm"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<bool> gzip, any;
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string coding = LowerCopy(Trim(item.substr(0, semi)));
    bool allowed = true;  // q=0 is the only refusal
    std::string_view params = semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1);
    while (!params.empty()) {
      const size_t next = params.find(';');
      std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.size() >= 2 && Lower(param[0]) == 'q' && param[1] == '=') {
        const std::string q(Trim(param.substr(2)));
        char* end = nullptr;
        const double v = std::strtod(q.c_str(), &end);
        allowed = !(end != q.c_str() && v <= 0);
      }
    }
    if (coding == "gzip" || coding == "x-gzip") gzip = allowed;
    if (coding == "*") any = allowed;
  }
  return gzip.value_or(any.value_or(false));
}

Status AddStaticFiles(Router* router, StaticFilesOptions options) {
  struct stat st;
  if (::stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::BadRequestData("web dashboard: " + options.dir + " is not a directory");
  }
  auto files = std::make_shared<StaticFiles>(std::move(options));
  router->SetFallback([files](HttpRequest& req, Responder respond) { respond(files->Serve(req)); });
  return Status::Ok();
}

}  // namespace cb::api
