#include "support/test_certs.h"

#include <Poco/Net/NetSSL.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace capi::testing {

void ensureSslInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

[[noreturn]] void fail(const std::string& what) {
  const unsigned long err = ERR_get_error();
  std::string detail;
  if (err != 0) {
    char buf[256] = {};
    ERR_error_string_n(err, buf, sizeof buf);
    detail = std::string(": ") + buf;
  }
  ERR_clear_error();
  throw std::runtime_error("test certificates: " + what + detail);
}

void check(int ok, const char* what) {
  if (ok != 1) fail(what);
}

PkeyPtr newKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EC P-256 key generation");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok, "X509_add_ext");
}

void addNameEntry(X509_NAME* name, const char* field, const char* value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(value), -1, -1, 0),
        "X509_NAME_add_entry_by_txt");
}

// issuer == nullptr: self-signed CA certificate. Otherwise a TLS server certificate for
// localhost / 127.0.0.1 signed by issuer_key.
X509Ptr makeCertificate(const char* common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  X509* c = cert.get();
  check(X509_set_version(c, 2), "X509_set_version");

  // Random serials: a client that caches sessions or certificates must never see two
  // different certificates with the same issuer and serial across test runs.
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(c)) == nullptr) fail("serial number");

  if (X509_gmtime_adj(X509_getm_notBefore(c), -3600) == nullptr) fail("notBefore");
  if (X509_gmtime_adj(X509_getm_notAfter(c), 7L * 24 * 3600) == nullptr) fail("notAfter");
  check(X509_set_pubkey(c, key), "X509_set_pubkey");

  X509_NAME* subject = X509_get_subject_name(c);
  addNameEntry(subject, "O", "capi-reconciler tests");
  addNameEntry(subject, "CN", common_name);
  check(X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer) : subject),
        "X509_set_issuer_name");

  X509* signer = issuer != nullptr ? issuer : c;
  if (issuer == nullptr) {
    addExtension(c, signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    addExtension(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    addExtension(c, signer, NID_subject_key_identifier, "hash");
  } else {
    addExtension(c, signer, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(c, signer, NID_key_usage, "critical,digitalSignature");
    addExtension(c, signer, NID_ext_key_usage, "serverAuth");
    addExtension(c, signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    addExtension(c, signer, NID_subject_key_identifier, "hash");
    addExtension(c, signer, NID_authority_key_identifier, "keyid:always");
  }
  if (X509_sign(c, issuer_key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

std::unique_ptr<FILE, FileClose> openForWrite(const std::string& path) {
  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "w"));
  if (!f) throw std::runtime_error("test certificates: cannot write " + path);
  return f;
}

void writeCertificate(const std::string& path, X509* cert) {
  auto f = openForWrite(path);
  check(PEM_write_X509(f.get(), cert), "PEM_write_X509");
}

void writeKey(const std::string& path, EVP_PKEY* key) {
  auto f = openForWrite(path);
  check(PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM_write_PrivateKey");
}

std::string makeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "capi-test-certs-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("test certificates: mkdtemp failed for " + pattern);
  return std::string(buf.data());
}

}  // namespace

TestCertificates::TestCertificates() : dir_(makeTempDir()) {
  try {
    PkeyPtr ca_key = newKey();
    X509Ptr ca = makeCertificate("capi-reconciler test CA", ca_key.get(), nullptr, ca_key.get());
    PkeyPtr server_key = newKey();
    X509Ptr server = makeCertificate("localhost", server_key.get(), ca.get(), ca_key.get());
    writeCertificate(caFile(), ca.get());
    writeCertificate(certFile(), server.get());
    writeKey(keyFile(), server_key.get());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

TestCertificates::~TestCertificates() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestCertificates::caFile() const { return dir_ + "/ca.pem"; }
std::string TestCertificates::certFile() const { return dir_ + "/server.pem"; }
std::string TestCertificates::keyFile() const { return dir_ + "/server.key"; }

}  // namespace capi::testing
