// jsonQuote: every error body the daemon writes goes through it, often echoing a piece of the
// request (a path, a field name). Whatever bytes arrive, the answer must stay valid JSON.
#include "http/endpoint.h"

#include <catch2/catch.hpp>

#include <string>

using capi::http::jsonQuote;

TEST_CASE("jsonQuote escapes quotes, backslashes and control characters") {
  CHECK(jsonQuote("plain") == "\"plain\"");
  CHECK(jsonQuote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(jsonQuote("line\nnext\r\ttab") == "\"line\\nnext\\r\\ttab\"");
  CHECK(jsonQuote(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(jsonQuote("\x1f") == "\"\\u001f\"");
}

TEST_CASE("jsonQuote keeps well-formed UTF-8 as it is") {
  CHECK(jsonQuote("caf\xC3\xA9") == "\"caf\xC3\xA9\"");                  // é, 2 bytes
  CHECK(jsonQuote("\xE2\x82\xAC 5") == "\"\xE2\x82\xAC 5\"");            // €, 3 bytes
  CHECK(jsonQuote("\xF0\x9F\x98\x80") == "\"\xF0\x9F\x98\x80\"");        // U+1F600, 4 bytes
  CHECK(jsonQuote("\xF4\x8F\xBF\xBF") == "\"\xF4\x8F\xBF\xBF\"");        // U+10FFFF, the last one
}

TEST_CASE("jsonQuote replaces each byte that starts no well-formed UTF-8 sequence with U+FFFD") {
  CHECK(jsonQuote("/\xFF\xFE") == "\"/\\ufffd\\ufffd\"");                   // never valid in UTF-8
  CHECK(jsonQuote("\xC0\xAF") == "\"\\ufffd\\ufffd\"");                     // overlong '/'
  CHECK(jsonQuote("\xE0\x80\xAF") == "\"\\ufffd\\ufffd\\ufffd\"");          // overlong, 3 bytes
  CHECK(jsonQuote("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");          // a UTF-16 surrogate
  CHECK(jsonQuote("\xF4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
  CHECK(jsonQuote("ab\xE2\x82") == "\"ab\\ufffd\\ufffd\"");                 // cut short at the end
  CHECK(jsonQuote("\xE2\x82x") == "\"\\ufffd\\ufffdx\"");                   // cut short by ASCII
  CHECK(jsonQuote("\x80" "ok") == "\"\\ufffdok\"");                         // a lone continuation byte
}
