// A small log-linear latency histogram (HDR-style) with no dependencies.
//
// Values below 2^kSubBits are counted exactly. Above that, every power-of-two
// range [2^k, 2^(k+1)) is split into 2^(kSubBits-1) equal buckets, so any
// reported value is within 1/2^(kSubBits-1) (< 1.6 %) of a value that was
// recorded. The whole uint64_t range fits in kBuckets counters (about 30 KB).
// Not thread-safe: keep one per thread and merge().
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace boxoffice::loadgen {

class LogLinearHistogram {
public:
  static constexpr unsigned kSubBits = 7;
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits; // exact below this
  static constexpr std::uint64_t kHalf = kSub / 2;                    // buckets per octave
  static constexpr std::size_t kBuckets = (64 - kSubBits + 2) * kHalf;

  LogLinearHistogram() : buckets_(kBuckets, 0) {}

  /// Index of the bucket that counts value v.
  static std::size_t bucket_index(std::uint64_t v) {
    if (v < kSub)
      return static_cast<std::size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v));
    const unsigned shift = msb - kSubBits + 1;
    return static_cast<std::size_t>((shift + 1) * kHalf + ((v >> shift) - kHalf));
  }

  /// Smallest value counted by bucket i.
  static std::uint64_t bucket_lowest(std::size_t i) {
    if (i < kSub)
      return i;
    const std::uint64_t shift = i / kHalf - 1;
    const std::uint64_t sub = i % kHalf + kHalf;
    return sub << shift;
  }

  /// Largest value counted by bucket i (the top bucket ends at UINT64_MAX).
  static std::uint64_t bucket_highest(std::size_t i) {
    if (i < kSub)
      return i;
    const std::uint64_t shift = i / kHalf - 1;
    const std::uint64_t sub = i % kHalf + kHalf;
    // For the top bucket (sub + 1) << shift wraps to 0, and 0 - 1 is UINT64_MAX.
    return ((sub + 1) << shift) - 1;
  }

  void record(std::uint64_t v, std::uint64_t n = 1) {
    if (n == 0)
      return;
    buckets_[bucket_index(v)] += n;
    count_ += n;
    sum_ += static_cast<long double>(v) * static_cast<long double>(n);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  void merge(const LogLinearHistogram& other) {
    if (other.count_ == 0)
      return;
    for (std::size_t i = 0; i < kBuckets; ++i)
      buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  void clear() {
    std::fill(buckets_.begin(), buckets_.end(), 0);
    count_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<std::uint64_t>::max();
    max_ = 0;
  }

  std::uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_ / count_) : 0.0; }

  /// The value at percentile p (0..100): the highest value equivalent to the
  /// recorded value of rank ceil(p/100 * count), clamped to [min, max].
  /// Returns 0 for an empty histogram.
  std::uint64_t percentile(double p) const {
    if (count_ == 0)
      return 0;
    if (p <= 0)
      return min_;
    if (p >= 100)
      return max_;
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= rank)
        return std::clamp(bucket_highest(i), min_, max_);
    }
    return max_;
  }

  /// Count of recorded values v with lo <= bucket(v) <= bucket(hi) (bucket resolution).
  std::uint64_t count_between(std::uint64_t lo, std::uint64_t hi) const {
    if (lo > hi)
      return 0;
    std::uint64_t n = 0;
    for (std::size_t i = bucket_index(lo), e = bucket_index(hi); i <= e; ++i)
      n += buckets_[i];
    return n;
  }

private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  long double sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

} // namespace boxoffice::loadgen
