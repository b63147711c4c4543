#include "capi/normalize/normalize_cli.h"

#include "capi/normalize/normalizer.h"
#include "capi/normalize/phone.h"
#include "common/json_text.h"

#include <cstdio>
#include <istream>
#include <optional>
#include <ostream>

namespace capi::normalize {
namespace {

struct Request {
  Field field = Field::Em;
  std::vector<std::string> values;
  bool json = false;
  std::optional<std::string> region;
  std::optional<std::string> config_path;
};

struct ParsedArgs {
  Request request;
  bool help = false;
  std::string problem;  // non-empty: a usage error, for the user
};

std::string fieldList() {
  std::string names;
  for (Field f : allFields()) {
    if (!names.empty()) names += ", ";
    names += fieldName(f);
  }
  return names;
}

std::string upperAscii(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Options take "--name value" or "--name=value"; "--" ends the options, so a value may start
// with '-'.
ParsedArgs parseArgs(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  Request& r = parsed.request;
  auto fail = [&parsed](std::string problem) {
    parsed.problem = std::move(problem);
    return parsed;
  };
  std::optional<std::string> field;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!options_done && a == "--") {
      options_done = true;
      continue;
    }
    if (options_done || a.size() < 2 || a[0] != '-') {
      if (!field)
        field = a;
      else
        r.values.push_back(a);
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    if (const size_t eq = a.find('='); eq != std::string::npos && a.starts_with("--")) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (name == "-h" || name == "--help") {
      parsed.help = true;
      return parsed;
    }
    if (name == "--json") {
      if (value) return fail("--json takes no value");
      r.json = true;
      continue;
    }
    if (name != "--region" && name != "--config") return fail("unknown option " + name);
    if (!value) {
      if (i + 1 >= args.size()) return fail(name + " needs a value");
      value = args[++i];
    }
    if (name == "--config") {
      r.config_path = *value;
      continue;
    }
    const std::string region = upperAscii(*value);
    if (!detail::isSupportedPhoneRegion(region))
      return fail("--region must be an ISO 3166 alpha-2 country code, e.g. US or GB");
    r.region = region;
  }
  if (!field) return fail("missing FIELD (one of " + fieldList() + ")");
  const auto known = parseField(*field);
  if (!known) return fail("unknown field '" + *field + "' (one of " + fieldList() + ")");
  r.field = *known;
  return parsed;
}


// Returns whether the value was accepted.
bool report(const Request& r, const Options& options, const std::string& input, std::ostream& out,
            std::ostream& err) {
  const Result result = normalize(r.field, input, options);
  const std::string_view field = fieldName(r.field);
  if (r.json) {
    out << "{\"field\":" << jsonQuote(field) << ",\"input\":" << jsonQuote(input);
    if (result.ok)
      out << ",\"normalized\":" << jsonQuote(result.normalized)
          << ",\"sha256\":" << jsonQuote(result.sha256) << "}\n";
    else
      out << ",\"error\":" << jsonQuote(result.error) << "}\n";
  } else if (result.ok) {
    out << field << "  " << input << " -> " << result.normalized << "  "
        << (result.prehashed ? "(already SHA-256, passed through)" : result.sha256) << "\n";
  } else {
    err << field << "  " << input << " -> error: " << result.error << "\n";
  }
  return result.ok;
}

}  // namespace

std::string normalizeUsage() {
  return "usage: capi-reconciler normalize FIELD [VALUE...] [--region CC] [--json] "
         "[--config FILE]\n"
         "  FIELD     one of " +
         fieldList() +
         "\n"
         "  VALUE     values to normalize; read from standard input, one per line, when none\n"
         "  --region  default region for national phone numbers (ISO 3166 alpha-2)\n"
         "  --config  take the region from phone.default_region in this configuration file\n"
         "  --json    one JSON object per line\n";
}

int runNormalizeCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                    std::ostream& err, const RegionFromConfig& region_from_config) {
  const ParsedArgs parsed = parseArgs(args);
  if (parsed.help) {
    out << normalizeUsage();
    return kExitOk;
  }
  if (!parsed.problem.empty()) {
    err << "normalize: " << parsed.problem << "\n" << normalizeUsage();
    return kExitUsage;
  }
  const Request& request = parsed.request;

  Options options;
  if (request.region) {
    options.default_region = *request.region;
  } else if (request.config_path) {
    const RegionLookup lookup = region_from_config(*request.config_path);
    if (!lookup.error.empty()) {
      err << "normalize: configuration error in " << *request.config_path << ":\n"
          << lookup.error << "\n";
      return kExitConfig;
    }
    if (!lookup.region.empty() && !detail::isSupportedPhoneRegion(lookup.region)) {
      err << "normalize: configuration error in " << *request.config_path
          << ": phone.default_region is not a known ISO 3166 alpha-2 code\n";
      return kExitConfig;
    }
    options.default_region = upperAscii(lookup.region);
  }

  bool all_ok = true;
  if (!request.values.empty()) {
    for (const std::string& v : request.values)
      all_ok = report(request, options, v, out, err) && all_ok;
  } else {
    std::string line;
    while (std::getline(in, line)) {
      if (line.ends_with('\r')) line.pop_back();
      all_ok = report(request, options, line, out, err) && all_ok;
    }
  }
  return all_ok ? kExitOk : kExitRejected;
}

}  // namespace capi::normalize
