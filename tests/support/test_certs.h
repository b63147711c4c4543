#pragma once
// Throwaway PKI for loopback TLS tests: a private CA and a server certificate it signed, valid for
// CN=localhost with SAN IP:127.0.0.1 and DNS:localhost. Each instance has its own CA, so a second
// instance is "an unknown CA" to a client that trusts only the first.
#include <string>

namespace capi::testing {

// Poco::Net::initializeSSL() exactly once per process, however many callers. Thread-safe.
void ensureSslInitialized();

class TestCertificates {
 public:
  // Generates the keys and certificates (OpenSSL C API) into a fresh temporary directory.
  // Throws std::runtime_error when OpenSSL or the file system fails.
  TestCertificates();
  // Removes the directory and every file in it.
  ~TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  std::string caFile() const;     // PEM certificate of the CA
  std::string certFile() const;   // PEM server certificate, signed by caFile()
  std::string keyFile() const;    // PEM private key of certFile()

 private:
  std::string dir_;
};

}  // namespace capi::testing
