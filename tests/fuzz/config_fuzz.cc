// Fuzzes the configuration loader (config/settings.h) with arbitrary TOML text,
// resolved against the source tree's config/ directory (so the shipped zone
// file exists).  Contract checked: it never crashes or lets an exception out
// as an internal error, and a config it accepts renders (RenderConfig) to TOML
// that parses back to the same settings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kConfigDir = BREACHWATCH_SOURCE_DIR "/config";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = bw::ParseConfig(text, kConfigDir, "fuzz.toml");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() != bw::ErrorCode::kInternal, config.status().ToString());
    return 0;
  }
  const std::string rendered = bw::RenderConfig(*config);
  auto again = bw::ParseConfig(rendered, kConfigDir, "rendered.toml");
  FUZZ_CHECK(again.ok(), again.status().ToString() + "\n--- rendered:\n" + rendered);
  const std::string rendered_again = bw::RenderConfig(*again);
  FUZZ_CHECK(rendered_again == rendered, "render(parse(render(c))) != render(c):\n" + rendered +
                                             "\n--- then:\n" + rendered_again);
  return 0;
}
