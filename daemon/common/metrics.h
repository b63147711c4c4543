#pragma once
// A small Prometheus registry: counters and gauges with label sets, rendered in the text
// exposition format. Thread-safe. Gauges computed at scrape time register a collector.
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace capi {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  void describe(const std::string& name, const std::string& type, const std::string& help);
  void increment(const std::string& name, const Labels& labels = {}, double by = 1);
  void set(const std::string& name, const Labels& labels, double value);
  double value(const std::string& name, const Labels& labels = {}) const;
  // Called at each render; may call set(). Exceptions are swallowed (the scrape still answers).
  void addCollector(std::function<void(Metrics&)> collector);
  std::string render();

 private:
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<Labels, double> series;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<std::function<void(Metrics&)>> collectors_;
};

}  // namespace capi
