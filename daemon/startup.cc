#include "daemon/startup.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bw {
namespace {
std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *ok = false;
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return ss.str();
}
}  // namespace

Result<std::shared_ptr<const ZoneIndex>> LoadZones(const Config& config) {
  std::vector<ZoneSetSource> sources;
  for (size_t i = 0; i < config.zones.size(); ++i) {
    const auto& z = config.zones[i];
    bool ok = true;
    std::string text = ReadFile(z.file, &ok);
    if (!ok) {
      return Status::BadInput("zones[" + std::to_string(i) + "].file", "cannot read " + z.file);
    }
    ZoneSetSource src;
    src.name = std::filesystem::path(z.file).filename().string();
    src.geojson_text = std::move(text);
    src.code_property = z.code_property;
    src.name_property = z.name_property;
    src.skip_invalid = z.skip_invalid;
    sources.push_back(std::move(src));
  }
  return ZoneIndex::Build(sources);
}

std::string ResolveStorePath(const std::string& configured) {
  std::filesystem::path p(configured);
  if (p.is_absolute()) return p.string();
  const char* state = std::getenv("STATE_DIRECTORY");
  if (state != nullptr && *state != '\0') {
    // systemd may pass several, colon-separated: use the first.
    std::string first(state);
    first = first.substr(0, first.find(':'));
    return (std::filesystem::path(first) / p).string();
  }
  return (std::filesystem::current_path() / p).string();
}

}  // namespace bw
