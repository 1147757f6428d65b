#pragma once
// Queue tokens survive restarts: creation, admission and expiry are stored.

#include <string>
#include <vector>

#include "messages/states.hpp"

namespace boxoffice::storage {

class pg_connection;

struct token_row {
  std::string token;
  int64_t user_id = 0;
  int64_t place = 0;
  token_status status = token_status::waiting;
  int64_t active_until_ms = 0;
};

// Returns the user's live token, creating `token` for them if they have none.
// `expired` names a token of theirs known to have expired (its row may not say
// so yet): it gives way too.
token_row issue_token(pg_connection& conn, const std::string& token, int64_t user_id,
                      const std::string& expired);

// WAITING and ACTIVE tokens in order of arrival.
std::vector<token_row> live_tokens(pg_connection& conn);

// Writes the status and active_until of many tokens in one statement.
void save_tokens(pg_connection& conn, const std::vector<token_row>& rows);

} // namespace boxoffice::storage
