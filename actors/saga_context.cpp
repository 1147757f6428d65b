#include "actors/saga_context.hpp"

namespace boxoffice {

caf::settings saga_progress::status(size_t mailbox) const {
  caf::settings s;
  s["type"] = "saga";
  s["id"] = std::to_string(row.id);
  s["kind"] = row.kind;
  s["reservationId"] = row.reservation_id;
  s["userId"] = row.user_id;
  s["step"] = step;
  s["history"] = history;
  s["attempts"] = attempts;
  s["mailbox"] = mailbox;
  return s;
}

} // namespace boxoffice
