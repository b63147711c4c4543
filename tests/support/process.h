#pragma once
// Child processes for tests that run the real capi-reconciler binary: spawn with arguments and a
// controlled environment, capture stdout and stderr to files, signal, wait with a deadline.
// A child still running when its ChildProcess is destroyed is killed and reaped, so a failing
// test never leaves a daemon behind.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace capi::testing {

// A private folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The child's environment: the test process's own, minus every variable that would change how
// capi-reconciler behaves (CAPI_RECONCILER_*, DATABASE_URL, CREDENTIALS_DIRECTORY, systemd's
// NOTIFY_SOCKET, JOURNAL_STREAM, ...), plus `extra`. A test therefore states all the
// configuration its child sees.
using EnvironmentOverrides = std::map<std::string, std::string>;

class ChildProcess {
 public:
  // Starts `program` with `args` (argv[1..]); stdin is /dev/null, stdout and stderr go to
  // files of their own. Throws std::runtime_error when the program cannot be started.
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const EnvironmentOverrides& extra = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the process has not exited (reaps it when it has).
  bool running();
  // Sends `sig`; a no-op once the process has been reaped.
  void signal(int sig);
  // Waits up to `timeout` for the process to exit. Returns its exit status (128 + N when
  // killed by signal N), or nothing when it is still running at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGKILL and reap; used by the destructor and by tests that give up on a child.
  void kill();

  // Everything written so far.
  std::string stdoutText() const;
  std::string stderrText() const;
  // stdout followed by stderr: the whole log of a daemon.
  std::string output() const { return stdoutText() + stderrText(); }

 private:
  TempDir dir_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct ProcessResult {
  int exit_code = -1;   // 128 + N when killed by signal N
  std::string out;
  std::string err;
  std::string output() const { return out + err; }
};

// Runs `program` to completion. Fails the test when it runs longer than `timeout` (the child is
// killed first).
ProcessResult runProcess(const std::string& program, const std::vector<std::string>& args,
                         const EnvironmentOverrides& extra = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read back, released.
// Another process could take it before the caller binds it; acceptable on a test machine.
uint16_t reserveLoopbackPort();

// Polls `done` every few milliseconds until it returns true or `timeout` passes; returns the
// last result. For waiting on another process without fixed sleeps.
template <typename Predicate>
bool pollUntil(std::chrono::milliseconds timeout, Predicate done);

void shortPause();   // one polling interval

template <typename Predicate>
bool pollUntil(std::chrono::milliseconds timeout, Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    shortPause();
  }
}

}  // namespace capi::testing
