// Sessions, CSRF tokens and the login rate limit.
//
// A session is a random 256-bit token (the HttpOnly cookie) with its own random CSRF token that
// every state-changing request must echo in the X-CSRF-Token header (or the csrf form field).
// Sessions live in memory only: restarting the console logs everyone out.
//
// LoginLimiter counts failed logins per key (the username and, separately, the client address)
// over a sliding window; at the limit further attempts are refused without checking the
// password.  Time is passed in, so both are testable without sleeping.
//
// Threading: SessionStore and LoginLimiter are internally locked; any thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "console/users.h"

namespace bw::console {

using Clock = std::chrono::steady_clock;

// 32 random bytes as 64 hex characters (libsodium randombytes).
std::string RandomToken();
// Constant-time string comparison.
bool TokensEqual(const std::string& a, const std::string& b);

struct Session {
  std::string token;
  std::string csrf;
  User user;
  Clock::time_point created;
  Clock::time_point last_used;
};

class SessionStore {
 public:
  SessionStore(std::chrono::seconds idle, std::chrono::seconds max_age)
      : idle_(idle), max_age_(max_age) {}
  Session Create(const User& user, Clock::time_point now);
  // The live session for `token` (touching it), or nullopt when unknown or expired.
  std::optional<Session> Find(const std::string& token, Clock::time_point now);
  void Remove(const std::string& token);

 private:
  std::chrono::seconds idle_;
  std::chrono::seconds max_age_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
};

class LoginLimiter {
 public:
  LoginLimiter(int max_failures, std::chrono::seconds window)
      : max_failures_(max_failures), window_(window) {}
  // True when `key` has reached the limit within the window.
  bool Blocked(const std::string& key, Clock::time_point now);
  void RecordFailure(const std::string& key, Clock::time_point now);
  void Reset(const std::string& key);

 private:
  static constexpr size_t kSweepAbove = 10000;
  void Prune(std::deque<Clock::time_point>& q, Clock::time_point now);
  int max_failures_;
  std::chrono::seconds window_;
  std::mutex mu_;
  std::map<std::string, std::deque<Clock::time_point>> failures_;
};

}  // namespace bw::console
