// cb_loadgen: the HTTP load generator of the CityBrain benchmarks (see bench/run.sh and
// docs/BENCHMARKS.md).
//
// One Asio thread drives N keep-alive connections (closed loop: each connection sends its
// next request when the previous answer is in), for a fixed number of requests or a fixed
// duration, optionally paced to a rate. Every request's latency (write start → whole answer
// read) is kept, so p50/p99 are exact. Bodies are generated on the fly (bench/workload.h).
//
// Subcommands (all print one line "RESULT key=value ..." on stdout; progress on stderr):
//   http     any method/target, optional body (the HTTP baselines: GET /health, and the
//            batch body POSTed to /health, answered 405 after the body is read)
//   upsert   batch upserts (POST /entityOperations/upsert) of entities [first, first+count)
//   patch    PATCH /entities/{id}/attrs with the six Properties of a random entity
//   get      GET /entities/{id} of a random entity
//   query    GET /entities?type=..&georel=near;maxDistance==D.. or &q=... (limit=20)
//   fanout   creates S subscriptions (one per district) with this process as receiver,
//            runs batch upserts and checks that every expected notification arrived
//   mqtt     publishes device telemetry to an MQTT broker (see docs/mqtt.md)
//   alert-latency  an observation's time to its alert on the /ws/alerts WebSocket
//   fetch    GET a path and print the body (metrics, health)
//   wait     wait until GET /health answers 200
//   free-port  print a free loopback TCP port
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <csignal>
#include <utility>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <mqtt/async_client.h>

#include "http_response_reader.h"
#include "workload.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using cb::bench::HttpResponseReader;

namespace {

// ------------------------------------------------------------------ options

struct Args {
  std::map<std::string, std::string> kv;
  std::string Str(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  int64_t Int(const std::string& k, int64_t def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stoll(it->second);
  }
  double Dbl(const std::string& k, double def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stod(it->second);
  }
  bool Has(const std::string& k) const { return kv.count(k) != 0; }
};

Args ParseArgs(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      std::cerr << "unexpected argument " << k << "\n";
      std::exit(2);
    }
    k = k.substr(2);
    if (auto eq = k.find('='); eq != std::string::npos) {
      a.kv[k.substr(0, eq)] = k.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      a.kv[k] = argv[++i];
    } else {
      a.kv[k] = "1";
    }
  }
  return a;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double CpuSeconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// utime + stime of a process, in seconds (0 when unknown).
double ProcessCpuSeconds(long pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(s.substr(rp + 2));
  std::string field;
  double ut = 0, st = 0;
  for (int i = 3; in >> field; ++i) {
    if (i == 14) ut = std::stod(field);
    if (i == 15) {
      st = std::stod(field);
      break;
    }
  }
  return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string Fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// ------------------------------------------------------------------ blocking client

struct SimpleResponse {
  int status = 0;
  std::string body;
};

// One request on a fresh connection (setup and checks, not measured).
SimpleResponse Fetch(int port, const std::string& key, http::verb method, const std::string& target,
                     const std::string& body = "") {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.expires_after(std::chrono::seconds(30));
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!key.empty()) req.set("X-Api-Key", key);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(256u << 20);
  http::read(s, buf, p);
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_both, ec);
  return {static_cast<int>(p.get().result_int()), p.get().body()};
}

// The value of an unlabelled metric (or the sum over all label sets when `sum`), -1 if absent.
double MetricValue(const std::string& text, const std::string& name, bool sum = false) {
  std::istringstream in(text);
  std::string line;
  double total = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next == ' ' || (sum && next == '{')) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
      found = true;
      if (!sum) break;
    }
  }
  return found ? total : -1;
}

// The value of `name{...label...}` (the first series whose labels contain `label`), -1 if absent.
double LabelledMetric(const std::string& text, const std::string& name, const std::string& label) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) == 0 && line.find(label) != std::string::npos) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return -1;
}

// What the server did during a run: CPU (from /proc/PID/stat), bytes written to storage
// (write_bytes of /proc/PID/io) and group commits (from /metrics, when a key is given).
class ServerProbe {
 public:
  struct Snap {
    double cpu = 0, write_bytes = -1, commits = -1, rows = -1;
  };
  explicit ServerProbe(const Args& a) : pid_(a.Int("server-pid", 0)), port_(static_cast<int>(a.Int("port", 0))) {
    key_ = a.Str("key");
    if (a.Has("key-file")) {
      std::ifstream f(a.Str("key-file"));
      std::getline(f, key_);
    }
  }
  Snap Take() const {
    Snap s;
    if (pid_ <= 0) return s;
    s.cpu = ProcessCpuSeconds(pid_);
    std::ifstream io("/proc/" + std::to_string(pid_) + "/io");
    std::string k;
    double v;
    while (io >> k >> v) {
      if (k == "write_bytes:") s.write_bytes = v;
    }
    if (port_ > 0 && !key_.empty()) {
      try {
        std::string m = Fetch(port_, key_, http::verb::get, "/metrics").body;
        s.commits = MetricValue(m, "citybrain_store_commits_total");
        s.rows = MetricValue(m, "citybrain_store_rows_committed_total");
      } catch (const std::exception&) {
      }
    }
    return s;
  }
  std::string Describe(const Snap& a, const Snap& b, double seconds) const {
    if (pid_ <= 0 || seconds <= 0) return "";
    std::string out = "server_cpu=" + Fmt((b.cpu - a.cpu) / seconds, 2);
    if (a.write_bytes >= 0 && b.write_bytes >= 0) {
      out += " server_write_mb_s=" + Fmt((b.write_bytes - a.write_bytes) / seconds / 1e6, 1);
      out += " server_write_mb=" + Fmt((b.write_bytes - a.write_bytes) / 1e6, 1);
    }
    if (a.commits >= 0 && b.commits > a.commits) {
      out += " commits=" + Fmt(b.commits - a.commits, 0) +
             " rows_per_commit=" + Fmt((b.rows - a.rows) / (b.commits - a.commits), 0);
    }
    return out;
  }

 private:
  long pid_;
  int port_;
  std::string key_;
};

// ------------------------------------------------------------------ the load engine

struct Request {
  http::verb method = http::verb::get;
  std::string target;
  std::string body;
  uint64_t tag = 0;   // for the caller's bookkeeping (e.g. entities in the batch)
  uint64_t tag2 = 0;  // more of it (e.g. expected notifications)
};

// Produces the next request; false when there is no more work.
using Generator = std::function<bool(Request*)>;
// Sees each answer (status, body) with its request.
using Checker = std::function<void(const Request&, int status, const std::string& body)>;

struct EngineOptions {
  int port = 0;
  std::string key;
  int conns = 8;
  double duration_s = 0;   // 0: until the generator is exhausted
  double rate = 0;         // requests/s over all connections; 0: as fast as answered
  std::string label;       // for progress lines
  uint64_t expected = 0;   // for progress lines (0: unknown)
};

struct EngineResult {
  uint64_t requests = 0;
  uint64_t ok = 0;  // 2xx
  std::map<int, uint64_t> by_status;
  uint64_t io_errors = 0;
  std::string first_error;
  double seconds = 0;
  double client_cpu_s = 0;
  std::vector<uint32_t> latency_us;
  uint64_t bytes_out = 0;

  double Percentile(double p) const {  // ms
    if (latency_us.empty()) return 0;
    size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * latency_us.size()));
    idx = std::min(latency_us.size() - 1, idx == 0 ? 0 : idx - 1);
    return latency_us[idx] / 1000.0;
  }
  double Max() const { return latency_us.empty() ? 0 : latency_us.back() / 1000.0; }
  double Rps() const { return seconds > 0 ? requests / seconds : 0; }
  std::string Common() const {
    std::string s = "requests=" + std::to_string(requests) + " ok=" + std::to_string(ok) +
                    " errors=" + std::to_string(requests - ok + io_errors) +
                    " seconds=" + Fmt(seconds, 3) + " rps=" + Fmt(Rps(), 1) +
                    " p50_ms=" + Fmt(Percentile(50), 3) + " p99_ms=" + Fmt(Percentile(99), 3) +
                    " max_ms=" + Fmt(Max(), 3) +
                    " client_cpu=" + Fmt(seconds > 0 ? client_cpu_s / seconds : 0, 2);
    std::string codes;
    for (auto& [c, n] : by_status) {
      if (c / 100 == 2) continue;
      codes += (codes.empty() ? "" : ",") + std::to_string(c) + ":" + std::to_string(n);
    }
    if (!codes.empty()) s += " non2xx=" + codes;
    return s;
  }
};

class Engine {
 public:
  Engine(EngineOptions o, Generator gen, Checker check)
      : o_(std::move(o)), gen_(std::move(gen)), check_(std::move(check)),
        ep_(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(o_.port)),
        progress_(ioc_) {}

  EngineResult Run() {
    const double cpu0 = CpuSeconds();
    start_ = Clock::now();
    if (o_.duration_s > 0) {
      deadline_ = start_ + std::chrono::microseconds(static_cast<int64_t>(o_.duration_s * 1e6));
    }
    next_slot_ = start_;
    live_ = o_.conns;
    for (int i = 0; i < o_.conns; ++i) {
      auto c = std::make_shared<Conn>(this);
      conns_.push_back(c);
      c->Start();
    }
    ScheduleProgress();
    ioc_.run();
    r_.seconds = std::chrono::duration<double>(last_done_ - start_).count();
    r_.client_cpu_s = CpuSeconds() - cpu0;
    std::sort(r_.latency_us.begin(), r_.latency_us.end());
    conns_.clear();
    return std::move(r_);
  }

 private:
  // One keep-alive connection. It writes each request as one prepared string and reads
  // the answer with HttpResponseReader on a plain socket (as wrk does): with Beast's
  // generic parser and tcp_stream (a timer per operation) the client took 13 µs of CPU per
  // GET /health and 18 µs per PATCH, on the same 2 cores as the server under test; this
  // way 10.5 and 14 µs, most of it the kernel's TCP path.
  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(Engine* e) : e(e), sock(e->ioc_), timer(e->ioc_) {}
    Engine* e;
    tcp::socket sock;
    net::steady_timer timer;
    std::string out;
    HttpResponseReader reader;
    std::array<char, 64 * 1024> rbuf;
    Request cur;
    Clock::time_point t0;
    bool connected = false;
    int reconnects = 0;

    void Start() { Next(); }
    void Next() {
      if (e->stopped_ || (e->deadline_ && Clock::now() >= *e->deadline_) || !e->gen_(&cur)) {
        e->stopped_ = true;
        Close();
        return;
      }
      if (e->o_.rate > 0) {
        auto slot = e->next_slot_;
        e->next_slot_ += std::chrono::nanoseconds(static_cast<int64_t>(1e9 / e->o_.rate));
        if (slot > Clock::now()) {
          timer.expires_at(slot);
          timer.async_wait([self = shared_from_this()](beast::error_code) { self->Send(); });
          return;
        }
      }
      Send();
    }
    void Send() {
      out.clear();
      const auto method = http::to_string(cur.method);
      out.append(method.data(), method.size()).append(" ").append(cur.target);
      out.append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      if (!e->o_.key.empty()) out.append("X-Api-Key: ").append(e->o_.key).append("\r\n");
      if (!cur.body.empty()) {
        out.append("Content-Type: application/json\r\nContent-Length: ")
            .append(std::to_string(cur.body.size()))
            .append("\r\n");
      } else if (cur.method == http::verb::post || cur.method == http::verb::put ||
                 cur.method == http::verb::patch) {
        out.append("Content-Length: 0\r\n");
      }
      out.append("\r\n").append(cur.body);
      e->r_.bytes_out += cur.body.size();
      t0 = Clock::now();
      if (!connected) {
        sock.async_connect(e->ep_, [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->Fail(ec, "connect");
          beast::error_code ig;
          self->sock.set_option(tcp::no_delay(true), ig);
          self->connected = true;
          self->reader.Reset();
          self->Write();
        });
        return;
      }
      Write();
    }
    void Write() {
      net::async_write(sock, net::buffer(out), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Fail(ec, "write");
        self->Read();
      });
    }
    void Read() {
      // An answer may already be whole in what was read before (it never is with one
      // request in flight, but the reader keeps any surplus).
      switch (reader.Parse()) {
        case HttpResponseReader::kDone: return Done();
        case HttpResponseReader::kBad: return Fail(net::error::invalid_argument, "parse");
        case HttpResponseReader::kMore: break;
      }
      sock.async_read_some(net::buffer(rbuf), [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (ec == net::error::eof && self->reader.Close() == HttpResponseReader::kDone) {
          return self->Done();  // (it closes the socket: the answer said so)
        }
        if (ec) return self->Fail(ec, "read");
        self->reader.Feed(std::string_view(self->rbuf.data(), n));
        self->Read();
      });
    }
    void Done() {
      auto now = Clock::now();
      EngineResult& r = e->r_;
      r.latency_us.push_back(static_cast<uint32_t>(
          std::min<int64_t>(UINT32_MAX,
                            std::chrono::duration_cast<std::chrono::microseconds>(now - t0).count())));
      ++r.requests;
      e->last_done_ = now;
      const int status = reader.status();
      ++r.by_status[status];
      if (status / 100 == 2) {
        ++r.ok;
      } else if (r.first_error.empty()) {
        r.first_error = "HTTP " + std::to_string(status) + " " + reader.body().substr(0, 300);
      }
      cur.body.clear();
      if (e->check_) e->check_(cur, status, reader.body());
      const bool keep = reader.keep_alive();
      reader.Next();
      if (!keep && connected) {
        beast::error_code ig;
        sock.close(ig);
        connected = false;
      }
      Next();
    }
    void Fail(beast::error_code ec, const char* what) {
      EngineResult& r = e->r_;
      ++r.io_errors;
      if (r.first_error.empty()) r.first_error = std::string(what) + ": " + ec.message();
      beast::error_code ig;
      sock.close(ig);
      connected = false;
      if (++reconnects > 3) {
        Close();
        return;
      }
      Next();
    }
    void Close() {
      beast::error_code ig;
      sock.shutdown(tcp::socket::shutdown_both, ig);
      sock.close(ig);
      if (--e->live_ == 0) e->progress_.cancel();
    }
  };

  void ScheduleProgress() {
    progress_.expires_after(std::chrono::seconds(5));
    progress_.async_wait([this](beast::error_code ec) {
      if (ec || live_ == 0) return;  // (the last connection may close just as it fires)
      double t = std::chrono::duration<double>(Clock::now() - start_).count();
      std::cerr << "  [" << o_.label << "] " << Fmt(t, 0) << " s: " << r_.requests
                << (o_.expected ? " of " + std::to_string(o_.expected) : std::string())
                << " requests, " << Fmt(r_.requests / t, 0) << "/s\n";
      ScheduleProgress();
    });
  }

  EngineOptions o_;
  Generator gen_;
  Checker check_;
  net::io_context ioc_{1};
  tcp::endpoint ep_;
  net::steady_timer progress_;
  std::vector<std::shared_ptr<Conn>> conns_;
  EngineResult r_;
  Clock::time_point start_, last_done_;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point next_slot_;
  bool stopped_ = false;
  int live_ = 0;
};

EngineOptions CommonOptions(const Args& a, const std::string& label) {
  EngineOptions o;
  o.port = static_cast<int>(a.Int("port", 1026));
  o.key = a.Str("key");
  if (a.Has("key-file")) {
    std::ifstream f(a.Str("key-file"));
    std::getline(f, o.key);
  }
  o.conns = static_cast<int>(a.Int("conns", 8));
  o.duration_s = a.Dbl("duration", 0);
  o.rate = a.Dbl("rate", 0);
  o.label = label;
  return o;
}

void PrintResult(const std::string& name, const EngineResult& r, const std::string& extra,
                 const std::string& server) {
  std::cout << "RESULT name=" << name << " " << r.Common();
  if (!server.empty()) std::cout << " " << server;
  if (!extra.empty()) std::cout << " " << extra;
  std::cout << std::endl;
  if (!r.first_error.empty()) std::cerr << "  first error: " << r.first_error << "\n";
}

// Batches of consecutive entities [first + k*batch, ...), in sequence or shuffled.
std::vector<uint64_t> BatchStarts(uint64_t first, uint64_t count, uint64_t batch, bool shuffle,
                                  uint64_t seed) {
  std::vector<uint64_t> starts;
  for (uint64_t s = first; s < first + count; s += batch) starts.push_back(s);
  if (shuffle) {
    std::mt19937_64 rng(seed);
    std::shuffle(starts.begin(), starts.end(), rng);
  }
  return starts;
}

std::string BatchBody(uint64_t start, uint64_t end, uint32_t round, int64_t t0) {
  std::string body;
  body.reserve((end - start) * 900 + 2);
  body.push_back('[');
  for (uint64_t i = start; i < end; ++i) {
    if (i != start) body.push_back(',');
    cbbench::AppendEntityJson(&body, i, round, t0);
  }
  body.push_back(']');
  return body;
}

// ------------------------------------------------------------------ subcommands

int CmdHttp(const Args& a) {
  EngineOptions o = CommonOptions(a, a.Str("name", "http"));
  const uint64_t total = static_cast<uint64_t>(a.Int("requests", 0));
  o.expected = total;
  http::verb method = http::string_to_verb(a.Str("method", "GET"));
  std::string target = a.Str("target", "/health");
  std::string body;
  if (a.Has("batch-body")) body = BatchBody(0, a.Int("batch-body", 100), 0, NowMs());
  uint64_t sent = 0;
  Engine e(o, [&](Request* r) {
    if (total && sent >= total) return false;
    ++sent;
    r->method = method;
    r->target = target;
    r->body = body;
    return true;
  }, nullptr);
  ServerProbe probe(a);
  const ServerProbe::Snap p0 = probe.Take();
  EngineResult r = e.Run();
  const ServerProbe::Snap p1 = probe.Take();
  PrintResult(a.Str("name", "http"), r, "body_bytes=" + std::to_string(body.size()), probe.Describe(p0, p1, r.seconds));
  return 0;
}

int CmdUpsert(const Args& a) {
  EngineOptions o = CommonOptions(a, a.Str("name", "upsert"));
  const uint64_t first = a.Int("first", 0), count = a.Int("count", 10000);
  const uint64_t batch = a.Int("batch", 100);
  const uint32_t round = static_cast<uint32_t>(a.Int("round", 0));
  const int64_t t0 = a.Int("t0", NowMs());
  auto starts = BatchStarts(first, count, batch, a.Str("order", "seq") == "random", round + 1);
  o.expected = starts.size();
  size_t next = 0;
  uint64_t entities = 0;
  Engine e(o, [&](Request* r) {
    if (next >= starts.size()) return false;
    uint64_t s = starts[next++];
    uint64_t end = std::min(first + count, s + batch);
    r->method = http::verb::post;
    r->target = "/ngsi-ld/v1/entityOperations/upsert";
    r->body = BatchBody(s, end, round, t0);
    r->tag = end - s;
    return true;
  }, [&](const Request& r, int status, const std::string&) {
    if (status / 100 == 2) entities += r.tag;
  });
  ServerProbe probe(a);
  const ServerProbe::Snap p0 = probe.Take();
  EngineResult r = e.Run();
  const ServerProbe::Snap p1 = probe.Take();
  double attrs = double(entities) * cbbench::kAttrsPerEntity;
  PrintResult(a.Str("name", "upsert"), r,
              "entities=" + std::to_string(entities) + " batch=" + std::to_string(batch) +
                  " attr_updates=" + Fmt(attrs, 0) +
                  " attrs_per_s=" + Fmt(r.seconds > 0 ? attrs / r.seconds : 0, 0) +
                  " entities_per_s=" + Fmt(r.seconds > 0 ? entities / r.seconds : 0, 0) +
                  " mb_per_s=" + Fmt(r.seconds > 0 ? r.bytes_out / r.seconds / 1e6 : 0, 1),
              probe.Describe(p0, p1, r.seconds));
  return r.ok == r.requests && r.io_errors == 0 ? 0 : 1;
}

int CmdPatch(const Args& a) {
  EngineOptions o = CommonOptions(a, a.Str("name", "patch"));
  const uint64_t count = a.Int("count", 10000);
  const uint64_t total = a.Int("requests", 0);
  o.expected = total;
  const uint32_t round = static_cast<uint32_t>(a.Int("round", 1));
  const int64_t t0 = a.Int("t0", NowMs());
  std::mt19937_64 rng(42 + a.Int("seed", 0));
  const int props = static_cast<int>(a.Int("props", 6));
  if (props < 1 || props > 6) {
    std::cerr << "--props must be 1 to 6\n";
    return 2;
  }
  uint64_t sent = 0;
  Engine e(o, [&](Request* r) {
    if (total && sent >= total) return false;
    ++sent;
    uint64_t i = rng() % count;
    r->method = http::verb::patch;
    r->target = "/ngsi-ld/v1/entities/" + cbbench::EntityId(i) + "/attrs";
    r->body.clear();
    cbbench::AppendPropertiesFragment(&r->body, i, round + static_cast<uint32_t>(sent), t0, props);
    return true;
  }, nullptr);
  ServerProbe probe(a);
  const ServerProbe::Snap p0 = probe.Take();
  EngineResult r = e.Run();
  const ServerProbe::Snap p1 = probe.Take();
  PrintResult(a.Str("name", "patch"), r,
              "props=" + std::to_string(props) +
                  " attrs_per_s=" + Fmt(r.seconds > 0 ? double(r.ok) * props / r.seconds : 0, 0),
              probe.Describe(p0, p1, r.seconds));
  return 0;
}

int CmdGet(const Args& a) {
  EngineOptions o = CommonOptions(a, a.Str("name", "get"));
  const uint64_t count = a.Int("count", 10000);
  const uint64_t total = a.Int("requests", 0);
  o.expected = total;
  std::mt19937_64 rng(7 + a.Int("seed", 0));
  uint64_t sent = 0;
  uint64_t bytes_in = 0;
  Engine e(o, [&](Request* r) {
    if (total && sent >= total) return false;
    ++sent;
    r->method = http::verb::get;
    r->target = "/ngsi-ld/v1/entities/" + cbbench::EntityId(rng() % count);
    r->body.clear();
    return true;
  }, [&](const Request&, int, const std::string& body) { bytes_in += body.size(); });
  ServerProbe probe(a);
  const ServerProbe::Snap p0 = probe.Take();
  EngineResult r = e.Run();
  const ServerProbe::Snap p1 = probe.Take();
  PrintResult(a.Str("name", "get"), r,
              "avg_body_bytes=" + Fmt(r.requests ? double(bytes_in) / r.requests : 0, 0), probe.Describe(p0, p1, r.seconds));
  return 0;
}

// Percent-encodes a query value.
std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

int CmdQuery(const Args& a) {
  EngineOptions o = CommonOptions(a, a.Str("name", "query"));
  const std::string kind = a.Str("kind", "near");  // near | qnum | qdistrict
  const uint64_t total = a.Int("requests", 1000);
  const double distance = a.Dbl("distance", 500);
  o.expected = total;
  std::mt19937_64 rng(11);
  uint64_t sent = 0;
  uint64_t results = 0, answered = 0;
  const std::string base = "/ngsi-ld/v1/entities?type=" + std::string(cbbench::kEntityType) +
                           "&limit=" + std::to_string(a.Int("limit", 20));
  Engine e(o, [&](Request* r) {
    if (total && sent >= total) return false;
    ++sent;
    r->method = http::verb::get;
    r->body.clear();
    if (kind == "near") {
      // A point inside the area, kept 1 km from its edges.
      double lon = cbbench::kLonMin + 0.01 + (rng() % 1000000) / 1e6 * (cbbench::kLonSpan - 0.02);
      double lat = cbbench::kLatMin + 0.01 + (rng() % 1000000) / 1e6 * (cbbench::kLatSpan - 0.02);
      r->target = base + "&georel=" + UrlEncode("near;maxDistance==" + Fmt(distance, 0)) +
                  "&geometry=Point&coordinates=" + UrlEncode("[" + Fmt(lon, 6) + "," + Fmt(lat, 6) + "]");
    } else if (kind == "qnum") {
      // About 5 % of the entities match.
      int t = 370 + static_cast<int>(rng() % 10);
      r->target = base + "&q=" + UrlEncode("temperature>" + Fmt(t / 10.0, 1));
    } else {
      // One district of 1,024: about 0.1 % match.
      std::string d;
      cbbench::AppendDistrictName(&d, static_cast<int>(rng() % 1024));
      r->target = base + "&q=" + UrlEncode("district==\"" + d + "\"");
    }
    return true;
  }, [&](const Request&, int status, const std::string& body) {
    if (status != 200) return;
    ++answered;
    // Entities in the answer: count their ids.
    for (size_t p = body.find(cbbench::kIdPrefix); p != std::string::npos;
         p = body.find(cbbench::kIdPrefix, p + 1)) {
      ++results;
    }
  });
  ServerProbe probe(a);
  const ServerProbe::Snap p0 = probe.Take();
  EngineResult r = e.Run();
  const ServerProbe::Snap p1 = probe.Take();
  PrintResult(a.Str("name", "query"), r,
              "kind=" + kind + " avg_results=" + Fmt(answered ? double(results) / answered : 0, 1),
              probe.Describe(p0, p1, r.seconds));
  return 0;
}

// ------------------------------------------------------------------ notification receiver

// Counts notifications: POSTs whose target is /notify/<district>. Each body's entities are
// counted by their ids, and each must carry that district (what the subscription asked).
class Receiver {
 public:
  Receiver() : acceptor_(ioc_) {
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Receiver() {
    ioc_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::atomic<uint64_t> notifications{0}, entities{0}, wrong{0}, connections{0};

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket s, Receiver* r) : stream(std::move(s)), rx(r) {}
    beast::tcp_stream stream;
    Receiver* rx;
    beast::flat_buffer buf;
    std::optional<http::request_parser<http::string_body>> parser;
    http::response<http::empty_body> res;
    void Read() {
      parser.emplace();
      parser->body_limit(64u << 20);
      http::async_read(stream, buf, *parser, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return;
        self->Handle();
      });
    }
    void Handle() {
      auto& req = parser->get();
      std::string_view target(req.target().data(), req.target().size());
      const std::string& body = req.body();
      uint64_t n = 0;
      static const std::string kIdMarker = "\"id\":\"" + std::string(cbbench::kIdPrefix);
      for (size_t p = body.find(kIdMarker); p != std::string::npos; p = body.find(kIdMarker, p + 1)) ++n;
      std::string_view district = target.substr(target.rfind('/') + 1);
      // Every entity of this notification must be in the subscribed district.
      std::string want = "\"district\":{\"type\":\"Property\",\"value\":\"" + std::string(district) + "\"";
      uint64_t in_district = 0;
      for (size_t p = body.find(want); p != std::string::npos; p = body.find(want, p + 1)) ++in_district;
      rx->notifications.fetch_add(1);
      rx->entities.fetch_add(n);
      if (in_district != n || n == 0) rx->wrong.fetch_add(1);
      res = {};
      res.result(http::status::no_content);
      res.version(11);
      res.keep_alive(req.keep_alive());
      http::async_write(stream, res, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec || !self->res.keep_alive()) return;
        self->Read();
      });
    }
  };
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      connections.fetch_add(1);
      beast::error_code ig;
      s.set_option(tcp::no_delay(true), ig);
      std::make_shared<Session>(std::move(s), this)->Read();
      Accept();
    });
  }
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;
};

int CmdFanout(const Args& a) {
  EngineOptions o = CommonOptions(a, a.Str("name", "fanout"));
  const int subs = static_cast<int>(a.Int("subs", 1000));
  const uint64_t count = a.Int("count", 10000);
  const uint64_t batch = a.Int("batch", 100);
  const int rounds = static_cast<int>(a.Int("rounds", 1));
  const uint32_t first_round = static_cast<uint32_t>(a.Int("round", 1));
  const int64_t t0 = a.Int("t0", NowMs());
  const double drain_timeout = a.Dbl("drain-timeout", 120);
  Receiver rx;

  // One subscription per district D0000..D(subs-1): q district=="Dxxxx".
  if (subs > 0) {
    for (int d = 0; d < subs; ++d) {
      std::string name;
      cbbench::AppendDistrictName(&name, d);
      std::string body = R"({"id":"urn:ngsi-ld:Subscription:bench-)" + name +
                         R"(","type":"Subscription","entities":[{"type":")" +
                         std::string(cbbench::kEntityType) + R"("}],"q":"district==\")" + name +
                         R"(\"","notification":{"endpoint":{"uri":"http://127.0.0.1:)" +
                         std::to_string(rx.port()) + "/notify/" + name +
                         R"(","accept":"application/json"}}})";
      SimpleResponse r = Fetch(o.port, o.key, http::verb::post, "/ngsi-ld/v1/subscriptions", body);
      if (r.status != 201) {
        std::cerr << "cannot create subscription " << name << ": HTTP " << r.status << " " << r.body
                  << "\n";
        return 1;
      }
    }
    std::cerr << "  created " << subs << " subscriptions (receiver on port " << rx.port() << ")\n";
  }

  auto metrics = [&] {
    return Fetch(o.port, o.key, http::verb::get, "/metrics").body;
  };
  const std::string m0 = metrics();
  auto starts = BatchStarts(0, count, batch, false, 0);
  o.expected = starts.size() * rounds;
  size_t next = 0;
  uint64_t expected_notifications = 0, expected_entities = 0, entities = 0;
  std::vector<char> seen(static_cast<size_t>(std::max(subs, 1)), 0);
  Engine e(o, [&](Request* r) {
    if (next >= starts.size() * rounds) return false;
    uint32_t round = first_round + static_cast<uint32_t>(next / starts.size());
    uint64_t s = starts[next % starts.size()];
    ++next;
    uint64_t end = std::min(count, s + batch);
    r->method = http::verb::post;
    r->target = "/ngsi-ld/v1/entityOperations/upsert";
    r->body = BatchBody(s, end, round, t0);
    // What this request should trigger: one notification per subscribed district present,
    // carrying that district's entities. Packed into the tag: notifications << 32 | entities.
    std::fill(seen.begin(), seen.end(), 0);
    uint64_t notes = 0, ents = 0;
    for (uint64_t i = s; i < end; ++i) {
      int d = cbbench::DistrictOf(i);
      if (d >= subs) continue;
      ++ents;
      if (!seen[d]) {
        seen[d] = 1;
        ++notes;
      }
    }
    r->tag = end - s;
    r->tag2 = (notes << 32) | ents;
    return true;
  }, [&](const Request& r, int status, const std::string&) {
    if (status / 100 != 2) return;
    expected_notifications += r.tag2 >> 32;
    expected_entities += r.tag2 & 0xffffffffu;
    entities += r.tag;
  });
  ServerProbe probe(a);
  const ServerProbe::Snap p0 = probe.Take();
  EngineResult r = e.Run();
  const ServerProbe::Snap p1 = probe.Take();

  // Wait for the notifications still on their way: until all expected arrived, or nothing
  // moved for 10 s, or the drain timeout.
  auto wait_start = Clock::now();
  uint64_t last = rx.notifications.load();
  auto last_move = Clock::now();
  while (subs > 0 && rx.notifications.load() < expected_notifications) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    uint64_t now = rx.notifications.load();
    if (now != last) {
      last = now;
      last_move = Clock::now();
    }
    if (Clock::now() - last_move > std::chrono::seconds(10)) break;
    if (Clock::now() - wait_start > std::chrono::duration<double>(drain_timeout)) break;
  }
  double drain_s = std::chrono::duration<double>(Clock::now() - wait_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // late duplicates would show
  const std::string m1 = metrics();
  auto delta = [&](const char* name) {
    double b = MetricValue(m0, name), e2 = MetricValue(m1, name);
    return (b < 0 || e2 < 0) ? -1.0 : e2 - b;
  };
  double attrs = double(entities) * cbbench::kAttrsPerEntity;
  std::string extra =
      "subs=" + std::to_string(subs) + " entities=" + std::to_string(entities) +
      " attrs_per_s=" + Fmt(r.seconds > 0 ? attrs / r.seconds : 0, 0) +
      " entities_per_s=" + Fmt(r.seconds > 0 ? entities / r.seconds : 0, 0) +
      " expected_notifications=" + std::to_string(expected_notifications) +
      " received_notifications=" + std::to_string(rx.notifications.load()) +
      " expected_entities=" + std::to_string(expected_entities) +
      " received_entities=" + std::to_string(rx.entities.load()) +
      " wrong_district=" + std::to_string(rx.wrong.load()) +
      " receiver_connections=" + std::to_string(rx.connections.load()) +
      " drain_s=" + Fmt(drain_s, 2) +
      " notifications_per_s=" + Fmt((r.seconds + drain_s) > 0 ? rx.notifications.load() / (r.seconds + drain_s) : 0, 0) +
      " sent_total=" + Fmt(delta("citybrain_notifications_sent_total"), 0) +
      " failed_total=" + Fmt(delta("citybrain_notifications_failed_total"), 0) +
      " dropped_total=" + Fmt(delta("citybrain_notifications_dropped_total"), 0) +
      " queue_after=" + Fmt(MetricValue(m1, "citybrain_notification_queue"), 0);
  PrintResult(a.Str("name", "fanout"), r, extra, probe.Describe(p0, p1, r.seconds));
  return 0;
}

// ------------------------------------------------------------------ MQTT

// Publishes telemetry for `devices` provisioned devices (FIWARE IoT Agent JSON topics
// /json/<apiKey>/<deviceId>/attrs, 5 values each), `messages` in all, round robin over the
// devices, at QoS 1 with at most --inflight publishes awaiting the broker's PUBACK. The
// other side is CityBrain (counted by its citybrain_mqtt_messages_total{result="written"},
// i.e. committed to the store, polled from /metrics) or, with --broker-only, a QoS 1
// subscriber in a child process (the broker limit), or, with neither --port nor
// --broker-only, nobody (the publisher's own limit: messages acknowledged by the broker).
//
// --window W: end-to-end flow control: never more than W messages published but not yet
// counted on the other side. Mosquitto queues at most max_queued_messages (1,000 by
// default) QoS 1 messages per subscriber and drops the rest, so a publisher faster than the
// subscriber loses messages at the broker; with W below that limit nothing can be dropped
// there, and the rate measured is the most the chain sustains without loss. W = 0: publish
// as fast as the broker acknowledges (a burst; losses are counted).
int CmdMqtt(const Args& a) {
  const std::string broker = a.Str("broker", "tcp://127.0.0.1:1883");
  const std::string api_key = a.Str("api-key", "bench");
  const uint64_t devices = a.Int("devices", 10000);
  const uint64_t messages = a.Int("messages", 100000);
  const int qos = static_cast<int>(a.Int("qos", 1));
  const int inflight_max = static_cast<int>(a.Int("inflight", 64));
  const uint64_t window = static_cast<uint64_t>(a.Int("window", 0));
  const int port = static_cast<int>(a.Int("port", 0));
  std::string key = a.Str("key");
  if (a.Has("key-file")) {
    std::ifstream f(a.Str("key-file"));
    std::getline(f, key);
  }
  const bool only_broker = a.Has("broker-only");
  // No server and no subscriber of ours: "arrived" = acknowledged by the broker (QoS 1).
  const bool publish_only = !only_broker && port == 0;
  const std::string metric = "citybrain_mqtt_messages_total";
  const double wait_timeout = a.Dbl("wait-timeout", 120);

  auto server_count = [&](const char* result) -> double {
    std::string m = Fetch(port, key, http::verb::get, "/metrics").body;
    double v = LabelledMetric(m, metric, std::string("result=\"") + result + "\"");
    return v < 0 ? 0 : v;
  };
  const bool server = !only_broker && !publish_only;
  const double written0 = server ? server_count("written") : 0;
  const double dropped0 = server ? server_count("dropped") : 0;
  const double failed0 = server ? server_count("failed") : 0;
  std::atomic<uint64_t> acked{0};

  // What the other side has, as a count of this run's messages, kept fresh by a poller.
  std::atomic<uint64_t> arrived{0};
  std::atomic<bool> stop_poll{false};
  std::mutex progress_mu;
  Clock::time_point last_arrival = Clock::now();
  auto note = [&](uint64_t n) {
    uint64_t prev = arrived.load();
    if (n > prev) {
      arrived.store(n);
      std::lock_guard l(progress_mu);
      last_arrival = Clock::now();
    }
  };
  // Broker-only: the subscriber is a Paho client (the library the bridge uses) in a child
  // process (the Paho C library serialises the clients of one process on a global lock),
  // counting into shared memory.
  struct Shared {
    std::atomic<uint64_t> received{0};
    std::atomic<int> ready{0};
    std::atomic<int> stop{0};
  };
  Shared* shared = nullptr;
  pid_t child = -1;
  if (only_broker) {
    void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::runtime_error("mmap failed");
    shared = new (mem) Shared();
    child = fork();
    if (child == 0) {
      try {
        mqtt::async_client sub(broker, "cb-bench-sub-" + std::to_string(getpid()));
        sub.set_message_callback([shared](mqtt::const_message_ptr) { shared->received.fetch_add(1); });
        mqtt::connect_options sco;
        sco.set_clean_session(true);
        sub.connect(sco)->wait();
        sub.subscribe("/json/" + api_key + "/+/attrs", qos)->wait();
        shared->ready.store(1);
        while (!shared->stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        sub.disconnect()->wait();
      } catch (const std::exception& e) {
        std::cerr << "mqtt subscriber: " << e.what() << "\n";
        shared->ready.store(-1);
        _exit(1);
      }
      _exit(0);
    }
    while (shared->ready.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (shared->ready.load() < 0) return 1;
  }
  std::thread poller([&] {
    while (!stop_poll.load()) {
      if (!server) {
        note(only_broker ? shared->received.load() : acked.load());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      try {
        double w = server_count("written") - written0;
        if (w > 0) note(static_cast<uint64_t>(w));
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  mqtt::async_client pub(broker, "cb-bench-pub-" + std::to_string(getpid()), inflight_max * 2);
  mqtt::connect_options co;
  co.set_clean_session(true);
  co.set_max_inflight(inflight_max);
  pub.connect(co)->wait();

  const double cpu0 = CpuSeconds();
  const double s0 = ProcessCpuSeconds(a.Int("server-pid", 0));
  const auto start = Clock::now();
  std::deque<mqtt::delivery_token_ptr> inflight;
  uint64_t failures = 0;
  uint64_t window_waits = 0;
  std::string payload;
  for (uint64_t m = 0; m < messages; ++m) {
    if (window > 0 && m >= arrived.load() + window) {
      ++window_waits;
      while (m >= arrived.load() + window) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (std::chrono::duration<double>(Clock::now() - start).count() > wait_timeout) break;
      }
    }
    const uint64_t dev = m % devices;
    const uint32_t round = static_cast<uint32_t>(m / devices) + 1;
    cbbench::Values v = cbbench::ValuesOf(dev, round);
    // The device's short attribute names (mapped by the provisioning file).
    payload = "{\"t\":" + v.temperature + ",\"h\":" + v.humidity + ",\"p\":" + v.pressure +
              ",\"w\":" + v.wind + ",\"r\":" + v.precipitation + "}";
    std::string topic = "/json/" + api_key + "/dev" + std::to_string(dev) + "/attrs";
    if (static_cast<int>(inflight.size()) >= inflight_max) {
      try {
        inflight.front()->wait();
        acked.fetch_add(1);
      } catch (const mqtt::exception&) {
        ++failures;
      }
      inflight.pop_front();
    }
    inflight.push_back(pub.publish(mqtt::make_message(topic, payload, qos, false)));
    if (m % 50000 == 0 && m > 0) {
      std::cerr << "  [mqtt] published " << m << " of " << messages << ", "
                << arrived.load() << " arrived\n";
    }
  }
  for (auto& t : inflight) {
    try {
      t->wait();
      acked.fetch_add(1);
    } catch (const mqtt::exception&) {
      ++failures;
    }
  }
  const double publish_s = std::chrono::duration<double>(Clock::now() - start).count();
  // Wait for the rest: until all arrived, nothing moved for 5 s, or the timeout.
  for (;;) {
    if (arrived.load() >= messages) break;
    Clock::time_point last;
    {
      std::lock_guard l(progress_mu);
      last = last_arrival;
    }
    if (Clock::now() - last > std::chrono::seconds(5)) break;
    if (std::chrono::duration<double>(Clock::now() - start).count() > wait_timeout) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop_poll.store(true);
  poller.join();
  if (only_broker) {
    note(shared->received.load());
    if (child > 0) {
      shared->stop.store(1);
      int st = 0;
      waitpid(child, &st, 0);
    }
  } else if (publish_only) {
    note(acked.load());
  } else {
    note(static_cast<uint64_t>(std::max(0.0, server_count("written") - written0)));
  }
  const uint64_t done = arrived.load();
  Clock::time_point end;
  {
    std::lock_guard l(progress_mu);
    end = last_arrival;
  }
  const double total_s = std::max(1e-9, std::chrono::duration<double>(end - start).count());
  const double s1 = ProcessCpuSeconds(a.Int("server-pid", 0));
  const double cpu = CpuSeconds() - cpu0;
  pub.disconnect()->wait();
  std::cout << "RESULT name=" << a.Str("name", "mqtt") << " messages=" << messages
            << " delivered=" << done << " lost=" << (messages > done ? messages - done : 0)
            << " publish_failures=" << failures << " qos=" << qos << " devices=" << devices
            << " window=" << window << " window_waits=" << window_waits

            << " publish_s=" << Fmt(publish_s, 3) << " seconds=" << Fmt(total_s, 3)
            << " msgs_per_s=" << Fmt(done / total_s, 0)
            << " attrs_per_s=" << Fmt(done * 5.0 / total_s, 0)
            << " client_cpu=" << Fmt(cpu / total_s, 2);
  if (s1 > s0) std::cout << " server_cpu=" << Fmt((s1 - s0) / total_s, 2);
  if (server) {
    std::cout << " server_dropped=" << Fmt(server_count("dropped") - dropped0, 0)
              << " server_failed=" << Fmt(server_count("failed") - failed0, 0);
  }
  std::cout << std::endl;
  return done >= messages ? 0 : 1;
}

// The provisioning file for the MQTT benchmark: `devices` devices under one API key, each
// mapped to entity i of the workload, with the short names t, h, p, w, r.
int CmdMqttDevices(const Args& a) {
  const uint64_t devices = a.Int("devices", 10000);
  const std::string api_key = a.Str("api-key", "bench");
  std::ofstream out(a.Str("out", "devices.json"));
  out << "{\"devices\":[\n";
  for (uint64_t d = 0; d < devices; ++d) {
    out << (d ? ",\n" : "") << "{\"apiKey\":\"" << api_key << "\",\"deviceId\":\"dev" << d
        << "\",\"entityType\":\"" << cbbench::kEntityType << "\",\"entityId\":\""
        << cbbench::EntityId(d)
        << "\",\"attributes\":{\"t\":{\"name\":\"temperature\",\"unitCode\":\"CEL\"},"
           "\"h\":\"relativeHumidity\",\"p\":{\"name\":\"atmosphericPressure\",\"unitCode\":\"A97\"},"
           "\"w\":{\"name\":\"windSpeed\",\"unitCode\":\"MTS\"},"
           "\"r\":{\"name\":\"precipitation\",\"unitCode\":\"MMT\"}}}";
  }
  out << "\n]}\n";
  return 0;
}

// ------------------------------------------------------------------ alert latency (issue 3)

// The time from an observation sent to the API to the alert it causes on /ws/alerts, the
// dashboard's alert stream. Sets up a probe entity (type LatencyProbe) and a rule on it
// (level >= 50 → alert II), plus a rule on the workload's type that never fires, so every
// background update is evaluated as a city's would be. Then, `samples` times: PATCH the
// probe's level across the threshold (up, then down) on a keep-alive connection and wait
// for the alert's raise (or its automatic resolution) on the WebSocket. The latency runs
// from just before the PATCH is written to the arrival of the WebSocket message; the
// PATCH's own answer time is reported beside it.
int CmdAlertLatency(const Args& a) {
  const int port = static_cast<int>(a.Int("port", 1026));
  std::string key = a.Str("key");
  if (a.Has("key-file")) {
    std::ifstream f(a.Str("key-file"));
    std::getline(f, key);
  }
  const int samples = static_cast<int>(a.Int("samples", 400));
  const int gap_ms = static_cast<int>(a.Int("gap-ms", 20));
  const std::string name = a.Str("name", "alert_latency");
  const std::string probe = "urn:ngsi-ld:LatencyProbe:p1";

  // Set-up (not measured).
  Fetch(port, key, http::verb::post, "/ngsi-ld/v1/entities",
        R"({"id":")" + probe + R"(","type":"LatencyProbe","level":{"type":"Property","value":0}})");
  auto put_rule = [&](const std::string& id, const std::string& body) {
    SimpleResponse r = Fetch(port, key, http::verb::put, "/api/v1/rules/" + id, body);
    if (r.status / 100 != 2) throw std::runtime_error("rule " + id + ": " + std::to_string(r.status) + " " + r.body);
  };
  put_rule("latency-probe", R"({"name":{"zh-CN":"延迟探针","en":"Latency probe"},"entityType":"LatencyProbe",
    "severity":"II","when":{"attribute":"level","op":">=","value":50}})");
  put_rule("latency-background", std::string(R"({"name":{"zh-CN":"高温","en":"Heat"},"entityType":")") +
           std::string(cbbench::kEntityType) +
           R"(","severity":"III","when":{"attribute":"temperature","op":">=","value":1000}})");

  // The dashboard's side: a WebSocket reader recording when each probe alert change arrives.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<Clock::time_point, std::string>> events;  // (arrival, "raised"|"resolved")
  std::atomic<bool> stop{false};
  net::io_context ws_ioc;
  websocket::stream<tcp::socket> ws(ws_ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  ws.set_option(websocket::stream_base::decorator(
      [key](websocket::request_type& req) { req.set("X-Api-Key", key); }));
  ws.handshake("127.0.0.1:" + std::to_string(port), "/ws/alerts");
  std::thread reader([&] {
    beast::flat_buffer buf;
    while (!stop.load()) {
      beast::error_code ec;
      ws.read(buf, ec);
      const auto at = Clock::now();
      if (ec) break;
      std::string msg = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      if (msg.find("\"key\":\"rule:latency-probe:") == std::string::npos) continue;
      // The change is the message's own "what" (the alert's history holds earlier ones).
      const std::string_view head = std::string_view(msg).substr(0, 64);
      const char* kind = head.find("\"what\":\"raised") != std::string::npos     ? "raised"
                         : head.find("\"what\":\"resolved") != std::string::npos ? "resolved"
                                                                                 : nullptr;
      if (kind == nullptr) continue;
      std::lock_guard<std::mutex> l(mu);
      events.emplace_back(at, kind);
      cv.notify_all();
    }
  });

  // The observations, on one keep-alive connection.
  net::io_context ioc;
  beast::tcp_stream http_stream(ioc);
  http_stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  std::vector<uint32_t> latency_us, ack_us;
  int lost = 0;
  for (int i = 0; i < samples; ++i) {
    const bool up = i % 2 == 0;
    {
      std::lock_guard<std::mutex> l(mu);
      events.clear();
    }
    http::request<http::string_body> req{http::verb::patch, "/ngsi-ld/v1/entities/" + probe + "/attrs", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set("X-Api-Key", key);
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(R"({"level":{"type":"Property","value":)") + (up ? "100" : "0") + "}}";
    req.prepare_payload();
    const auto t0 = Clock::now();
    http::write(http_stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(http_stream, buf, res);
    const auto t_ack = Clock::now();
    if (res.result_int() != 204) throw std::runtime_error("PATCH answered " + std::to_string(res.result_int()));
    ack_us.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t_ack - t0).count()));
    std::unique_lock<std::mutex> l(mu);
    const char* want = up ? "raised" : "resolved";
    const bool got = cv.wait_for(l, std::chrono::seconds(5), [&] {
      for (const auto& e : events) {
        if (e.second == want) return true;
      }
      return false;
    });
    if (!got) {
      ++lost;
    } else {
      for (const auto& e : events) {
        if (e.second != want) continue;
        latency_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(e.first - t0).count()));
        break;
      }
    }
    l.unlock();
    if ((i + 1) % 100 == 0) std::cerr << "  " << name << ": " << (i + 1) << "/" << samples << " samples\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  }
  stop.store(true);
  beast::error_code ec;
  ws.next_layer().shutdown(tcp::socket::shutdown_both, ec);
  reader.join();

  auto pct = [](std::vector<uint32_t> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
    idx = std::min(v.size() - 1, idx == 0 ? 0 : idx - 1);
    return v[idx] / 1000.0;
  };
  std::cout << "RESULT name=" << name << " samples=" << latency_us.size() << " lost=" << lost
            << " p50_ms=" << Fmt(pct(latency_us, 50), 3) << " p99_ms=" << Fmt(pct(latency_us, 99), 3)
            << " max_ms=" << Fmt(pct(latency_us, 100), 3) << " ack_p50_ms=" << Fmt(pct(ack_us, 50), 3)
            << " ack_p99_ms=" << Fmt(pct(ack_us, 99), 3) << std::endl;
  return lost == 0 ? 0 : 1;
}

int CmdFetch(const Args& a) {
  std::string key = a.Str("key");
  if (a.Has("key-file")) {
    std::ifstream f(a.Str("key-file"));
    std::getline(f, key);
  }
  SimpleResponse r = Fetch(static_cast<int>(a.Int("port", 1026)), key, http::verb::get,
                           a.Str("path", "/health"));
  if (a.Has("metric")) {
    std::cout << MetricValue(r.body, a.Str("metric"), a.Has("sum")) << "\n";
  } else {
    std::cout << r.body;
  }
  return r.status / 100 == 2 ? 0 : 1;
}

int CmdFreePort() {
  net::io_context ioc;
  tcp::acceptor acc(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::cout << acc.local_endpoint().port() << "\n";
  return 0;
}

int CmdWait(const Args& a) {
  const int port = static_cast<int>(a.Int("port", 1026));
  auto deadline = Clock::now() + std::chrono::duration<double>(a.Dbl("timeout", 60));
  while (Clock::now() < deadline) {
    try {
      if (Fetch(port, "", http::verb::get, "/health").status == 200) return 0;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "the server on port " << port << " did not answer /health\n";
  return 1;
}

}  // namespace

constexpr const char* kUsage = R"(usage: cb_loadgen SUBCOMMAND [--option value ...]

Load generator of the CityBrain benchmarks (bench/run.sh). Each subcommand prints one line
"RESULT key=value ..." on stdout and progress on stderr.

Options of every HTTP load: --port P --key-file F (or --key K) --conns N (8)
  --duration S or --requests N, --rate R (requests/s, 0: closed loop), --server-pid PID
  (adds the server's CPU and disk writes), --name LABEL.

  http          --method GET --target /health [--batch-body N]   any request, fixed body
  upsert        --count N --first I --batch B --round R --t0 MS [--order seq|random]
  patch         --count N --round R --t0 MS [--seed S] [--props P]
                PATCH …/attrs of random entities with their first P (1–6, 6) Properties
  get           --count N [--seed S]             GET /entities/{id} of random entities
                (--seed varies the entities picked; each seed's sequence is fixed)
  query         --kind near|qnum|qdistrict [--distance M] [--limit L]
  fanout        --subs S --count N --batch B --rounds R --round R0 [--drain-timeout S]
  mqtt          --broker URL --api-key K --devices D --messages M --qos Q [--window W]
                [--inflight I] [--broker-only] [--wait-timeout S]
  mqtt-devices  --devices D --api-key K --out FILE   provisioning file for the server
  alert-latency --samples N (400) --gap-ms G (20)  observation → alert on /ws/alerts, p50/p99
  fetch         --path P [--metric NAME [--sum]]   GET a path, or one metric's value
  wait          --port P [--timeout S]             until GET /health answers 200
  free-port                                        print a free loopback TCP port
)";

int main(int argc, char** argv) {
  const auto wants_help = [&](int i) {
    return i < argc && (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h" ||
                        std::string(argv[i]) == "help");
  };
  if (argc < 2 || wants_help(1) || wants_help(2)) {
    (argc < 2 ? std::cerr : std::cout) << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  Args a = ParseArgs(argc, argv, 2);
  try {
    if (cmd == "http") return CmdHttp(a);
    if (cmd == "upsert") return CmdUpsert(a);
    if (cmd == "patch") return CmdPatch(a);
    if (cmd == "get") return CmdGet(a);
    if (cmd == "query") return CmdQuery(a);
    if (cmd == "fanout") return CmdFanout(a);
    if (cmd == "mqtt") return CmdMqtt(a);
    if (cmd == "mqtt-devices") return CmdMqttDevices(a);
    if (cmd == "fetch") return CmdFetch(a);
    if (cmd == "alert-latency") return CmdAlertLatency(a);
    if (cmd == "wait") return CmdWait(a);
    if (cmd == "free-port") return CmdFreePort();
  } catch (const std::exception& e) {
    std::cerr << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "unknown subcommand " << cmd << "\n";
  return 2;
}
