#include <catch2/catch.hpp>

#include "http/utf8.hpp"

using boxoffice::http::is_valid_utf8;
using namespace std::string_literals;

TEST_CASE("well-formed UTF-8 is accepted") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("/api/v1/concerts?userId=7"));
  CHECK(is_valid_utf8("caf\xC3\xA9"));      // U+00E9
  CHECK(is_valid_utf8("\xE2\x82\xAC"));     // U+20AC
  CHECK(is_valid_utf8("\xF0\x9F\x8E\xB5")); // U+1F3B5
  CHECK(is_valid_utf8("\xEF\xBF\xBF"));     // U+FFFF
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF, the last
  CHECK(is_valid_utf8("\xED\x9F\xBF"));     // U+D7FF, just below surrogates
  CHECK(is_valid_utf8("a\0b"s));            // NUL is a character
}

TEST_CASE("bytes that are not UTF-8 are rejected") {
  CHECK_FALSE(is_valid_utf8("\xFF")); // the path byte
  CHECK_FALSE(is_valid_utf8("/\xFF"));
  CHECK_FALSE(is_valid_utf8("\x80"));         // lone continuation
  CHECK_FALSE(is_valid_utf8("\xC3"));         // truncated 2-byte
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));     // truncated 3-byte
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x8E")); // truncated 4-byte
  CHECK_FALSE(is_valid_utf8("\xC3\x41"));     // bad continuation
  CHECK_FALSE(is_valid_utf8("\xE2\x28\xA1"));
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x8E\x41"));
}

TEST_CASE("overlong forms, surrogates and code points past U+10FFFF are rejected") {
  CHECK_FALSE(is_valid_utf8("\xC0\xAF")); // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xC1\xBF"));
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));     // overlong 3-byte
  CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\xAF")); // overlong 4-byte
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));     // U+D800
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));     // U+DFFF
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // U+110000
  CHECK_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80")); // old 5-byte form
}
