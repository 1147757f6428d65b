#include "http/admin/status_json.hpp"

#include <caf/deep_to_string.hpp>
#include <nlohmann/json.hpp>

namespace boxoffice::http {

namespace {

nlohmann::json value_json(const caf::config_value& value);

struct value_visitor {
  template <class T> nlohmann::json operator()(const T& x) const { return caf::deep_to_string(x); }
  nlohmann::json operator()(int64_t x) const { return x; }
  nlohmann::json operator()(bool x) const { return x; }
  nlohmann::json operator()(double x) const { return x; }
  nlohmann::json operator()(const std::string& x) const { return x; }
  nlohmann::json operator()(const caf::config_value::list& xs) const {
    auto array = nlohmann::json::array();
    for (auto& x : xs)
      array.push_back(value_json(x));
    return array;
  }
  nlohmann::json operator()(const caf::config_value::dictionary& xs) const {
    return status_json(xs);
  }
};

nlohmann::json value_json(const caf::config_value& value) {
  return caf::visit(value_visitor{}, value.get_data());
}

} // namespace

nlohmann::json status_json(const caf::settings& status) {
  auto object = nlohmann::json::object();
  for (auto& [key, value] : status)
    object[key] = value_json(value);
  return object;
}

double status_number(const caf::config_value& value) {
  if (auto integer = caf::get_if<int64_t>(&value))
    return static_cast<double>(*integer);
  if (auto real = caf::get_if<double>(&value))
    return *real;
  return 0.0;
}

} // namespace boxoffice::http
