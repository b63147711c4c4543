#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <stdexcept>

namespace capi {
namespace {

// "<N>" syslog priority prefix understood by journald on stdout (sd-daemon(3)).
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    int prio = 6;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prio = 7; break;
      case spdlog::level::info: prio = 6; break;
      case spdlog::level::warn: prio = 4; break;
      case spdlog::level::err: prio = 3; break;
      case spdlog::level::critical: prio = 2; break;
      default: break;
    }
    const char text[4] = {'<', static_cast<char>('0' + prio), '>', '\0'};
    dest.append(text, text + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

}  // namespace

void setupLogging(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("unknown log level '" + level + "'");
  auto logger = spdlog::get("capi");
  if (!logger) {
    logger = spdlog::stdout_logger_mt("capi");
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    // journald stamps lines itself; elsewhere we print an ISO timestamp.
    if (std::getenv("JOURNAL_STREAM") != nullptr)
      formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
    else
      formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    logger->set_formatter(std::move(formatter));
    spdlog::set_default_logger(logger);
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
}

}  // namespace capi
