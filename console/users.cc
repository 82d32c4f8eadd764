#include "console/users.h"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace bw::console {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kOfficer:
      return "officer";
    case Role::kControlRoom:
      return "control_room";
    case Role::kAdministrator:
      return "administrator";
  }
  return "?";
}

bool MayUse(const User& user, Area area) {
  switch (area) {
    case Area::kQueue:
    case Area::kMap:
    case Area::kPerson:
      return true;
    case Area::kReports:
    case Area::kHealth:
      return user.role != Role::kOfficer;
  }
  return false;
}

bool MaySeeAlert(const User& user, const boost::json::object& alert) {
  if (user.role == Role::kAdministrator) return true;
  const auto* recipients = alert.if_contains("recipients");
  if (!recipients || !recipients->is_array()) return false;
  for (const auto& r : recipients->get_array()) {
    if (!r.is_string()) continue;
    std::string_view topic = r.get_string();
    if (user.role == Role::kOfficer && topic == "officer/" + user.identity + "/") return true;
    if (user.role == Role::kControlRoom) {
      for (const auto& id : user.control_ids) {
        if (topic == "control/" + id + "/") return true;
      }
    }
  }
  return false;
}

std::string ControlIdReceiving(const User& user, const boost::json::object& alert) {
  if (user.role != Role::kControlRoom) return "";
  const auto* recipients = alert.if_contains("recipients");
  if (!recipients || !recipients->is_array()) return "";
  for (const auto& id : user.control_ids) {
    for (const auto& r : recipients->get_array()) {
      if (r.is_string() && r.get_string() == "control/" + id + "/") return id;
    }
  }
  return "";
}

bool InitSodium() { return sodium_init() >= 0; }

Result<std::string> HashPassword(const std::string& password) {
  if (password.empty()) return Status::BadInput("password", "must not be empty");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal("crypto_pwhash_str: out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Result<std::vector<User>> ParseUsers(const std::string& toml_text, const std::string& source_name) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::BadInput("",
                            source_name + ": TOML syntax error: " + std::string(e.description()));
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    return Status::BadInput(
        "", source_name + ": TOML syntax error: " + std::string(parsed.error().description()));
  }
  root = std::move(parsed).table();
#endif
  for (const auto& [k, v] : root) {
    if (k.str() != "user") return Status::BadInput(std::string(k.str()), "unknown key");
  }
  std::vector<User> users;
  const toml::array* items = root["user"].as_array();
  if (!items) return users;
  std::set<std::string> names;
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string at = "user[" + std::to_string(i + 1) + "]";
    const toml::table* t = (*items)[i].as_table();
    if (!t) return Status::BadInput(at, "must be a [[user]] table");
    for (const auto& [k, v] : *t) {
      static const std::set<std::string_view> kKeys = {"username", "password_hash", "identity",
                                                       "role",     "control_ids",   "note"};
      if (!kKeys.count(k.str())) {
        return Status::BadInput(at + "." + std::string(k.str()), "unknown key");
      }
    }
    auto text = [&](const char* key) -> Result<std::string> {
      auto s = (*t)[key].value<std::string>();
      if (!s || s->empty()) {
        return Status::BadInput(at + "." + key, "required, a non-empty string");
      }
      return *s;
    };
    User u;
    for (auto [key, dest] : {std::pair<const char*, std::string*>{"username", &u.username},
                             {"password_hash", &u.password_hash},
                             {"identity", &u.identity}}) {
      auto s = text(key);
      if (!s.ok()) return s.status();
      *dest = *s;
    }
    if (!u.password_hash.starts_with("$argon2id$")) {
      return Status::BadInput(at + ".password_hash",
                              "must be an argon2id hash from `breachwatch-console hash-password`");
    }
    auto role = text("role");
    if (!role.ok()) return role.status();
    if (*role == "officer") {
      u.role = Role::kOfficer;
    } else if (*role == "control_room") {
      u.role = Role::kControlRoom;
    } else if (*role == "administrator") {
      u.role = Role::kAdministrator;
    } else {
      return Status::BadInput(at + ".role",
                              "must be one of \"officer\", \"control_room\", \"administrator\"");
    }
    if (const toml::node* ids = t->get("control_ids")) {
      if (u.role != Role::kControlRoom) {
        return Status::BadInput(at + ".control_ids", "only for role control_room");
      }
      const toml::array* arr = ids->as_array();
      if (!arr || arr->empty()) {
        return Status::BadInput(at + ".control_ids", "must be a non-empty array of strings");
      }
      for (const auto& id : *arr) {
        auto s = id.value<std::string>();
        if (!s || s->empty()) {
          return Status::BadInput(at + ".control_ids", "must be a non-empty array of strings");
        }
        u.control_ids.push_back(*s);
      }
    } else if (u.role == Role::kControlRoom) {
      u.control_ids = {u.identity};
    }
    if (!names.insert(u.username).second) {
      return Status::BadInput(at + ".username", "listed twice: \"" + u.username + "\"");
    }
    users.push_back(std::move(u));
  }
  return users;
}

Result<std::vector<User>> LoadUsersFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("users.file: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto users = ParseUsers(ss.str(), path);
  if (!users.ok()) {
    const Status& s = users.status();
    return Status::BadInput("users.file " + path + ": " + s.field(), s.message());
  }
  return users;
}

Result<std::shared_ptr<const std::vector<User>>> UsersFile::Get() {
  std::lock_guard lock(mu_);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (mtime_ns != mtime_ns_ || st.st_size != size_ || !users_) {
      auto loaded = LoadUsersFile(path_);
      if (loaded.ok()) {
        users_ = std::make_shared<const std::vector<User>>(std::move(*loaded));
        mtime_ns_ = mtime_ns;
        size_ = st.st_size;
      } else if (users_) {
        spdlog::error("users file refused, keeping the last good list: {}",
                      loaded.status().ToString());
        mtime_ns_ = mtime_ns;  // refused once, logged once, until it changes again
        size_ = st.st_size;
      } else {
        return loaded.status();
      }
    }
  } else if (!users_) {
    return Status::NotFound("users.file: cannot read " + path_);
  }
  return users_;
}

bool SameGrant(const User& then, const User& now) {
  return then.username == now.username && then.identity == now.identity && then.role == now.role &&
         then.control_ids == now.control_ids;
}

}  // namespace bw::console
