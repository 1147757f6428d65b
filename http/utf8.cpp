#include "http/utf8.hpp"

namespace boxoffice::http {

namespace {

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// The length of the sequence a lead byte starts, and the range its second byte
// must lie in (which is where overlongs, surrogates and > U+10FFFF are ruled
// out); 0 for a byte that cannot start a sequence.
struct lead_info {
  int length;
  unsigned char second_min;
  unsigned char second_max;
};

lead_info classify(unsigned char c) {
  if (c < 0x80)
    return {1, 0, 0};
  if (c >= 0xC2 && c <= 0xDF)
    return {2, 0x80, 0xBF};
  if (c == 0xE0)
    return {3, 0xA0, 0xBF}; // no overlong 3-byte forms
  if (c == 0xED)
    return {3, 0x80, 0x9F}; // no UTF-16 surrogates
  if (c >= 0xE1 && c <= 0xEF)
    return {3, 0x80, 0xBF};
  if (c == 0xF0)
    return {4, 0x90, 0xBF}; // no overlong 4-byte forms
  if (c >= 0xF1 && c <= 0xF3)
    return {4, 0x80, 0xBF};
  if (c == 0xF4)
    return {4, 0x80, 0x8F}; // nothing past U+10FFFF
  return {0, 0, 0};         // continuation bytes, C0, C1, F5..FF
}

} // namespace

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto lead = classify(static_cast<unsigned char>(text[i]));
    if (lead.length == 0 || text.size() - i < static_cast<size_t>(lead.length))
      return false;
    if (lead.length > 1) {
      auto second = static_cast<unsigned char>(text[i + 1]);
      if (second < lead.second_min || second > lead.second_max)
        return false;
      for (int k = 2; k < lead.length; ++k)
        if (!is_continuation(static_cast<unsigned char>(text[i + k])))
          return false;
    }
    i += lead.length;
  }
  return true;
}

const char* first_non_utf8_part(const api_request& req) {
  const std::pair<const std::string*, const char*> parts[] = {
    {&req.path, "path"},
    {&req.query, "query"},
    {&req.token, "X-Queue-Token header"},
    {&req.idempotency_key, "Idempotency-Key header"},
    {&req.authorization, "Authorization header"},
    {&req.if_none_match, "If-None-Match header"},
    {&req.last_event_id, "Last-Event-ID header"},
    {&req.body, "body"},
  };
  for (auto& [text, name] : parts)
    if (!is_valid_utf8(*text))
      return name;
  return nullptr;
}

} // namespace boxoffice::http
