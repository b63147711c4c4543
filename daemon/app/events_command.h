#pragma once
// `events show EVENT_ID|ORDER_REF`: the browser event and the server payload side by side,
// with the differences that break deduplication marked.
#include "store/audit_store.h"

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace capi::app {

struct TraceRow {
  enum class Mark { None, Breaks, Notice };
  TraceRow(std::string f, std::string b, std::string s, Mark m = Mark::None, std::string n = "")
      : field(std::move(f)), browser(std::move(b)), server(std::move(s)), mark(m), note(std::move(n)) {}
  std::string field;
  std::string browser;
  std::string server;
  Mark mark = Mark::None;
  std::string note;    // why the difference matters
};

struct TraceView {
  std::string title;            // "pixel 123: Purchase ev-1, order ORD-1"
  std::vector<TraceRow> rows;
  int breaking = 0;             // rows marked Breaks
};

// One view per server event (per pixel); a browser event with no server event yet gets one too.
std::vector<TraceView> buildTraceViews(const store::EventTrace& trace);

// args after `events`: show KEY [--json] [--no-color].
int runEvents(const std::vector<std::string>& args, const std::string& database_url, bool terminal, std::ostream& out,
              std::ostream& err);

}  // namespace capi::app
