#include "http/api/routes.hpp"

namespace boxoffice::http {

bool may_act_for(api_ptr self, const api_exchange_ptr& ex, int64_t user_id, user_action action) {
  auto& access = self->state.services.access;
  if (!access)
    return true;
  auto refused = access->check_user(ex->request, user_id, action);
  if (!refused)
    return true;
  ex->respond(std::move(*refused));
  return false;
}

} // namespace boxoffice::http
