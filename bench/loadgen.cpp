// Load generator for bench/run: posts signed Stripe checkout.session.completed webhooks to the
// daemon over keep-alive connections and reports throughput and acknowledgement latency.
//
//   loadgen --port P --connections N (--seconds S | --count C) [--rate R] [--secret S]
//           [--prefix ID] [--sent-log FILE]
//
// --rate paces the whole run at R requests/s (open loop per connection); without it every
// connection sends as fast as it is answered. --sent-log writes "<payment id> <unix ns>" per
// acknowledged webhook, for end-to-end latency. Prints one JSON object.
#include "webhooks/stripe/stripe_signature.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  int port = 8080;
  int connections = 16;
  double seconds = 0;
  long count = 0;
  double rate = 0;
  std::string secret = "whsec_bench_secret";
  std::string prefix = "bench";
  std::string sent_log;
};

std::string body(const std::string& id, int64_t now) {
  return R"({"id":"evt_)" + id + R"(","object":"event","created":)" + std::to_string(now) +
         R"(,"livemode":false,"type":"checkout.session.completed","data":{"object":{"id":"cs_)" + id +
         R"(","object":"checkout.session","amount_total":4999,"currency":"eur","client_reference_id":"ord_)" + id +
         R"(","created":)" + std::to_string(now) +
         R"(,"customer_details":{"email":"Customer.)" + id +
         R"(@example.com","phone":"+16505551212","name":"Jane Doe","address":{"city":"Menlo Park","country":"US","postal_code":"94025","state":"CA"}},"metadata":{},"mode":"payment","payment_intent":"pi_)" +
         id + R"(","payment_status":"paid","status":"complete"}}})";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") o.port = std::stoi(v);
    else if (k == "--connections") o.connections = std::stoi(v);
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--count") o.count = std::stol(v);
    else if (k == "--rate") o.rate = std::stod(v);
    else if (k == "--secret") o.secret = v;
    else if (k == "--prefix") o.prefix = v;
    else if (k == "--sent-log") o.sent_log = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.seconds <= 0 && o.count <= 0) o.seconds = 10;

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = o.seconds > 0 ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds))
                                      : Clock::time_point::max();
  std::atomic<long> next{0}, ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::vector<std::pair<std::string, int64_t>> sent;

  auto worker = [&](int index) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(o.port));
    session.setKeepAlive(true);
    session.setTimeout(Poco::Timespan(30, 0));
    std::vector<double> mine;
    std::vector<std::pair<std::string, int64_t>> mine_sent;
    const double per_conn_rate = o.rate > 0 ? o.rate / o.connections : 0;
    long k = 0;
    for (;;) {
      const long n = next.fetch_add(1);
      if (o.count > 0 && n >= o.count) break;
      if (per_conn_rate > 0) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>((static_cast<double>(k) + index / double(o.connections)) / per_conn_rate));
        std::this_thread::sleep_until(due);
        ++k;
      }
      if (Clock::now() >= deadline) break;
      const std::string id = o.prefix + "_" + std::to_string(n);
      const int64_t unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count();
      const std::string b = body(id, unix_now);
      const auto t0 = Clock::now();
      try {
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, "/webhooks/stripe", Poco::Net::HTTPMessage::HTTP_1_1);
        req.setContentType("application/json");
        req.set("Stripe-Signature", capi::webhooks::stripe::StripeSignatureVerifier::sign(o.secret, unix_now, b));
        req.setContentLength64(static_cast<Poco::Int64>(b.size()));
        session.sendRequest(req) << b;
        Poco::Net::HTTPResponse res;
        std::string discard;
        Poco::StreamCopier::copyToString(session.receiveResponse(res), discard);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (res.getStatus() == 200) {
          ++ok;
          mine.push_back(ms);
          if (!o.sent_log.empty())
            mine_sent.emplace_back("pi_" + id, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch()).count());
        } else {
          ++failed;
        }
      } catch (const std::exception&) {
        ++failed;
        session.reset();
      }
    }
    std::lock_guard lock(mu);
    latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    sent.insert(sent.end(), mine_sent.begin(), mine_sent.end());
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto q = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  if (!o.sent_log.empty()) {
    std::ofstream f(o.sent_log);
    for (const auto& [id, ns] : sent) f << id << ' ' << ns << '\n';
  }
  std::printf("{\"connections\":%d,\"ok\":%ld,\"failed\":%ld,\"seconds\":%.2f,\"per_second\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
              o.connections, ok.load(), failed.load(), elapsed, static_cast<double>(ok.load()) / elapsed, q(0.5), q(0.99));
  return failed.load() == 0 ? 0 : 1;
}
