// Start-up helpers shared by breachwatchd's --check and the daemon: reading the zone files and
// resolving the store's path.
#pragma once

#include <memory>
#include <string>

#include "config/settings.h"
#include "handlers/base/status.h"
#include "handlers/geo/zone_index.h"

namespace bw {

// Reads the zone files named in `config` and builds the index; BadInput names zones[i].file.
Result<std::shared_ptr<const ZoneIndex>> LoadZones(const Config& config);

// The configured store path, resolved: relative → $STATE_DIRECTORY (its first entry) or the
// working directory.
std::string ResolveStorePath(const std::string& configured);

}  // namespace bw
