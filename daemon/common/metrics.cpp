#include "common/metrics.h"

#include <cmath>
#include <sstream>

namespace capi {
namespace {

std::string escapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

}  // namespace

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.type = type;
  f.help = help;
}

void Metrics::increment(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(mu_);
  families_[name].series[labels] += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  families_[name].series[labels] = value;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto s = f->second.series.find(labels);
  return s == f->second.series.end() ? 0 : s->second;
}

void Metrics::addCollector(std::function<void(Metrics&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() {
  std::vector<std::function<void(Metrics&)>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) {
    try {
      c(*this);
    } catch (...) {
    }
  }
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out << "# HELP " << name << ' ' << f.help << '\n';
    out << "# TYPE " << name << ' ' << f.type << '\n';
    for (const auto& [labels, v] : f.series) {
      out << name;
      if (!labels.empty()) {
        out << '{';
        for (size_t i = 0; i < labels.size(); ++i)
          out << (i ? "," : "") << labels[i].first << "=\"" << escapeLabel(labels[i].second) << '"';
        out << '}';
      }
      out << ' ' << formatValue(v) << '\n';
    }
  }
  return out.str();
}

}  // namespace capi
