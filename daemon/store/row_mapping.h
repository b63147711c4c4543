#pragma once
// The one column list and row mapper per record type, shared by every query of the store.
// Store-internal (includes libpqxx).
#include "store/records.h"

#include <pqxx/pqxx>

#include <string>

namespace capi::store {

// "SELECT " + paymentColumns() + " FROM payments ..." rows map with toPayment(), and so on.
const std::string& paymentColumns();
PaymentRecord toPayment(const pqxx::row& r);
const std::string& clientEventColumns();
ClientEventRecord toClientEvent(const pqxx::row& r);
const std::string& outboundColumns();
OutboundRecord toOutbound(const pqxx::row& r);

}  // namespace capi::store
