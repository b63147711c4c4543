// PocoGraphClient: HTTPS to graph.facebook.com through Poco::Net, with the Poco 1.11 pitfalls
// handled (reference postgres-queue-and-poco.md §3.2): an explicit Context that loads the system
// CAs, a rejecting invalid-certificate handler (never the console prompt), and one retry on a
// fresh connection when a reused keep-alive connection turns out to have been closed by the
// peer. Resending is safe because Meta deduplicates on event_id.
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/InvalidCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/VerificationErrorArgs.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/URI.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "build_info.h"
#include "capi/graph/graph_client.h"
#include "capi/graph/graph_wire.h"

namespace capi::graph {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A success answer is ~80 bytes and an error a few hundred; more is not a Graph answer.
constexpr std::size_t kMaxResponseBytes = 1 << 20;
// Idle connections kept for reuse; beyond that, finished sessions are closed.
constexpr std::size_t kMaxIdleSessions = 16;
constexpr std::size_t kMaxTransportErrorBytes = 300;

struct Endpoint {
  bool tls = true;
  std::string host;
  uint16_t port = 443;
  std::string path_prefix;   // "" or "/segment..." without a trailing slash
};

bool isLoopbackHost(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

Endpoint parseGraphUrl(const std::string& url) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument("graph_url '" + url + "' is not a URL: " + e.displayText());
  }
  Endpoint ep;
  if (uri.getScheme() == "https") {
    ep.tls = true;
  } else if (uri.getScheme() == "http") {
    ep.tls = false;
  } else {
    throw std::invalid_argument("graph_url '" + url + "' must start with https://");
  }
  ep.host = uri.getHost();
  if (ep.host.empty()) throw std::invalid_argument("graph_url '" + url + "' has no host");
  if (!uri.getUserInfo().empty() || !uri.getRawQuery().empty() || !uri.getFragment().empty()) {
    throw std::invalid_argument("graph_url '" + url + "' must be scheme://host[:port] without user, query or fragment");
  }
  if (!ep.tls && !isLoopbackHost(ep.host)) {
    // The access token travels in the body: plain http would publish it on the network.
    throw std::invalid_argument("graph_url '" + url + "': plain http is only allowed for 127.0.0.1/localhost");
  }
  ep.port = uri.getPort();
  ep.path_prefix = uri.getPath();
  while (!ep.path_prefix.empty() && ep.path_prefix.back() == '/') ep.path_prefix.pop_back();
  return ep;
}

std::string openSslError() {
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return "unknown OpenSSL error";
  char buf[256] = {};
  ERR_error_string_n(err, buf, sizeof buf);
  return buf;
}

// Why OpenSSL rejected the peer's certificate during the handshake on this thread, for the
// transport error; Poco itself only reports "certificate verify failed".
thread_local std::string t_certificate_problem;

// Rejects every certificate OpenSSL could not verify (never asks, never accepts), noting why.
class RejectingCertificateHandler final : public Poco::Net::InvalidCertificateHandler {
 public:
  RejectingCertificateHandler() : Poco::Net::InvalidCertificateHandler(false) {}
  void onInvalidCertificate(const void*, Poco::Net::VerificationErrorArgs& args) override {
    args.setIgnoreError(false);
    t_certificate_problem = args.errorMessage() + " (certificate " + args.certificate().subjectName() + ")";
  }
};

Poco::Net::Context::Ptr makeTlsContext(const Endpoint& ep, const std::string& ca_file) {
  Poco::Net::Context::Params params;
  params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;   // client side: chain verified
  params.verificationDepth = 9;
  params.loadDefaultCAs = true;
  Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  // Without a Context-level handler, Poco may fall back to the application's configured one,
  // whose default asks "Accept the certificate (y,n)?" on stdin.
  context->setInvalidCertificateHandler(new RejectingCertificateHandler);

  SSL_CTX* ssl = context->sslContext();
  if (!ca_file.empty()) {
    // In addition to the system store, not instead of it.
    if (SSL_CTX_load_verify_locations(ssl, ca_file.c_str(), nullptr) != 1) {
      throw std::invalid_argument("ca_file '" + ca_file + "' is not a readable PEM CA file: " + openSslError());
    }
  }
  // OpenSSL checks the name during the handshake itself. Poco's own check skips loopback
  // hosts; this one does not, so the loopback tests exercise the same verification as production.
  X509_VERIFY_PARAM* verify = SSL_CTX_get0_param(ssl);
  Poco::Net::IPAddress ip;
  const int ok = Poco::Net::IPAddress::tryParse(ep.host, ip)
                     ? X509_VERIFY_PARAM_set1_ip_asc(verify, ep.host.c_str())
                     : X509_VERIFY_PARAM_set1_host(verify, ep.host.c_str(), ep.host.size());
  if (ok != 1) throw std::invalid_argument("graph_url host '" + ep.host + "' cannot be verified: " + openSslError());
  X509_VERIFY_PARAM_set_hostflags(verify, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return context;
}

// The peer closed a connection we reused (idle timeout on its side): worth one fresh attempt.
bool isStaleConnection(const Poco::Exception& e) {
  return dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr ||
         dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) != nullptr ||
         dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e) != nullptr;
}

class PocoGraphClient final : public GraphApi {
 public:
  PocoGraphClient(Endpoint endpoint, Poco::Net::Context::Ptr context, const GraphClientOptions& options)
      : endpoint_(std::move(endpoint)),
        context_(std::move(context)),
        api_version_(options.api_version),
        connect_timeout_(options.connect_timeout),
        timeout_(options.timeout),
        user_agent_(std::string("capi-reconciler/") + CAPI_VERSION) {}

  GraphResponse sendEvents(const GraphRequest& request) override {
    const auto started = SteadyClock::now();
    const std::string path =
        endpoint_.path_prefix + "/" + api_version_ + "/" + encodeSegment(request.pixel_id) + "/events";
    const std::string body = wire::buildEventsBody(request);

    GraphResponse response;
    Session session = acquire();
    for (int attempt = 1;; ++attempt) {
      const bool reused = session->connected();
      t_certificate_problem.clear();
      try {
        Answer answer = exchange(*session, path, body);
        response = wire::parseResponse(answer.status, answer.body, request.access_token);
        if (answer.complete) release(std::move(session));
        break;
      } catch (const Poco::Exception& e) {
        session->reset();
        if (attempt == 1 && reused && isStaleConnection(e)) continue;
        response = transportFailure(e, request.access_token);
        break;
      } catch (const std::exception& e) {
        session->reset();
        response = GraphResponse{};
        response.transport_error = wire::oneLine(wire::redact(e.what(), request.access_token), kMaxTransportErrorBytes);
        break;
      }
    }
    response.latency = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    return response;
  }

 private:
  using Session = std::unique_ptr<Poco::Net::HTTPClientSession>;

  struct Answer {
    int status = 0;
    std::string body;
    bool complete = true;   // the body was read to its end: the connection can be reused
  };

  static std::string encodeSegment(const std::string& segment) {
    std::string out;
    Poco::URI::encode(segment, "/?#%", out);
    return out;
  }

  Session acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        Session s = std::move(idle_.back());
        idle_.pop_back();
        return s;
      }
    }
    Session s = endpoint_.tls
                    ? std::make_unique<Poco::Net::HTTPSClientSession>(endpoint_.host, endpoint_.port, context_)
                    : std::make_unique<Poco::Net::HTTPClientSession>(endpoint_.host, endpoint_.port);
    s->setKeepAlive(true);
    s->setTimeout(toTimespan(connect_timeout_), toTimespan(timeout_), toTimespan(timeout_));
    return s;
  }

  void release(Session s) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdleSessions) idle_.push_back(std::move(s));
  }

  static Poco::Timespan toTimespan(std::chrono::milliseconds ms) {
    return Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(ms).count());
  }

  Answer exchange(Poco::Net::HTTPClientSession& session, const std::string& path, const std::string& body) const {
    Poco::Net::HTTPRequest http(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
    http.setContentType("application/json");
    http.setContentLength(static_cast<std::streamsize>(body.size()));
    http.set("User-Agent", user_agent_);
    http.set("Accept", "application/json");
    http.setKeepAlive(true);
    std::ostream& out = session.sendRequest(http);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();

    Poco::Net::HTTPResponse http_response;
    // Rethrows a write failure the stream above swallowed.
    std::istream& in = session.receiveResponse(http_response);
    Answer answer;
    answer.status = static_cast<int>(http_response.getStatus());
    char buf[8192];
    while (answer.body.size() <= kMaxResponseBytes) {
      in.read(buf, sizeof buf);
      const std::streamsize n = in.gcount();
      if (n <= 0) break;
      answer.body.append(buf, static_cast<std::size_t>(n));
    }
    if (in.bad()) {
      if (const Poco::Exception* e = session.networkException()) e->rethrow();
      throw Poco::IOException("response body could not be read");
    }
    answer.complete = in.eof() && answer.body.size() <= kMaxResponseBytes;
    if (answer.body.size() > kMaxResponseBytes) answer.body.resize(kMaxResponseBytes);
    return answer;
  }

  GraphResponse transportFailure(const Poco::Exception& e, const std::string& token) const {
    const std::string where = endpoint_.host + ":" + std::to_string(endpoint_.port);
    std::string what;
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr) {
      what = "timed out talking to " + where + " (connect " + std::to_string(connect_timeout_.count()) +
             " ms, response " + std::to_string(timeout_.count()) + " ms)";
    } else if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) != nullptr) {
      what = "connection refused by " + where;
    } else if (dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr) {
      what = "TLS with " + where + " failed: " +
             (t_certificate_problem.empty() ? e.displayText() : "certificate rejected: " + t_certificate_problem);
    } else if (dynamic_cast<const Poco::Net::HostNotFoundException*>(&e) != nullptr ||
               dynamic_cast<const Poco::Net::NoAddressFoundException*>(&e) != nullptr ||
               dynamic_cast<const Poco::Net::DNSException*>(&e) != nullptr) {
      what = "cannot resolve " + endpoint_.host + ": " + e.displayText();
    } else if (isStaleConnection(e)) {
      what = "connection to " + where + " closed before a response: " + e.displayText();
    } else {
      what = where + ": " + e.displayText();
    }
    GraphResponse r;
    r.kind = GraphResponse::Kind::Transport;
    r.transport_error = wire::oneLine(wire::redact(std::move(what), token), kMaxTransportErrorBytes);
    return r;
  }

  const Endpoint endpoint_;
  const Poco::Net::Context::Ptr context_;   // null for plain http
  const std::string api_version_;
  const std::chrono::milliseconds connect_timeout_;
  const std::chrono::milliseconds timeout_;
  const std::string user_agent_;

  std::mutex mu_;
  std::vector<Session> idle_;   // each used by one thread at a time: taken out under mu_
};

bool isPathSafe(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

std::unique_ptr<GraphApi> makePocoGraphClient(const GraphClientOptions& options) {
  Endpoint endpoint = parseGraphUrl(options.graph_url);
  if (!isPathSafe(options.api_version)) {
    throw std::invalid_argument("api_version '" + options.api_version + "' must look like v26.0");
  }
  if (options.connect_timeout.count() <= 0 || options.timeout.count() <= 0) {
    throw std::invalid_argument("Graph API timeouts must be positive");
  }
  if (!options.ca_file.empty() && !std::ifstream(options.ca_file).good()) {
    throw std::invalid_argument("ca_file '" + options.ca_file + "' cannot be read");
  }
  Poco::Net::Context::Ptr context;
  if (endpoint.tls) {
    context = makeTlsContext(endpoint, options.ca_file);
  }
  return std::make_unique<PocoGraphClient>(std::move(endpoint), std::move(context), options);
}

}  // namespace capi::graph
