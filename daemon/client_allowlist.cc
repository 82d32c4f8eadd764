#include "daemon/client_allowlist.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/curve_keys.h"

namespace bw {
namespace {

constexpr std::string_view kRoles[] = {"officer", "control_room", "feed", "administrator"};
constexpr std::string_view kFeeds[] = {"orders", "tag", "custody", "check"};
constexpr std::string_view kKeys[] = {"identity", "role",        "public_key",
                                      "feeds",    "control_ids", "note"};

std::string Where(const toml::source_region& r, const std::string& source_name) {
  if (r.begin.line == 0) return "";
  return " (" + source_name + ":" + std::to_string(r.begin.line) + ":" +
         std::to_string(r.begin.column) + ")";
}

Result<std::string> GetString(const toml::table& t, std::string_view key, const std::string& path,
                              bool required, const std::string& where_table,
                              const std::string& source_name) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (required) return Status::BadInput(path, "missing required key" + where_table);
    return std::string();
  }
  const auto* s = n->as_string();
  if (s == nullptr) {
    return Status::BadInput(path, "expected a string" + Where(n->source(), source_name));
  }
  if (s->get().empty()) {
    return Status::BadInput(path, "must not be empty" + Where(n->source(), source_name));
  }
  return s->get();
}

Result<std::vector<std::string>> GetStringArray(const toml::table& t, std::string_view key,
                                                const std::string& path,
                                                const std::string& source_name) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (n == nullptr) return out;
  const auto* a = n->as_array();
  if (a == nullptr) {
    return Status::BadInput(path,
                            "expected an array of strings" + Where(n->source(), source_name));
  }
  for (size_t i = 0; i < a->size(); ++i) {
    const auto* s = a->get(i)->as_string();
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    if (s == nullptr || s->get().empty()) {
      return Status::BadInput(item_path,
                              "expected a non-empty string" + Where(a->get(i)->source(), source_name));
    }
    out.push_back(s->get());
  }
  if (out.empty()) {
    return Status::BadInput(path, "must not be empty" + Where(n->source(), source_name));
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

const char* ClientRoleName(ClientRole role) {
  switch (role) {
    case ClientRole::kOfficer:
      return "officer";
    case ClientRole::kControlRoom:
      return "control_room";
    case ClientRole::kFeed:
      return "feed";
    case ClientRole::kAdministrator:
      return "administrator";
  }
  return "?";
}

Result<std::shared_ptr<const ClientAllowList>> ClientAllowList::Parse(
    std::string_view toml_text, const std::string& source_name) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return Status::BadInput("", source_name + ": TOML syntax error: " +
                                    std::string(e.description()) + Where(e.source(), source_name));
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    return Status::BadInput("", source_name + ": TOML syntax error: " +
                                    std::string(parsed.error().description()) +
                                    Where(parsed.error().source(), source_name));
  }
  root = std::move(parsed).table();
#endif
  auto list = std::make_shared<ClientAllowList>();
  for (const auto& [k, v] : root) {
    if (k.str() != "client") {
      return Status::BadInput(std::string(k.str()),
                              "unknown key (a clients file has only [[client]] tables)" +
                                  Where(k.source(), source_name));
    }
  }
  const toml::node* clients = root.get("client");
  if (clients == nullptr) return std::shared_ptr<const ClientAllowList>(std::move(list));
  const auto* array = clients->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return Status::BadInput("client", "expected [[client]] tables" +
                                          Where(clients->source(), source_name));
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const auto& table = *array->get(i)->as_table();
    const std::string prefix = "client[" + std::to_string(i) + "]";
    const std::string where_table = Where(table.source(), source_name);
    for (const auto& [k, v] : table) {
      if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) == std::end(kKeys)) {
        return Status::BadInput(prefix + "." + std::string(k.str()),
                                "unknown key" + Where(k.source(), source_name));
      }
    }
    ClientEntry e;
    auto identity = GetString(table, "identity", prefix + ".identity", true, where_table,
                              source_name);
    if (!identity.ok()) return identity.status();
    e.identity = *identity;
    auto role = GetString(table, "role", prefix + ".role", true, where_table, source_name);
    if (!role.ok()) return role.status();
    auto role_it = std::find(std::begin(kRoles), std::end(kRoles), *role);
    if (role_it == std::end(kRoles)) {
      return Status::BadInput(prefix + ".role",
                              "must be one of \"officer\", \"control_room\", \"feed\", "
                              "\"administrator\" (got " +
                                  Quote(*role) + ")" +
                                  Where(table.get("role")->source(), source_name));
    }
    e.role = static_cast<ClientRole>(role_it - std::begin(kRoles));
    auto key = GetString(table, "public_key", prefix + ".public_key", true, where_table,
                         source_name);
    if (!key.ok()) return key.status();
    if (!IsZ85Key(*key)) {
      return Status::BadInput(prefix + ".public_key",
                              "not a CURVE public key (40 Z85 characters, the NAME.pub file "
                              "written by `breachctl keys generate`)" +
                                  Where(table.get("public_key")->source(), source_name));
    }
    e.public_key = *key;
    auto feeds = GetStringArray(table, "feeds", prefix + ".feeds", source_name);
    if (!feeds.ok()) return feeds.status();
    e.feeds = *feeds;
    if (e.role == ClientRole::kFeed) {
      if (e.feeds.empty()) {
        return Status::BadInput(prefix + ".feeds",
                                "required for role \"feed\": the feeds this key may publish, "
                                "e.g. feeds = [\"tag\"]" +
                                    where_table);
      }
      for (size_t f = 0; f < e.feeds.size(); ++f) {
        if (std::find(std::begin(kFeeds), std::end(kFeeds), e.feeds[f]) == std::end(kFeeds)) {
          return Status::BadInput(prefix + ".feeds[" + std::to_string(f) + "]",
                                  "must be one of \"orders\", \"tag\", \"custody\", \"check\" "
                                  "(got " +
                                      Quote(e.feeds[f]) + ")" +
                                      Where(table.get("feeds")->source(), source_name));
        }
      }
    } else if (!e.feeds.empty()) {
      return Status::BadInput(prefix + ".feeds", "only a role \"feed\" entry has feeds" +
                                                     Where(table.get("feeds")->source(),
                                                           source_name));
    }
    auto control_ids = GetStringArray(table, "control_ids", prefix + ".control_ids", source_name);
    if (!control_ids.ok()) return control_ids.status();
    e.control_ids = *control_ids;
    if (e.role != ClientRole::kControlRoom && !e.control_ids.empty()) {
      return Status::BadInput(prefix + ".control_ids",
                              "only a role \"control_room\" entry has control_ids" +
                                  Where(table.get("control_ids")->source(), source_name));
    }
    if (e.role == ClientRole::kControlRoom && e.control_ids.empty()) {
      e.control_ids = {e.identity};
    }
    auto note = GetString(table, "note", prefix + ".note", false, where_table, source_name);
    if (!note.ok()) return note.status();
    e.note = *note;

    if (auto it = list->by_key_.find(e.public_key); it != list->by_key_.end()) {
      return Status::BadInput(prefix + ".public_key",
                              "the same key is already listed as client[" +
                                  std::to_string(it->second) + "] (" +
                                  list->entries_[it->second].identity + ")" +
                                  Where(table.get("public_key")->source(), source_name));
    }
    if (auto it = list->by_identity_.find(e.identity); it != list->by_identity_.end()) {
      const ClientEntry& first = list->entries_[it->second];
      if (first.role != e.role || first.feeds != e.feeds || first.control_ids != e.control_ids) {
        return Status::BadInput(prefix + ".identity",
                                "identity " + Quote(e.identity) + " is also client[" +
                                    std::to_string(it->second) +
                                    "] with a different role, feeds or control_ids; every key "
                                    "of one identity must say the same" +
                                    where_table);
      }
    } else {
      list->by_identity_.emplace(e.identity, list->entries_.size());
    }
    list->by_key_.emplace(e.public_key, list->entries_.size());
    list->entries_.push_back(std::move(e));
  }
  return std::shared_ptr<const ClientAllowList>(std::move(list));
}

Result<std::shared_ptr<const ClientAllowList>> ClientAllowList::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::BadInput("security.clients_file", "no such file: " + Quote(path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IoError("cannot read clients file " + Quote(path) + ": " +
                           std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto list = Parse(text.str(), path);
  if (!list.ok() && list.status().code() == ErrorCode::kBadInput) {
    // Name the file in the field so `--check` and start-up say where to look.
    return Status::BadInput("security.clients_file " + path +
                                (list.status().field().empty() ? "" : ": " + list.status().field()),
                            list.status().message());
  }
  return list;
}

const ClientEntry* ClientAllowList::FindByPublicKey(std::string_view public_z85) const {
  auto it = by_key_.find(public_z85);
  return it == by_key_.end() ? nullptr : &entries_[it->second];
}

const ClientEntry* ClientAllowList::FindByIdentity(std::string_view identity) const {
  auto it = by_identity_.find(identity);
  return it == by_identity_.end() ? nullptr : &entries_[it->second];
}

std::string RenderClientEntry(const ClientEntry& e) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Quote(v[i]);
    return out + "]";
  };
  std::string out = "[[client]]\n";
  out += "identity = " + Quote(e.identity) + "\n";
  out += "role = " + Quote(ClientRoleName(e.role)) + "\n";
  out += "public_key = " + Quote(e.public_key) + "\n";
  if (!e.feeds.empty()) out += "feeds = " + list(e.feeds) + "\n";
  if (e.role == ClientRole::kControlRoom && !e.control_ids.empty() &&
      e.control_ids != std::vector<std::string>{e.identity}) {
    out += "control_ids = " + list(e.control_ids) + "\n";
  }
  if (!e.note.empty()) out += "note = " + Quote(e.note) + "\n";
  return out;
}

}  // namespace bw
