#include "console/sessions.h"

#include <sodium.h>

namespace bw::console {

std::string RandomToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

bool TokensEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Session SessionStore::Create(const User& user, Clock::time_point now) {
  Session s{.token = RandomToken(),
            .csrf = RandomToken(),
            .user = user,
            .created = now,
            .last_used = now};
  std::lock_guard lock(mu_);
  // Drop expired sessions while here, so the map cannot grow without bound.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const Session& old = it->second;
    if (now - old.last_used > idle_ || now - old.created > max_age_) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  sessions_[s.token] = s;
  return s;
}

std::optional<Session> SessionStore::Find(const std::string& token, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  Session& s = it->second;
  if (now - s.last_used > idle_ || now - s.created > max_age_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  s.last_used = now;
  return s;
}

void SessionStore::Remove(const std::string& token) {
  std::lock_guard lock(mu_);
  sessions_.erase(token);
}

void LoginLimiter::Prune(std::deque<Clock::time_point>& q, Clock::time_point now) {
  while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

bool LoginLimiter::Blocked(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  Prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return false;
  }
  return static_cast<int>(it->second.size()) >= max_failures_;
}

void LoginLimiter::RecordFailure(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (failures_.size() >= kSweepAbove) {
    // Many different keys (invented usernames): drop those whose failures have all aged out.
    for (auto it = failures_.begin(); it != failures_.end();) {
      Prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
  auto& q = failures_[key];
  Prune(q, now);
  q.push_back(now);
}

void LoginLimiter::Reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

}  // namespace bw::console
