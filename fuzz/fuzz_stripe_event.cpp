// Stripe event body -> PaymentFacts (webhooks/stripe/stripe_event_parser.h).
//
// Input: a webhook body (seeds: fuzz/corpus/fuzz_stripe_event/, Stripe's event shapes).
//
// The contract is "never throws: any unreadable input is Malformed", and what matching and the
// store rely on afterwards. Checked on every input:
//  * no exception of any type escapes;
//  * Malformed carries an error, Ok none; Ok is a "stripe" delivery with an evt_ id and a type;
//  * paid xor ignore_reason;
//  * a paid payment has a payment key that is one of its object ids, an amount >= 0, a three
//    lowercase letter currency, a creation time not before 1970; refs and object ids are
//    non-empty and unique; the order reference and the browser event id are among the refs, the
//    browser event id first;
//  * the customer's first name has no whitespace, the last name none at either end;
//  * no string in an Ok result holds a NUL byte (PostgreSQL cannot store it);
//  * an event type outside paid_event_types is never paid, and never more Malformed than when
//    it is a paid type.
#include "webhooks/stripe/stripe_event_parser.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

using capi::webhooks::ParseResult;
using capi::webhooks::ParseStatus;
using capi::webhooks::PaymentFacts;
using capi::webhooks::stripe::parseStripeEvent;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_stripe_event: invariant broken: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

ParseResult parseOrDie(std::string_view body, const std::vector<std::string>& paid_types) {
  try {
    return parseStripeEvent(body, paid_types);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_stripe_event: parseStripeEvent threw %s\n", e.what());
    std::abort();
  } catch (...) {
    fail("parseStripeEvent threw a non-std exception");
  }
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void checkIds(const std::vector<std::string>& ids, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    check(!ids[i].empty(), what);
    for (size_t j = i + 1; j < ids.size(); ++j) check(ids[i] != ids[j], what);
  }
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void checkNoNul(const PaymentFacts& f) {
  std::vector<const std::string*> all = {&f.provider, &f.delivery_id, &f.event_type, &f.ignore_reason,
                                         &f.payment_key, &f.order_ref, &f.browser_event_id, &f.currency,
                                         &f.customer.email, &f.customer.phone, &f.customer.first_name,
                                         &f.customer.last_name, &f.customer.city, &f.customer.state,
                                         &f.customer.zip, &f.customer.country};
  for (const auto& r : f.refs) all.push_back(&r);
  for (const auto& o : f.object_ids) all.push_back(&o);
  for (const std::string* s : all) check(s->find('\0') == std::string::npos, "a NUL byte in an Ok result");
}

void checkResult(const ParseResult& r) {
  if (r.status == ParseStatus::Malformed) {
    check(!r.error.empty(), "Malformed without an error");
    return;
  }
  check(r.status == ParseStatus::Ok, "unknown status");
  check(r.error.empty(), "Ok with an error");
  const PaymentFacts& f = r.facts;
  check(f.provider == "stripe", "provider is not stripe");
  check(f.delivery_id.starts_with("evt_"), "delivery id is not an event id");
  check(!f.event_type.empty(), "empty event type");
  check(f.paid == f.ignore_reason.empty(), "paid must come without, and ignored with, a reason");
  checkNoNul(f);
  if (!f.paid) return;

  check(!f.payment_key.empty(), "paid without a payment key");
  check(contains(f.object_ids, f.payment_key), "payment key is not one of the object ids");
  checkIds(f.refs, "refs empty or repeated");
  checkIds(f.object_ids, "object ids empty or repeated");
  check(!f.refs.empty(), "paid without refs");
  if (!f.order_ref.empty()) check(contains(f.refs, f.order_ref), "order_ref is not among the refs");
  if (!f.browser_event_id.empty()) check(f.refs.front() == f.browser_event_id, "browser event id is not the first ref");
  check(f.amount_minor.has_value() && *f.amount_minor >= 0, "paid without a non-negative amount");
  check(f.currency.size() == 3 && std::all_of(f.currency.begin(), f.currency.end(),
                                              [](char c) { return c >= 'a' && c <= 'z'; }),
        "currency is not three lowercase letters");
  check(f.paid_at.time_since_epoch().count() >= 0, "paid_at before 1970");
  check(std::none_of(f.customer.first_name.begin(), f.customer.first_name.end(), isSpace),
        "first name holds whitespace");
  const std::string& ln = f.customer.last_name;
  check(ln.empty() || (!isSpace(ln.front()) && !isSpace(ln.back())), "last name not trimmed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kPaidTypes = {
      "checkout.session.completed", "checkout.session.async_payment_succeeded", "payment_intent.succeeded",
      "invoice.paid", "charge.succeeded"};
  static const std::vector<std::string> kNoPaidTypes;

  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const ParseResult r = parseOrDie(body, kPaidTypes);
  checkResult(r);

  const ParseResult unpaid = parseOrDie(body, kNoPaidTypes);
  checkResult(unpaid);
  check(unpaid.status == ParseStatus::Malformed || !unpaid.facts.paid, "paid although no type counts as paid");
  if (r.status == ParseStatus::Ok)
    check(unpaid.status == ParseStatus::Ok, "Malformed only because the type is not a paid one");
  return 0;
}
