// Reads like docs/lion-math.md sections 2.1-2.2: for each (b, h) the mask entry
// M[i, j] is the product of the decays strictly between query i and key j plus
// the key's own ("key" convention), here as exp of a log-sum taken in double.
#include "lion/kernels/lion_attention_reference.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lion::kernels {
namespace {

absl::Status CheckArgs(const AttentionShape& shape, const int64_t* lengths,
                       const AttentionOptions& options) {
  if (absl::Status s = shape.Validate(); !s.ok()) return s;
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (lengths != nullptr) {
    for (int64_t b = 0; b < shape.batch; ++b) {
      if (lengths[b] < 0 || lengths[b] > shape.length) {
        return absl::InvalidArgumentError(
            absl::StrCat("lengths[", b, "] = ", lengths[b], " is outside [0, ", shape.length, "]"));
      }
    }
  }
  return absl::OkStatus();
}

// One (b, h) problem of length n: num [n, dv] and den [n], scaled by c.
void NumDenOneHead(int64_t n, int64_t dk, int64_t dv, const float* q, const float* k,
                   const float* v, const float* g, double c, double* num, double* den) {
  // G[t] = sum_{u < t} g_u (exclusive prefix, double), so that
  //   log M[i,j] = G[i] - G[j]          for i > j  (decays j .. i-1)
  //   log M[i,j] = G[j+1] - G[i+1]      for i < j  (decays i+1 .. j)
  std::vector<double> G(n + 1, 0.0);
  for (int64_t t = 0; t < n; ++t) G[t + 1] = G[t] + static_cast<double>(g[t]);
  for (int64_t i = 0; i < n; ++i) {
    double* num_i = num + i * dv;
    for (int64_t e = 0; e < dv; ++e) num_i[e] = 0.0;
    den[i] = 0.0;
    for (int64_t j = 0; j < n; ++j) {
      double log_m = 0.0;
      if (i > j) log_m = G[i] - G[j];
      if (i < j) log_m = G[j + 1] - G[i + 1];
      double qk = 0.0;
      for (int64_t e = 0; e < dk; ++e) {
        qk += static_cast<double>(q[i * dk + e]) * static_cast<double>(k[j * dk + e]);
      }
      const double a = c * qk * std::exp(log_m);
      for (int64_t e = 0; e < dv; ++e) num_i[e] += a * static_cast<double>(v[j * dv + e]);
      den[i] += a;
    }
  }
}

}  // namespace

absl::Status LionAttentionNumDenReference(const AttentionShape& shape, const float* q,
                                          const float* k, const float* v, const float* g,
                                          const int64_t* lengths, const AttentionOptions& options,
                                          double* num, double* den) {
  if (absl::Status s = CheckArgs(shape, lengths, options); !s.ok()) return s;
  const int64_t L = shape.length;
  for (int64_t b = 0; b < shape.batch; ++b) {
    const int64_t n = lengths ? lengths[b] : L;
    for (int64_t h = 0; h < shape.heads; ++h) {
      const int64_t row = b * shape.heads + h;
      double* num_bh = num + row * L * shape.dv;
      double* den_bh = den + row * L;
      NumDenOneHead(n, shape.dk, shape.dv, q + row * L * shape.dk, k + row * L * shape.dk,
                    v + row * L * shape.dv, g + row * L, options.scale, num_bh, den_bh);
      for (int64_t i = n; i < L; ++i) {  // padding rows
        for (int64_t e = 0; e < shape.dv; ++e) num_bh[i * shape.dv + e] = 0.0;
        den_bh[i] = 0.0;
      }
    }
  }
  return absl::OkStatus();
}

namespace {
void Finish(const AttentionShape& shape, const int64_t* lengths, const AttentionOptions& options,
            const std::vector<double>& num, const std::vector<double>& den, float* out) {
  const int64_t L = shape.length;
  for (int64_t row = 0; row < shape.Rows(); ++row) {
    const int64_t n = lengths ? lengths[row / shape.heads] : L;
    for (int64_t i = 0; i < L; ++i) {
      const int64_t r = row * L + i;
      for (int64_t e = 0; e < shape.dv; ++e) {
        double y = num[r * shape.dv + e];
        if (options.normalize) y /= den[r] + static_cast<double>(options.eps);
        out[r * shape.dv + e] = i < n ? static_cast<float>(y) : 0.0f;
      }
    }
  }
}
}  // namespace

absl::Status LionAttentionReference(const AttentionShape& shape, const float* q, const float* k,
                                    const float* v, const float* g, const int64_t* lengths,
                                    const AttentionOptions& options, float* out) {
  std::vector<double> num(shape.Rows() * shape.length * shape.dv);
  std::vector<double> den(shape.Rows() * shape.length);
  if (absl::Status s =
          LionAttentionNumDenReference(shape, q, k, v, g, lengths, options, num.data(), den.data());
      !s.ok()) {
    return s;
  }
  Finish(shape, lengths, options, num, den, out);
  return absl::OkStatus();
}

absl::Status LionAttentionMultiOrderReference(const AttentionShape& shape, const float* q,
                                              const float* k, const float* v, int num_orders,
                                              const int64_t* const* orders,
                                              const float* const* g_orders,
                                              const AttentionOptions& options, float* out) {
  if (absl::Status s = CheckArgs(shape, nullptr, options); !s.ok()) return s;
  const int64_t L = shape.length, dk = shape.dk, dv = shape.dv;
  for (int m = 0; m < num_orders; ++m) {
    std::vector<bool> seen(L, false);
    for (int64_t p = 0; p < L; ++p) {
      const int64_t t = orders[m][p];
      if (t < 0 || t >= L || seen[t]) {
        return absl::InvalidArgumentError(absl::StrCat("order ", m, " is not a permutation of 0..", L - 1));
      }
      seen[t] = true;
    }
  }
  std::vector<double> num(shape.Rows() * L * dv, 0.0), den(shape.Rows() * L, 0.0);
  std::vector<float> qp(L * dk), kp(L * dk), vp(L * dv);
  std::vector<double> num_p(L * dv), den_p(L);
  for (int64_t row = 0; row < shape.Rows(); ++row) {
    for (int m = 0; m < num_orders; ++m) {
      const int64_t* perm = orders[m];
      for (int64_t p = 0; p < L; ++p) {  // gather into order m's positions
        for (int64_t e = 0; e < dk; ++e) qp[p * dk + e] = q[(row * L + perm[p]) * dk + e];
        for (int64_t e = 0; e < dk; ++e) kp[p * dk + e] = k[(row * L + perm[p]) * dk + e];
        for (int64_t e = 0; e < dv; ++e) vp[p * dv + e] = v[(row * L + perm[p]) * dv + e];
      }
      NumDenOneHead(L, dk, dv, qp.data(), kp.data(), vp.data(), g_orders[m] + row * L,
                    options.scale, num_p.data(), den_p.data());
      for (int64_t p = 0; p < L; ++p) {  // scatter back to token order and add
        const int64_t r = row * L + perm[p];
        for (int64_t e = 0; e < dv; ++e) num[r * dv + e] += num_p[p * dv + e];
        den[r] += den_p[p];
      }
    }
  }
  Finish(shape, nullptr, options, num, den, out);
  return absl::OkStatus();
}

}  // namespace lion::kernels
