#pragma once
// A loopback stand-in for graph.facebook.com: real HTTP(S) on 127.0.0.1, scripted answers,
// every request recorded. Unit tests prove the Graph client against it; integration tests point
// the daemon's meta.graph_url at baseUrl() and trust caFile().
//
// Thread safety: every public method may be called from any thread while requests are served.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/test_certs.h"

namespace capi::testing {

struct RecordedRequest {
  std::string method;
  std::string uri;            // path + query, as sent
  std::string content_type;
  std::string body;
};

// Defined outside the class so that it is complete where the constructor's default argument
// needs it; spelled FakeGraphServer::Options by users.
struct FakeGraphServerOptions {
  bool tls = true;            // false: plain http (the client allows it only for loopback)
};

class FakeGraphServer {
 public:
  using Options = FakeGraphServerOptions;

  // Binds 127.0.0.1 on an ephemeral port and starts serving before returning. With tls, the
  // server presents a certificate for localhost/127.0.0.1 signed by its own fresh CA (caFile()).
  explicit FakeGraphServer(Options options = {});
  // Stops accepting, aborts open connections and joins the worker threads.
  // REQUIRES: no responder is still blocked (release it first, or the destructor waits for it).
  ~FakeGraphServer();
  FakeGraphServer(const FakeGraphServer&) = delete;
  FakeGraphServer& operator=(const FakeGraphServer&) = delete;

  std::string baseUrl() const;   // "https://127.0.0.1:PORT" ("http://..." without tls)
  std::string caFile() const;    // the CA that signed the server certificate; "" without tls
  uint16_t port() const;

  // Receives the request (already recorded); returns {HTTP status, body}. Runs on a server
  // worker thread, concurrently with other requests; it may block (e.g. to provoke a client
  // timeout) as long as it is released before the server is destroyed.
  using Responder = std::function<std::pair<int, std::string>(const RecordedRequest&)>;

  // Scripted answers, consumed first-in first-out, one per request, before the responder.
  void pushResponse(int status, std::string body);
  // Answers requests when no scripted answer is queued. The default answers 200 with
  // successBody(number of elements in the request's "data"), or 400 Graph error 100 when the
  // body is not a JSON object with a "data" array.
  void setResponder(Responder r);

  std::vector<RecordedRequest> requests() const;   // in arrival order
  size_t requestCount() const;
  // True once at least n requests have arrived; false if the timeout passed first.
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;

  // Simulates a Meta outage: while down, every request is still recorded but answered
  // 503 "Service Unavailable" (text/html, not a Graph error body), ahead of scripted answers
  // and the responder, which are left untouched for when the server comes back.
  void setUnavailable(bool down);

  // While on, the server closes each connection right after its response although it
  // advertised keep-alive — a peer dropping idle connections earlier than the client expects.
  // Exercises the client's reconnect-and-retry-once path.
  void setCloseAfterResponse(bool on);
  // TCP connections accepted so far (including ones whose TLS handshake failed).
  size_t connectionCount() const;

  // {"events_received":N,"messages":[],"fbtrace_id":"..."}
  static std::string successBody(int events_received, const std::string& fbtrace_id = "AbCdEfFakeTrace");
  // {"error":{"message":...,"type":...,"code":...,"error_subcode":...,"is_transient":...,
  //  "error_user_title":...,"error_user_msg":...,"fbtrace_id":...}}; error_subcode is omitted
  // when 0, error_user_title/error_user_msg when empty.
  static std::string errorBody(int code, int subcode, const std::string& message,
                               const std::string& user_title = "", const std::string& user_msg = "",
                               bool is_transient = false, const std::string& type = "OAuthException",
                               const std::string& fbtrace_id = "AbCdEfFakeTrace");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capi::testing
