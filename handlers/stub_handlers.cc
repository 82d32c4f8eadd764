// Placeholder handlers, each replaced by its own file as the matching is built.
#include "handlers/engine.h"

namespace bw {

std::shared_ptr<const EventHandler> MakePositionHandler() { return MakeStoreOnlyHandler(); }
std::shared_ptr<const EventHandler> MakeCurfewViolationHandler() { return MakeStoreOnlyHandler(); }
std::shared_ptr<const EventHandler> MakeIncidentHandler() { return MakeStoreOnlyHandler(); }
std::shared_ptr<const EventHandler> MakeDeviceHandler() { return MakeStoreOnlyHandler(); }
std::shared_ptr<const EventHandler> MakeCustodyHandler() { return MakeStoreOnlyHandler(); }

namespace {
class NoTick final : public TickHandler {
 public:
  const char* name() const override { return "no-op tick"; }
  Status Tick(const HandlerContext&, Outcome*) const override { return Status::Ok(); }
};
}  // namespace

std::shared_ptr<const TickHandler> MakeExpiryTickHandler() { return std::make_shared<NoTick>(); }

}  // namespace bw
