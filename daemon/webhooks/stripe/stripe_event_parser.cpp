#include "webhooks/stripe/stripe_event_parser.h"

#include "capi/strict_json.h"
#include "webhooks/stripe/stripe_amount.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace capi::webhooks::stripe {
namespace {

// An object of the event, or nullptr where the event has none (absent, null, another type).
using Object = const JsonNode*;

// Unwinds the field mapping to parseStripeEvent with a message for the operator.
struct MalformedBody {
  std::string message;
};

[[noreturn]] void malformed(std::string message) { throw MalformedBody{std::move(message)}; }

// Poco 1.11 wraps integer literals just past the 64-bit range instead of refusing them
// (18446744073709551616 parses as 0), and PostgreSQL refuses strings holding U+0000 in text and
// jsonb. Both are found here on the raw bytes, before Poco sees them. The body is valid JSON or
// Poco rejects it afterwards, so this scan only needs to find string and number tokens.
std::optional<std::string> findUnstorableToken(std::string_view json) {
  size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '\0') return "body contains a NUL byte";
    if (c == '"') {
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\0') return "body contains a NUL byte";
        if (json[i] != '\\') continue;
        if (json.substr(i + 1, 5) == "u0000") return "body contains a \\u0000 escape, which cannot be stored";
        ++i;  // skip the escaped character, so \" does not end the string
      }
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      const bool negative = c == '-';
      const size_t digits_start = negative ? i + 1 : i;
      size_t j = digits_start;
      while (j < json.size() && json[j] >= '0' && json[j] <= '9') ++j;
      const bool fractional = j < json.size() && (json[j] == '.' || json[j] == 'e' || json[j] == 'E');
      const std::string_view digits = json.substr(digits_start, j - digits_start);
      const std::string_view limit = negative ? "9223372036854775808" : "9223372036854775807";
      if (!fractional && (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)))
        return "body holds an integer outside the 64-bit range";
      // Past the whole token, so a long fraction or exponent is not read as another integer.
      while (j < json.size() && ((json[j] >= '0' && json[j] <= '9') || json[j] == '.' || json[j] == 'e' ||
                                 json[j] == 'E' || json[j] == '+' || json[j] == '-'))
        ++j;
      i = std::max(j, i + 1);
      continue;
    }
    ++i;
  }
  return std::nullopt;
}

// JSON null and a missing member are the same thing to Stripe's API, and here.
std::optional<std::string> optString(Object o, std::string_view key) {
  const JsonNode* v = o ? o->member(key) : nullptr;
  if (!v || !v->isString()) return std::nullopt;
  return v->text();
}

std::string stringOrEmpty(Object o, std::string_view key) { return optString(o, key).value_or(std::string()); }

Object optObject(Object o, std::string_view key) {
  const JsonNode* v = o ? o->member(key) : nullptr;
  return v && v->isObject() ? v : nullptr;
}

// A reference that Stripe sends either as an id string or, when expanded, as the object.
std::string idOf(Object o, std::string_view key) {
  if (auto s = optString(o, key)) return *s;
  return stringOrEmpty(optObject(o, key), "id");
}

// nullopt when absent or null; malformed when present but not an integer in int64 range.
std::optional<int64_t> optInteger(Object o, std::string_view key, const std::string& path) {
  const JsonNode* v = o ? o->member(key) : nullptr;
  if (!v || v->isNull()) return std::nullopt;
  if (!v->isInteger()) malformed(path + " is not an integer");
  if (v->type() == JsonNode::Type::Int) return v->int64();
  if (v->uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    malformed(path + " is outside the 64-bit integer range");
  return static_cast<int64_t>(v->uint64());
}

// A unix time that TimePoint can hold (system_clock counts nanoseconds in int64: until 2262).
std::optional<int64_t> optUnixTime(Object o, std::string_view key, const std::string& path) {
  const auto t = optInteger(o, key, path);
  constexpr int64_t kMaxSeconds =
      std::chrono::duration_cast<std::chrono::seconds>(TimePoint::max().time_since_epoch()).count();
  if (t && (*t < 0 || *t > kMaxSeconds)) malformed(path + " is not a plausible unix time");
  return t;
}

std::optional<bool> optBool(Object o, std::string_view key) {
  const JsonNode* v = o ? o->member(key) : nullptr;
  if (!v || !v->isBool()) return std::nullopt;
  return v->boolean();
}

std::string firstNonEmpty(std::initializer_list<std::string> candidates) {
  for (const auto& c : candidates)
    if (!c.empty()) return c;
  return {};
}

void addRef(std::vector<std::string>& refs, const std::string& ref) {
  if (ref.empty() || std::find(refs.begin(), refs.end(), ref) != refs.end()) return;
  refs.push_back(ref);
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Stripe keeps one free-text name; Meta wants fn and ln. The first word is the best guess for
// the given name in most shops' markets; everything after it is kept as the family name.
void setName(CustomerData& c, std::string_view full_name) {
  const std::string_view name = trim(full_name);
  const auto space = std::find_if(name.begin(), name.end(), isSpace);
  c.first_name = std::string(name.begin(), space);
  c.last_name = std::string(trim(std::string_view(space, name.end())));
}

bool hasAnyField(Object address) {
  for (const char* key : {"city", "state", "postal_code", "country"})
    if (!stringOrEmpty(address, key).empty()) return true;
  return false;
}

void setAddress(CustomerData& c, Object address) {
  c.city = stringOrEmpty(address, "city");
  c.state = stringOrEmpty(address, "state");
  c.zip = stringOrEmpty(address, "postal_code");
  c.country = stringOrEmpty(address, "country");
}

// Stripe's customer details come as {email, phone, name, address}; earlier sources win per
// field, and the address is taken whole from the first source that has one.
struct ContactSource {
  std::string email;
  std::string phone;
  std::string name;
  Object address;
};

ContactSource contactOf(Object details) {
  return {stringOrEmpty(details, "email"), stringOrEmpty(details, "phone"), stringOrEmpty(details, "name"),
          optObject(details, "address")};
}

CustomerData mergeContacts(std::initializer_list<ContactSource> sources) {
  CustomerData c;
  std::string name;
  bool address_set = false;
  for (const auto& s : sources) {
    if (c.email.empty()) c.email = s.email;
    if (c.phone.empty()) c.phone = s.phone;
    if (name.empty()) name = s.name;
    if (!address_set && hasAnyField(s.address)) {
      setAddress(c, s.address);
      address_set = true;
    }
  }
  setName(c, name);
  return c;
}

// The shop's references as metadata, in the order they are looked up.
struct MetadataRefs {
  std::string capi_event_id;
  std::string order_ref;
  std::string order_id;
  std::string client_reference_id;
};

MetadataRefs metadataRefs(std::initializer_list<Object> metadata_sources) {
  MetadataRefs m;
  for (const auto& md : metadata_sources) {
    if (m.capi_event_id.empty()) m.capi_event_id = stringOrEmpty(md, "capi_event_id");
    if (m.order_ref.empty()) m.order_ref = stringOrEmpty(md, "order_ref");
    if (m.order_id.empty()) m.order_id = stringOrEmpty(md, "order_id");
    if (m.client_reference_id.empty()) m.client_reference_id = stringOrEmpty(md, "client_reference_id");
  }
  return m;
}

std::string requireObjectId(Object obj) {
  auto id = optString(obj, "id");
  if (!id || id->empty()) malformed("data.object.id missing");
  return *id;
}

void ignore(PaymentFacts& f, std::string reason) {
  f.paid = false;
  f.ignore_reason = std::move(reason);
}

// Amount, currency and the moment of payment, common to every payment object. Converts Stripe's
// amount to ISO 4217 minor units, which is what PaymentFacts carries.
void setMoney(PaymentFacts& f, Object obj, std::initializer_list<const char*> amount_keys,
              std::optional<int64_t> event_created, std::optional<int64_t> paid_at = std::nullopt) {
  std::optional<int64_t> amount;
  std::string amount_path;
  for (const char* key : amount_keys) {
    amount_path = std::string("data.object.") + key;
    amount = optInteger(obj, key, amount_path);
    if (amount) break;
  }
  if (!amount) malformed(std::string("data.object.") + *amount_keys.begin() + " missing");
  if (*amount < 0) malformed(amount_path + " is negative");

  const std::string currency = stringOrEmpty(obj, "currency");
  if (currency.empty()) malformed("data.object.currency missing");
  if (currency.size() != 3 || !std::all_of(currency.begin(), currency.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      }))
    malformed("data.object.currency is not a three-letter ISO 4217 code");
  f.currency = currency;
  std::transform(f.currency.begin(), f.currency.end(), f.currency.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });

  f.amount_minor = stripeAmountToIsoMinor(*amount, f.currency);
  if (!f.amount_minor) malformed(amount_path + " is outside the 64-bit integer range in ISO minor units");

  // An unmatched Purchase's event_time is this moment, and Meta wants when the conversion
  // happened. A session or PaymentIntent is created when the customer starts to pay: minutes
  // earlier, or days for an asynchronous method (SEPA debit), which would bring the Purchase
  // near Meta's 7-day limit. Stripe creates the event when the payment succeeds, and an
  // invoice records when it was paid.
  const auto created = optUnixTime(obj, "created", "data.object.created");
  if (!created && !event_created) malformed("data.object.created missing");
  f.paid_at = fromUnixSeconds(paid_at ? *paid_at : event_created ? *event_created : *created);
  // The session, PaymentIntent or invoice was created when the customer started to pay (see
  // notEarlierOrders in store/ingest_store.cpp).
  if (created) f.started_at = fromUnixSeconds(*created);

  // A trial's checkout (no_payment_required) and its first invoice, or an order discounted to
  // nothing: a Purchase of value 0 would count a conversion nobody paid for, in the numbers Meta
  // optimizes on. A trial's first paid invoice is the Purchase.
  if (*f.amount_minor == 0) ignore(f, "amount 0: nothing was paid (a trial, or an order discounted to nothing)");
}

void mapCheckoutSession(PaymentFacts& f, Object s, std::optional<int64_t> event_created) {
  const std::string id = requireObjectId(s);
  const std::string payment_intent = idOf(s, "payment_intent");
  const std::string client_reference_id = stringOrEmpty(s, "client_reference_id");
  const MetadataRefs md = metadataRefs({optObject(s, "metadata")});

  f.payment_key = firstNonEmpty({payment_intent, idOf(s, "invoice"), id});
  f.order_ref = firstNonEmpty({client_reference_id, md.order_ref, md.order_id});
  f.browser_event_id = md.capi_event_id;
  for (const auto& r : {md.capi_event_id, client_reference_id, md.order_ref, md.order_id, id, payment_intent})
    addRef(f.refs, r);
  for (const auto& r : {id, payment_intent, idOf(s, "invoice")}) addRef(f.object_ids, r);

  // A setup-mode session saves a payment method: no payment, no amount (amount_total and
  // currency are null). Stored as ignored and answered 2xx; a 400 would have Stripe retry it for
  // days.
  if (optString(s, "mode").value_or("") == "setup") {
    ignore(f, "setup-mode checkout session: a payment method saved, no payment");
    return;
  }
  // Delayed payment methods complete the session unpaid; the money arrives with
  // checkout.session.async_payment_succeeded, which then carries payment_status "paid".
  const auto status = optString(s, "payment_status");
  if (!status) malformed("data.object.payment_status missing");
  if (*status != "paid" && *status != "no_payment_required") {
    if (f.event_type == "checkout.session.completed")
      ignore(f, "payment_status " + *status + ": waiting for checkout.session.async_payment_succeeded");
    else
      ignore(f, "payment_status " + *status + " is not paid");
    return;
  }

  setMoney(f, s, {"amount_total"}, event_created);
  f.customer = mergeContacts({contactOf(optObject(s, "customer_details"))});
  if (f.customer.email.empty()) f.customer.email = stringOrEmpty(s, "customer_email");
}

void mapPaymentIntent(PaymentFacts& f, Object pi, std::optional<int64_t> event_created) {
  const std::string id = requireObjectId(pi);
  const MetadataRefs md = metadataRefs({optObject(pi, "metadata")});

  f.payment_key = id;
  f.order_ref = firstNonEmpty({md.order_ref, md.order_id, md.client_reference_id});
  f.browser_event_id = md.capi_event_id;
  for (const auto& r : {md.capi_event_id, md.order_ref, md.order_id, md.client_reference_id, id}) addRef(f.refs, r);
  for (const auto& r : {id, idOf(pi, "invoice"), idOf(pi, "latest_charge")}) addRef(f.object_ids, r);

  // Guards against an operator listing e.g. payment_intent.created as a paid type.
  const auto status = optString(pi, "status");
  if (status && *status != "succeeded") {
    ignore(f, "payment_intent status " + *status + " is not succeeded");
    return;
  }

  setMoney(f, pi, {"amount_received", "amount"}, event_created);
  const Object shipping = optObject(pi, "shipping");
  f.customer = mergeContacts({{stringOrEmpty(pi, "receipt_email"), {}, {}, {}},
                              contactOf(optObject(optObject(pi, "latest_charge"), "billing_details")),
                              {{}, stringOrEmpty(shipping, "phone"), stringOrEmpty(shipping, "name"),
                               optObject(shipping, "address")}});
}

void mapInvoice(PaymentFacts& f, Object inv, std::optional<int64_t> event_created) {
  const std::string id = requireObjectId(inv);
  const std::string payment_intent = idOf(inv, "payment_intent");
  // Subscription invoices carry the subscription's metadata: at the top level before Stripe
  // API 2025-03-31, under parent afterwards.
  const MetadataRefs md =
      metadataRefs({optObject(inv, "metadata"), optObject(optObject(inv, "subscription_details"), "metadata"),
                    optObject(optObject(optObject(inv, "parent"), "subscription_details"), "metadata")});

  f.payment_key = firstNonEmpty({payment_intent, id});
  f.order_ref = firstNonEmpty({md.order_ref, md.order_id});
  f.browser_event_id = md.capi_event_id;
  for (const auto& r : {md.capi_event_id, md.order_ref, md.order_id, id, payment_intent}) addRef(f.refs, r);
  for (const auto& r : {id, payment_intent}) addRef(f.object_ids, r);

  const auto status = optString(inv, "status");
  if (status && *status != "paid") {
    ignore(f, "invoice status " + *status + " is not paid");
    return;
  }

  setMoney(f, inv, {"amount_paid"}, event_created,
           optUnixTime(optObject(inv, "status_transitions"), "paid_at", "data.object.status_transitions.paid_at"));
  f.customer = mergeContacts({{stringOrEmpty(inv, "customer_email"), stringOrEmpty(inv, "customer_phone"),
                               stringOrEmpty(inv, "customer_name"), optObject(inv, "customer_address")}});
}

void mapCharge(PaymentFacts& f, Object ch, std::optional<int64_t> event_created) {
  const std::string id = requireObjectId(ch);
  const std::string payment_intent = idOf(ch, "payment_intent");
  const MetadataRefs md = metadataRefs({optObject(ch, "metadata")});

  f.payment_key = firstNonEmpty({payment_intent, id});
  f.order_ref = firstNonEmpty({md.order_ref, md.order_id, md.client_reference_id});
  f.browser_event_id = md.capi_event_id;
  for (const auto& r : {md.capi_event_id, md.order_ref, md.order_id, md.client_reference_id, id, payment_intent})
    addRef(f.refs, r);
  for (const auto& r : {id, payment_intent, idOf(ch, "invoice")}) addRef(f.object_ids, r);

  // charge.succeeded also fires for an authorisation that is not captured yet.
  if (optBool(ch, "paid") != true) {
    ignore(f, "charge not paid");
    return;
  }
  if (optBool(ch, "captured") != true) {
    ignore(f, "charge authorised but not captured");
    return;
  }

  setMoney(f, ch, {"amount_captured", "amount"}, event_created);
  // A charge is created per attempt, for some methods (vouchers, bank transfers) only when the
  // money arrives, after the thank-you page: it does not say when the customer started to pay.
  f.started_at = {};
  const Object billing = optObject(ch, "billing_details");
  f.customer = mergeContacts({contactOf(billing), {stringOrEmpty(ch, "receipt_email"), {}, {}, {}}});
}

ParseResult parse(std::string_view raw_body, const std::vector<std::string>& paid_event_types) {
  if (raw_body.empty()) malformed("body is empty");
  const auto first = raw_body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || raw_body[first] != '{') malformed("body is not a JSON object");
  if (auto problem = findUnstorableToken(raw_body)) malformed(*problem);

  JsonNode root;
  try {
    root = parseUntrustedJsonTree(std::string(raw_body));
  } catch (const Poco::Exception& e) {
    malformed("body is not valid JSON: " + e.message());
  }
  if (!root.isObject()) malformed("body is not a JSON object");
  const Object event = &root;

  if (stringOrEmpty(event, "object") == "v2.core.event")
    malformed("thin events (v2.core.event) are not supported: send snapshot events to this endpoint");
  const auto id = optString(event, "id");
  if (!id || id->rfind("evt_", 0) != 0) malformed("id missing or not an event id (evt_...)");
  const auto type = optString(event, "type");
  if (!type || type->empty()) malformed("type missing or not a string");
  const Object object = optObject(optObject(event, "data"), "object");
  if (!object) malformed("data.object missing or not an object");

  ParseResult result;
  PaymentFacts& f = result.facts;
  f.provider = "stripe";
  f.delivery_id = *id;
  f.event_type = *type;
  if (auto livemode = optBool(event, "livemode")) f.livemode = *livemode;
  f.api_version = stringOrEmpty(event, "api_version");
  const auto event_created = optUnixTime(event, "created", "created");

  result.status = ParseStatus::Ok;
  if (std::find(paid_event_types.begin(), paid_event_types.end(), *type) == paid_event_types.end()) {
    ignore(f, "event type " + *type + " is not a paid type");
    return result;
  }

  f.paid = true;
  const std::string object_type = stringOrEmpty(object, "object");
  if (object_type == "checkout.session")
    mapCheckoutSession(f, object, event_created);
  else if (object_type == "payment_intent")
    mapPaymentIntent(f, object, event_created);
  else if (object_type == "invoice")
    mapInvoice(f, object, event_created);
  else if (object_type == "charge")
    mapCharge(f, object, event_created);
  else
    ignore(f, "unsupported object type " + (object_type.empty() ? std::string("(none)") : object_type));
  return result;
}

ParseResult malformedResult(std::string error) {
  ParseResult r;
  r.status = ParseStatus::Malformed;
  r.error = std::move(error);
  return r;
}

}  // namespace

void ignoreTestModeUnlessAccepted(PaymentFacts& f, bool accept_test_mode) {
  if (!f.paid || f.livemode || accept_test_mode) return;
  f.paid = false;
  f.ignore_reason = "Stripe test-mode event (livemode false) on a production instance: not a real payment";
}

bool knownOnlyByInvoice(const PaymentFacts& f) {
  // Stripe's versions are dates ("2025-03-31.basil"), so they compare as text.
  if (f.api_version.size() < 10 || f.api_version.compare(0, 10, "2025-03-31") < 0) return false;
  const auto has = [&](const char* prefix) {
    return std::any_of(f.object_ids.begin(), f.object_ids.end(), [&](const std::string& id) { return id.rfind(prefix, 0) == 0; });
  };
  return has("in_") && !has("pi_");
}

bool splitsInvoicePayments(const PaymentFacts& f, const std::vector<std::string>& paid_event_types) {
  return knownOnlyByInvoice(f) &&
         std::any_of(paid_event_types.begin(), paid_event_types.end(), [](const std::string& t) {
           return t == "payment_intent.succeeded" || t == "charge.succeeded";
         });
}

ParseResult parseStripeEvent(std::string_view raw_body, const std::vector<std::string>& paid_event_types) {
  try {
    return parse(raw_body, paid_event_types);
  } catch (const MalformedBody& e) {
    return malformedResult(e.message);
  } catch (const Poco::Exception& e) {
    return malformedResult("event could not be read: " + e.displayText());
  } catch (const std::exception& e) {
    return malformedResult(std::string("event could not be read: ") + e.what());
  }
}

}  // namespace capi::webhooks::stripe
