#pragma once
// The benchmark's webhook body: bench/data/checkout_session_completed.json, a full-size
// checkout.session.completed event as Stripe sends it (3.6 kB), with @ID@ standing for the
// request's unique part of the event, session, PaymentIntent and order ids, and @NOW@ for
// the unix time of sending.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace capi::bench {

inline std::string readEventTemplate(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string fillEventTemplate(const std::string& tmpl, const std::string& id, int64_t unix_now) {
  const std::string now = std::to_string(unix_now);
  std::string out;
  out.reserve(tmpl.size() + 8 * id.size());
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 4, "@ID@") == 0) {
      out += id;
      i += 4;
    } else if (tmpl.compare(i, 5, "@NOW@") == 0) {
      out += now;
      i += 5;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

}  // namespace capi::bench
