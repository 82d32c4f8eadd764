// ClientAllowList: the CURVE clients breachwatchd admits (security.clients_file), each public key
// mapped to the identity and role it authenticates as.
//
// The file is TOML, one [[client]] table per key:
//   [[client]]
//   identity = "MP-PC1234"          # ZAP User-Id: the actor in audit records and authorisation
//   role = "officer"                # officer | control_room | feed | administrator
//   public_key = "<40 Z85 chars>"   # the client's CURVE public key (NAME.pub)
//   feeds = ["tag"]                 # role feed only, required: the feeds it may publish
//   control_ids = ["E09000023"]     # role control_room only, optional: the control rooms whose
//                                   # alerts it receives (default: [identity])
//   note = "issued 2024-05-01"      # optional, free text (rotation bookkeeping)
// Validation is like the main config: unknown keys, wrong types, a bad key, role or feed name and
// a public key listed twice are errors naming the entry ("client[2].public_key") and the file
// position.  An identity may have several keys (rotation: add the new key, move the client over,
// remove the old one) provided every entry of it says the same role, feeds and control_ids.
//
// Thread-safety: an immutable value once loaded; share it as shared_ptr<const ClientAllowList>
// across threads and replace it whole on reload.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/base/status.h"

namespace bw {

enum class ClientRole { kOfficer, kControlRoom, kFeed, kAdministrator };

const char* ClientRoleName(ClientRole role);

struct ClientEntry {
  std::string identity;
  ClientRole role = ClientRole::kOfficer;
  std::string public_key;                // Z85
  std::vector<std::string> feeds;        // role feed
  std::vector<std::string> control_ids;  // role control_room (defaulted to {identity})
  std::string note;
};

class ClientAllowList {
 public:
  // Parses the text of a clients file; `source_name` names it in error messages.
  static Result<std::shared_ptr<const ClientAllowList>> Parse(std::string_view toml_text,
                                                             const std::string& source_name);
  // Reads and parses `path`.
  static Result<std::shared_ptr<const ClientAllowList>> Load(const std::string& path);

  // The entry for a Z85 public key, or null when the key is not allow-listed.
  const ClientEntry* FindByPublicKey(std::string_view public_z85) const;
  // The (first) entry for an authenticated identity, or null when it is no longer listed.
  const ClientEntry* FindByIdentity(std::string_view identity) const;

  const std::vector<ClientEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<ClientEntry> entries_;
  std::map<std::string, size_t, std::less<>> by_key_;
  std::map<std::string, size_t, std::less<>> by_identity_;
};

// The [[client]] table a client file needs for `identity` (what `breachctl keys generate`
// prints).  `feeds` for role feed; `control_ids` optional for control_room.
std::string RenderClientEntry(const ClientEntry& entry);

}  // namespace bw
