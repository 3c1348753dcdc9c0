// Metrics in the Prometheus text exposition format (version 0.0.4).
// Written here rather than taken from prometheus-cpp because Debian 12 does not package
// that library; the subset we need (counters, gauges, fixed-bucket histograms, labels)
// is small, and lock-free counters keep the hot path cheap.
// Thread-safety: registration is mutex-protected; Counter/Gauge/Histogram updates are
// lock-free atomics and safe from any thread; Registry::Render is safe at any time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cb::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Cumulative histogram with fixed upper bounds (seconds for latencies).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t BucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  // Estimated quantile (0..1) by linear interpolation inside the bucket.
  double Quantile(double q) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Default latency buckets: 0.1 ms .. 10 s.
std::vector<double> LatencyBuckets();

// A family of metrics with one name, help and type; series differ by label values.
class Registry {
 public:
  Registry();
  ~Registry();
  // Labels are "k=\"v\",k2=\"v2\"" text (empty for none). Returns the same object for the
  // same name and labels. The returned pointer lives as long as the registry.
  Counter* GetCounter(const std::string& name, const std::string& help,
                      const std::string& labels = "");
  Gauge* GetGauge(const std::string& name, const std::string& help,
                  const std::string& labels = "");
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          const std::string& labels = "",
                          std::vector<double> bounds = LatencyBuckets());
  // A gauge computed when scraped.
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> fn, const std::string& labels = "");
  // A counter read from elsewhere when scraped (the function must never decrease).
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::function<double()> fn, const std::string& labels = "");

  std::string Render() const;

 private:
  struct Series;
  struct Family;
  Family* FamilyFor(const std::string& name, const std::string& help, const char* type);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// Escapes a label value for the text format.
std::string Label(const std::string& key, const std::string& value);

}  // namespace cb::metrics
