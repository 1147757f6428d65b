#include <catch2/catch.hpp>

#include "http/admin/metrics.hpp"

using boxoffice::http::http_metrics;
using boxoffice::http::label_every_series;

TEST_CASE("histograms render as cumulative Prometheus buckets") {
  http_metrics m;
  m.observe("GET /x", 200, 0.0004);
  m.observe("GET /x", 200, 0.003);
  m.observe("GET /x", 200, 9.0);
  m.observe("GET /x", 404, 0.001);
  std::string out;
  m.render(out);
  CHECK(out.find("# TYPE boxoffice_http_request_duration_seconds histogram") != std::string::npos);
  CHECK(out.find("boxoffice_http_requests_total{route=\"GET /x\",status=\"200\"} 3\n") !=
        std::string::npos);
  CHECK(out.find("_bucket{route=\"GET /x\",status=\"200\",le=\"0.0005\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("_bucket{route=\"GET /x\",status=\"200\",le=\"0.005\"} 2\n") != std::string::npos);
  CHECK(out.find("_bucket{route=\"GET /x\",status=\"200\",le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(out.find("_count{route=\"GET /x\",status=\"404\"} 1\n") != std::string::npos);
}

TEST_CASE("label values are escaped") {
  http_metrics m;
  m.observe("GET /\"q\"\\", 200, 0.1);
  std::string out;
  m.render(out);
  CHECK(out.find("route=\"GET /\\\"q\\\"\\\\\"") != std::string::npos);
}

TEST_CASE("every series gets the node's label, and only series lines") {
  auto text = "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n"
              "b{route=\"GET /x\",le=\"+Inf\"} 1\n";
  CHECK(label_every_series(text, "node", "node-\"2\"") ==
        "# HELP a_total A.\n# TYPE a_total counter\na_total{node=\"node-\\\"2\\\"\"} 3\n"
        "b{node=\"node-\\\"2\\\"\",route=\"GET /x\",le=\"+Inf\"} 1\n");
  CHECK(label_every_series("", "node", "n").empty());
}
