#include "http/admin/metrics.hpp"

#include <cstdio>
#include <string_view>

namespace boxoffice::http {

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

void prometheus_header(std::string& out, const std::string& name, const char* type,
                       const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void prometheus_line(std::string& out, const std::string& name, const std::string& labels,
                     double value) {
  out += name;
  if (!labels.empty())
    out += "{" + labels + "}";
  out += " " + number(value) + "\n";
}

std::string label_every_series(const std::string& text, const std::string& name,
                               const std::string& value) {
  auto label = name + "=\"" + escape(value) + "\"";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    auto line = std::string_view{text}.substr(start, end - start);
    auto at = line.find_first_of("{ ");
    if (line.empty() || line[0] == '#' || at == std::string_view::npos)
      out += line;
    else if (line[at] == '{')
      out.append(line.substr(0, at + 1)).append(label).append(",").append(line.substr(at + 1));
    else
      out.append(line.substr(0, at)).append("{" + label + "}").append(line.substr(at));
    start = end;
  }
  return out;
}

void http_metrics::observe(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& h = series_[{route, status}];
  size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i])
    ++i;
  h.buckets[i]++;
  h.count++;
  h.sum += seconds;
}

http_metrics::series_map http_metrics::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return series_;
}

void http_metrics::render(std::string& out) const {
  std::lock_guard<std::mutex> guard{mtx_};
  const std::string total = "boxoffice_http_requests_total";
  prometheus_header(out, total, "counter", "HTTP requests by route and status.");
  for (auto& [key, h] : series_)
    prometheus_line(out, total,
                    "route=\"" + escape(key.first) + "\",status=\"" + std::to_string(key.second) +
                      "\"",
                    static_cast<double>(h.count));
  const std::string dur = "boxoffice_http_request_duration_seconds";
  prometheus_header(out, dur, "histogram", "HTTP request latency by route and status.");
  for (auto& [key, h] : series_) {
    auto labels =
      "route=\"" + escape(key.first) + "\",status=\"" + std::to_string(key.second) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += h.buckets[i];
      prometheus_line(out, dur + "_bucket", labels + ",le=\"" + number(bounds[i]) + "\"",
                      static_cast<double>(cumulative));
    }
    prometheus_line(out, dur + "_bucket", labels + ",le=\"+Inf\"", static_cast<double>(h.count));
    prometheus_line(out, dur + "_sum", labels, h.sum);
    prometheus_line(out, dur + "_count", labels, static_cast<double>(h.count));
  }
}

} // namespace boxoffice::http
