// Load generator for bench/run: posts signed Stripe checkout.session.completed webhooks to the
// daemon over keep-alive connections and reports throughput and acknowledgement latency.
//
//   loadgen --template FILE --port P --connections N (--seconds S | --count C) [--rate R]
//           [--secret S] [--prefix ID] [--sent-log FILE] [--latency-log FILE]
//
// --template is the event body (bench/event_template.h): each request gets its own ids.
//
// --rate paces the whole run at R requests/s (open loop per connection); without it every
// connection sends as fast as it is answered. With --rate a request's latency counts from the
// moment it was due, not from when it was sent: a request held up behind a slow answer on its
// connection counts the wait too, as pgbench --rate counts its schedule lag. --sent-log writes
// "<payment id> <unix ns>" per acknowledged webhook, for end-to-end latency; --latency-log
// "<unix ms when due> <latency ms> <ms from due to sending>" per acknowledged webhook (without
// --rate a request is due when it is sent). Prints one JSON object.
#include "event_template.h"
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
#include <optional>
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
  std::string latency_log;
  std::string event_template;
};


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
    else if (k == "--latency-log") o.latency_log = v;
    else if (k == "--template") o.event_template = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.seconds <= 0 && o.count <= 0) o.seconds = 10;
  if (o.event_template.empty()) {
    std::fprintf(stderr, "--template is required (bench/data/checkout_session_completed.json)\n");
    return 2;
  }
  std::optional<capi::bench::EventTemplate> tmpl;
  try {
    tmpl = capi::bench::EventTemplate::read(o.event_template);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = o.seconds > 0 ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds))
                                      : Clock::time_point::max();
  std::atomic<long> next{0}, ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  struct Timed {
    double due_unix_ms, latency_ms, lag_ms;
    bool operator<(const Timed& o) const { return due_unix_ms < o.due_unix_ms; }
  };
  std::vector<Timed> timeline;
  const double start_unix_ms =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::pair<std::string, int64_t>> sent;

  auto worker = [&](int index) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(o.port));
    session.setKeepAlive(true);
    session.setTimeout(Poco::Timespan(30, 0));
    std::vector<double> mine;
    std::vector<Timed> mine_timeline;
    std::vector<std::pair<std::string, int64_t>> mine_sent;
    const double per_conn_rate = o.rate > 0 ? o.rate / o.connections : 0;
    long k = 0;
    for (;;) {
      const long n = next.fetch_add(1);
      if (o.count > 0 && n >= o.count) break;
      Clock::time_point due{};
      if (per_conn_rate > 0) {
        due = start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>((static_cast<double>(k) + index / double(o.connections)) / per_conn_rate));
        if (due >= deadline) break;
        std::this_thread::sleep_until(due);
        ++k;
      }
      // Paced: a request due before the deadline is sent however late (its wait counts). Unpaced:
      // none is sent once the deadline has passed.
      if (per_conn_rate == 0 && Clock::now() >= deadline) break;
      const std::string id = o.prefix + "_" + std::to_string(n);
      const int64_t unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count();
      const std::string b = tmpl->fill(id, unix_now);
      const auto sent_at = Clock::now();
      const auto t0 = per_conn_rate > 0 ? due : sent_at;
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
          if (!o.latency_log.empty())
            mine_timeline.push_back({start_unix_ms + std::chrono::duration<double, std::milli>(t0 - start).count(), ms,
                                     std::chrono::duration<double, std::milli>(sent_at - t0).count()});
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
    timeline.insert(timeline.end(), mine_timeline.begin(), mine_timeline.end());
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
  if (!o.latency_log.empty()) {
    std::sort(timeline.begin(), timeline.end());
    std::ofstream f(o.latency_log);
    f.setf(std::ios::fixed);
    f.precision(3);
    for (const auto& t : timeline) f << t.due_unix_ms << ' ' << t.latency_ms << ' ' << t.lag_ms << '\n';
  }
  std::printf("{\"connections\":%d,\"ok\":%ld,\"failed\":%ld,\"seconds\":%.2f,\"per_second\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
              o.connections, ok.load(), failed.load(), elapsed, static_cast<double>(ok.load()) / elapsed, q(0.5), q(0.99));
  return failed.load() == 0 ? 0 : 1;
}
