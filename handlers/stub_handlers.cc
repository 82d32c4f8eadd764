// Placeholder handlers, each replaced by its own file as the matching is built.
#include "handlers/engine.h"

namespace bw {

}  // namespace bw
