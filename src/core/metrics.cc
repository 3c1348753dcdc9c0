#include "core/metrics.h"

#include <cmath>

#include "core/json.h"

namespace cb::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

double Histogram::Quantile(double q) const {
  uint64_t total = Count();
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  uint64_t cum = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    uint64_t c = BucketCount(i);
    if (static_cast<double>(cum + c) >= rank) {
      double lo = i == 0 ? 0 : bounds_[i - 1];
      double hi = i < bounds_.size() ? bounds_[i] : lo;
      double frac = c == 0 ? 0 : (rank - static_cast<double>(cum)) / static_cast<double>(c);
      return lo + (hi - lo) * frac;
    }
    cum += c;
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
          1,      2.5,     5,      10};
}

struct Registry::Series {
  std::string labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> fn;
};

struct Registry::Family {
  std::string name, help, type;
  std::vector<std::unique_ptr<Series>> series;
  Series* Find(const std::string& labels) {
    for (auto& s : series) {
      if (s->labels == labels) return s.get();
    }
    series.push_back(std::make_unique<Series>());
    series.back()->labels = labels;
    return series.back().get();
  }
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family* Registry::FamilyFor(const std::string& name, const std::string& help,
                                      const char* type) {
  for (auto& f : families_) {
    if (f->name == name) return f.get();
  }
  families_.push_back(std::make_unique<Family>());
  families_.back()->name = name;
  families_.back()->help = help;
  families_.back()->type = type;
  return families_.back().get();
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const std::string& labels) {
  std::lock_guard lock(mu_);
  Series* s = FamilyFor(name, help, "counter")->Find(labels);
  if (!s->counter) s->counter = std::make_unique<Counter>();
  return s->counter.get();
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help,
                          const std::string& labels) {
  std::lock_guard lock(mu_);
  Series* s = FamilyFor(name, help, "gauge")->Find(labels);
  if (!s->gauge) s->gauge = std::make_unique<Gauge>();
  return s->gauge.get();
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::string& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Series* s = FamilyFor(name, help, "histogram")->Find(labels);
  if (!s->histogram) s->histogram = std::make_unique<Histogram>(std::move(bounds));
  return s->histogram.get();
}

void Registry::AddCallbackGauge(const std::string& name, const std::string& help,
                                std::function<double()> fn, const std::string& labels) {
  std::lock_guard lock(mu_);
  FamilyFor(name, help, "gauge")->Find(labels)->fn = std::move(fn);
}

void Registry::AddCallbackCounter(const std::string& name, const std::string& help,
                                  std::function<double()> fn, const std::string& labels) {
  std::lock_guard lock(mu_);
  FamilyFor(name, help, "counter")->Find(labels)->fn = std::move(fn);
}

namespace {
void AppendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    AppendJsonNumber(out, v);
  }
}

void Line(std::string* out, const std::string& name, const std::string& labels, double v) {
  out->append(name);
  if (!labels.empty()) {
    out->push_back('{');
    out->append(labels);
    out->push_back('}');
  }
  out->push_back(' ');
  AppendValue(out, v);
  out->push_back('\n');
}

std::string Join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  return a + "," + b;
}
}  // namespace

std::string Registry::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + f->help + "\n";
    out += "# TYPE " + f->name + " " + f->type + "\n";
    for (const auto& s : f->series) {
      if (s->counter) Line(&out, f->name, s->labels, static_cast<double>(s->counter->Value()));
      if (s->gauge) Line(&out, f->name, s->labels, s->gauge->Value());
      if (s->fn) Line(&out, f->name, s->labels, s->fn());
      if (s->histogram) {
        const Histogram& h = *s->histogram;
        uint64_t cum = 0;
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          cum += h.BucketCount(i);
          std::string le;
          AppendValue(&le, h.bounds()[i]);
          Line(&out, f->name + "_bucket", Join(s->labels, "le=\"" + le + "\""),
               static_cast<double>(cum));
        }
        Line(&out, f->name + "_bucket", Join(s->labels, "le=\"+Inf\""),
             static_cast<double>(h.Count()));
        Line(&out, f->name + "_sum", s->labels, h.Sum());
        Line(&out, f->name + "_count", s->labels, static_cast<double>(h.Count()));
      }
    }
  }
  return out;
}

std::string Label(const std::string& key, const std::string& value) {
  std::string out = key + "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace cb::metrics
