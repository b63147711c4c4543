#pragma once
// Applies numbered SQL files (NNNN_description.sql) from a folder in order, each in its own
// transaction, recording them in schema_migrations. A session advisory lock serializes
// instances that start together; the loser finds nothing left to do.
//
// A migration that alters a table waits for the transactions using it, and every statement on
// that table then queues behind the migration. So each one waits for its locks at most
// lock_timeout, gives way (rolled back, nothing changed) and tries again after a pause: a
// forgotten idle transaction or a long dump stalls the daemon's traffic for a moment at a time,
// never for as long as it lasts.
#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace capi::store {

struct MigrationFile {
  int version = 0;
  std::string name;      // file name
  std::string path;
  std::string checksum;  // sha256 of the contents
};

struct MigrationLockPolicy {
  std::chrono::milliseconds lock_timeout{2000};
  int attempts = 20;   // with the defaults, about a minute: inside systemd's start timeout
  std::chrono::milliseconds pause{1000};   // between attempts
};

class Migrator {
 public:
  // Throws std::runtime_error when the folder is unreadable or names are malformed/duplicated.
  Migrator(std::string database_url, std::string migrations_dir, MigrationLockPolicy locks = {});

  // Applies every pending file; returns the names applied (empty when up to date).
  // Throws when an applied file's checksum changed, or on SQL errors (naming the file).
  std::vector<std::string> migrate();

  // Files not yet recorded in schema_migrations (does not take the lock).
  std::vector<std::string> pending();

  const std::vector<MigrationFile>& files() const { return files_; }

 private:
  std::string url_;
  std::vector<MigrationFile> files_;
  MigrationLockPolicy locks_;
};

class PgPool;
// Versions recorded in schema_migrations (empty when the table does not exist yet).
// Throws DatabaseUnavailable.
std::set<int> appliedVersions(PgPool& pool);

// The migration files found in a folder, sorted by version.
std::vector<MigrationFile> listMigrations(const std::string& dir);

}  // namespace capi::store
