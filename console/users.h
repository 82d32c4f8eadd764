// Console users: who may log in, with which password, as which identity and role.
//
// The users file is TOML, one [[user]] table each:
//   username = "cr-lewisham-1"          # what is typed at the login page
//   password_hash = "$argon2id$v=19..." # libsodium crypto_pwhash_str (argon2id)
//   identity = "MP-CR0001"              # officer_id sent to the daemon: the audited actor
//   role = "control_room"               # officer | control_room | administrator
//   control_ids = ["E09000023"]         # control_room: the control topics it watches
//
// Roles mirror the daemon's allow-list (docs/security.md#roles): an officer sees the alerts sent
// to officer/<identity>/, a control room those sent to control/<id>/ for its control_ids, an
// administrator all.  Reports and feed health are for control rooms and administrators.
//
// Threading: pure functions (HashPassword/VerifyPassword call libsodium, which is thread-safe
// once sodium_init has run: InitSodium()).
#pragma once

#include <boost/json.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "handlers/base/status.h"

namespace bw::console {

enum class Role { kOfficer, kControlRoom, kAdministrator };
const char* RoleName(Role role);

struct User {
  std::string username;
  std::string password_hash;
  std::string identity;
  Role role = Role::kOfficer;
  std::vector<std::string> control_ids;
};

// Pages and API areas, for role checks.
enum class Area { kQueue, kMap, kPerson, kReports, kHealth };
bool MayUse(const User& user, Area area);

// True when `alert` (a payload with `recipients`) is one this user may see.
bool MaySeeAlert(const User& user, const boost::json::object& alert);
// The first of a control-room user's control_ids that `alert` was sent to, else "": sent as the
// control_id of alert.ack / alert.resolve, so the daemon lets the user act for that control room
// (daemon/access_policy.h ActorTopics).
std::string ControlIdReceiving(const User& user, const boost::json::object& alert);

// Must be called once before hashing or verifying; false when libsodium cannot start.
bool InitSodium();

// argon2id hash (crypto_pwhash_str, OPSLIMIT/MEMLIMIT_INTERACTIVE) of `password`.
Result<std::string> HashPassword(const std::string& password);
// Constant-time check of `password` against a crypto_pwhash_str hash.
bool VerifyPassword(const std::string& hash, const std::string& password);

// Parses a users file; errors name "user[N].field".  Duplicate usernames are errors.
Result<std::vector<User>> ParseUsers(const std::string& toml_text, const std::string& source_name);
Result<std::vector<User>> LoadUsersFile(const std::string& path);

// The users file, re-read when its modification time or size changes.  A file that no longer
// parses is refused whole and the last good list is kept (logged), as the daemon does with its
// allow-list.  Thread-safe.
class UsersFile {
 public:
  explicit UsersFile(std::string path) : path_(std::move(path)) {}
  // The current list; an error only when no good list was ever read.
  Result<std::shared_ptr<const std::vector<User>>> Get();

 private:
  std::string path_;
  std::mutex mu_;
  std::shared_ptr<const std::vector<User>> users_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
};

// True when `now` is still the same user as `then` (same identity, role and control ids).
bool SameGrant(const User& then, const User& now);

}  // namespace bw::console
