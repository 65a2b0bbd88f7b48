#include "server/runtime/batch_cost.h"

namespace lion::runtime {

void BatchCostModel::Add(int64_t padded_tokens, double seconds) {
  if (padded_tokens <= 0 || !(seconds > 0)) return;
  const double x = static_cast<double>(padded_tokens);
  w_ = kForget * w_ + 1;
  x_ = kForget * x_ + x;
  y_ = kForget * y_ + seconds;
  xx_ = kForget * xx_ + x * x;
  xy_ = kForget * xy_ + x * seconds;
}

BatchCost BatchCostModel::Estimate() const {
  if (w_ <= 0) return {};
  const double mx = x_ / w_, my = y_ / w_;
  const double var = xx_ / w_ - mx * mx;
  const double cov = xy_ / w_ - mx * my;
  // Sizes within ~5% of each other carry no slope worth trusting.
  if (var > 0.0025 * mx * mx && cov > 0) {
    const double slope = cov / var;
    const double intercept = my - slope * mx;
    if (intercept >= 0) return {intercept, slope};
    return {0, my / mx};  // no measurable overhead: all of it per token
  }
  return {my, 0};
}

}  // namespace lion::runtime
