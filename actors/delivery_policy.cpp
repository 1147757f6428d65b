#include "actors/delivery_policy.hpp"

#include <algorithm>

namespace boxoffice {

using std::chrono::milliseconds;

// -- backoff ---------------------------------------------------------------------------------

backoff::backoff(milliseconds base, milliseconds cap, uint64_t seed)
    : base_(std::max(base, milliseconds::zero())), cap_(std::max(cap, milliseconds::zero())),
      rng_(seed) {}

milliseconds backoff::bound(int attempt) const {
  if (attempt < 0)
    attempt = 0;
  if (base_ >= cap_)
    return cap_;
  // base < cap here; double until the cap is reached (at most 63 steps, no overflow).
  auto value = base_.count();
  for (int i = 0; i < attempt; ++i) {
    if (value > cap_.count() / 2)
      return cap_;
    value *= 2;
  }
  return milliseconds{std::min(value, cap_.count())};
}

milliseconds backoff::delay(int attempt, std::optional<std::chrono::seconds> retry_after) {
  const auto upper = static_cast<uint64_t>(bound(attempt).count());
  // Modulo reduction: the bias is below 2^-40 for any bound we use, and unlike
  // uniform_int_distribution the result is the same with every standard library.
  const auto jitter = upper == 0 ? 0 : rng_() % (upper + 1);
  milliseconds result{static_cast<milliseconds::rep>(jitter)};
  if (retry_after) {
    // Clamp in seconds first: converting a huge value to milliseconds would overflow.
    const auto capped =
      std::clamp(*retry_after, std::chrono::seconds::zero(),
                 std::chrono::duration_cast<std::chrono::seconds>(max_retry_after));
    result = std::max(result, milliseconds{capped});
  }
  return result;
}

// -- classify --------------------------------------------------------------------------------

delivery_outcome classify(int status, const std::string& transport_error) {
  if (status == 0 || !transport_error.empty())
    return delivery_outcome::retry;
  if (status >= 200 && status <= 299)
    return delivery_outcome::delivered;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599))
    return delivery_outcome::retry;
  return delivery_outcome::dead;
}

const char* to_string(delivery_outcome outcome) {
  switch (outcome) {
    case delivery_outcome::delivered:
      return "delivered";
    case delivery_outcome::retry:
      return "retry";
    case delivery_outcome::dead:
      return "dead";
  }
  return "unknown";
}

// -- circuit_breaker -------------------------------------------------------------------------

const char* to_string(breaker_state state) {
  switch (state) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  return "unknown";
}

circuit_breaker::circuit_breaker(circuit_breaker_config config) : config_(config) {
  config_.window = std::max(config_.window, 1);
  config_.failure_percent = std::clamp(config_.failure_percent, 0, 100);
  config_.open_for = std::max(config_.open_for, milliseconds::zero());
  config_.half_open_probes = std::max(config_.half_open_probes, 1);
  ring_.assign(static_cast<std::size_t>(config_.window), false);
}

bool circuit_breaker::allow(time_point now) {
  switch (state_) {
    case breaker_state::closed:
      return true;
    case breaker_state::open:
      if (now < open_until_) {
        ++rejected_count_;
        return false;
      }
      state_ = breaker_state::half_open;
      probes_in_flight_ = 0;
      probe_successes_ = 0;
      [[fallthrough]];
    case breaker_state::half_open:
      // Probes concluded successfully plus probes still out never exceed the probe budget.
      if (probes_in_flight_ + probe_successes_ < config_.half_open_probes) {
        ++probes_in_flight_;
        return true;
      }
      ++rejected_count_;
      return false;
  }
  return false;
}

void circuit_breaker::record(bool success, time_point now) {
  switch (state_) {
    case breaker_state::closed: {
      push_result(success);
      const auto window = static_cast<std::size_t>(config_.window);
      if (count_ >= window &&
          failures_ * 100 >= static_cast<std::size_t>(config_.failure_percent) * window)
        open(now);
      return;
    }
    case breaker_state::open:
      return; // a call started before the breaker opened
    case breaker_state::half_open:
      if (probes_in_flight_ == 0)
        return; // likewise: not one of our probes
      --probes_in_flight_;
      if (!success) {
        open(now);
        return;
      }
      if (++probe_successes_ >= config_.half_open_probes)
        close();
      return;
  }
}

void circuit_breaker::open(time_point now) {
  state_ = breaker_state::open;
  open_until_ = now + config_.open_for;
  ++opened_count_;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  clear_window();
}

void circuit_breaker::close() {
  state_ = breaker_state::closed;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  clear_window();
}

void circuit_breaker::clear_window() {
  std::fill(ring_.begin(), ring_.end(), false);
  next_ = 0;
  count_ = 0;
  failures_ = 0;
}

void circuit_breaker::push_result(bool success) {
  const bool failure = !success;
  if (count_ == ring_.size()) {
    if (ring_[next_])
      --failures_;
  } else {
    ++count_;
  }
  ring_[next_] = failure;
  if (failure)
    ++failures_;
  next_ = (next_ + 1) % ring_.size();
}

} // namespace boxoffice
