// heartbeat (protocol section 4.4): a feed's sign of life.  Stored and noted;
// never an alert.  Stateless; thread-safety as for every EventHandler.
#include "handlers/engine/engine.h"
#include "handlers/engine/event_handler.h"

namespace bw {
namespace {

class HeartbeatHandler final : public EventHandler {
 public:
  const char* name() const override { return "heartbeat"; }
  Status Decide(const Event&, const HandlerContext&, Outcome* out) const override {
    out->note = "heartbeat";
    return Status::Ok();
  }
};

}  // namespace

std::shared_ptr<const EventHandler> MakeHeartbeatHandler() {
  return std::make_shared<HeartbeatHandler>();
}

}  // namespace bw
