#include "http/api/routes.hpp"

namespace boxoffice::http {

std::optional<nlohmann::json> json_body(const api_exchange_ptr& ex) {
  auto j = nlohmann::json::parse(ex->request.body, nullptr, false);
  if (j.is_discarded()) {
    ex->respond(error_response(400, "MALFORMED_JSON", "the request body is not valid JSON"));
    return std::nullopt;
  }
  if (!j.is_object()) {
    ex->respond(error_response(400, "MALFORMED_JSON", "the request body must be a JSON object"));
    return std::nullopt;
  }
  return j;
}

std::optional<int64_t> id_field(const nlohmann::json& body, const char* field,
                                const api_exchange_ptr& ex) {
  auto i = body.find(field);
  if (i != body.end() && i->is_number_integer()) {
    auto v = i->get<int64_t>();
    if (i->is_number_unsigned() && i->get<uint64_t>() > static_cast<uint64_t>(max_id))
      v = -1;
    if (v > 0 && v <= max_id)
      return v;
  }
  ex->respond(error_response(400, "INVALID_ARGUMENT",
                             std::string{"field '"} + field + "' must be a positive integer"));
  return std::nullopt;
}

std::optional<user_body> user_body_of(const api_exchange_ptr& ex) {
  auto body = json_body(ex);
  if (!body)
    return std::nullopt;
  auto user = id_field(*body, "userId", ex);
  if (!user)
    return std::nullopt;
  return user_body{std::move(*body), *user};
}

std::optional<int64_t> user_query(const api_exchange_ptr& ex) {
  int64_t id = 0;
  if (parse_id(query_param(ex->request.query, "userId"), id))
    return id;
  ex->respond(
    error_response(400, "INVALID_ARGUMENT", "query parameter 'userId' must be a positive integer"));
  return std::nullopt;
}

} // namespace boxoffice::http
