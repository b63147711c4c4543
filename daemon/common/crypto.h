#pragma once
// Thin wrappers over OpenSSL so no other file includes OpenSSL headers.
#include <string>
#include <string_view>

namespace capi {

// Lowercase hex SHA-256 of the bytes.
std::string sha256Hex(std::string_view data);

// Raw HMAC-SHA256 (32 bytes) of data keyed with key.
std::string hmacSha256(std::string_view key, std::string_view data);

std::string toHex(std::string_view bytes);

// Constant-time comparison (CRYPTO_memcmp); unequal lengths compare false without
// looking at the contents.
bool constantTimeEquals(std::string_view a, std::string_view b);

// Random bytes from OpenSSL's CSPRNG, hex encoded (2*bytes characters).
std::string randomHex(size_t bytes);

}  // namespace capi
