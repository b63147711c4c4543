#pragma once
// The benchmark's webhook body: bench/data/checkout_session_completed.json, a full-size
// checkout.session.completed event as Stripe sends it (3.6 kB), with @ID@ standing for the
// request's unique part of the event, session, PaymentIntent and order ids, and @NOW@ for
// the unix time of sending.
//
// The template is split at its placeholders once, so filling it is a few appends: the load
// generator fills one per request and shares the machine with the daemon it measures.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace capi::bench {

class EventTemplate {
 public:
  explicit EventTemplate(const std::string& text) {
    std::string literal;
    for (size_t i = 0; i < text.size();) {
      const bool id = text.compare(i, 4, "@ID@") == 0;
      const bool now = !id && text.compare(i, 5, "@NOW@") == 0;
      if (!id && !now) {
        literal += text[i++];
        continue;
      }
      parts_.push_back({Part::Literal, std::move(literal)});
      literal.clear();
      parts_.push_back({id ? Part::Id : Part::Now, {}});
      i += id ? 4 : 5;
    }
    parts_.push_back({Part::Literal, std::move(literal)});
    for (const auto& p : parts_) literal_size_ += p.text.size();
  }

  static EventTemplate read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return EventTemplate(ss.str());
  }

  std::string fill(const std::string& id, int64_t unix_now) const {
    const std::string now = std::to_string(unix_now);
    std::string out;
    out.reserve(literal_size_ + 8 * (id.size() + now.size()));
    for (const auto& p : parts_) out += p.kind == Part::Literal ? p.text : p.kind == Part::Id ? id : now;
    return out;
  }

 private:
  struct Part {
    enum Kind { Literal, Id, Now } kind;
    std::string text;
  };
  std::vector<Part> parts_;
  size_t literal_size_ = 0;
};

}  // namespace capi::bench
