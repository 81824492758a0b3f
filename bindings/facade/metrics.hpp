// The metrics of diffuse.h (validation loss, evaluation) in the facade's types.
#pragma once

#include <string>

#include "arrays.hpp"
#include "diffuse.h"
#include "images.hpp"
#include "model.hpp"
#include "status.hpp"

namespace diffuse_binding {

// diffuse_validation_loss: the loss at each of DIFFUSE_VALIDATION_SIGMAS fixed noise levels and their mean.
// (A class of accessors: SWIG would hand out vector members as pointers, outside the array typemaps.)
class ValidationLoss {
 public:
  Doubles sigmas() const { return sigmas_; }
  Doubles losses() const { return losses_; }
  double mean() const { return mean_; }

#ifndef SWIG
  Doubles sigmas_, losses_;
  double mean_ = 0;
#endif
};

inline ValidationLoss validation_loss(const Model& model, const Images& images, int64_t seed, Status& status) {
  ValidationLoss out;
  diffuse_images view;
  if (!images.view(view, status)) return out;
  out.sigmas_.assign(DIFFUSE_VALIDATION_SIGMAS, 0.0);
  out.losses_.assign(DIFFUSE_VALIDATION_SIGMAS, 0.0);
  if (!status.record(diffuse_validation_loss(model.handle(), &view, static_cast<uint64_t>(seed), out.sigmas_.data(),
                                             out.losses_.data(), &out.mean_))) {
    return ValidationLoss();
  }
  return out;
}

// diffuse_eval_result without its size field.
struct EvalResult {
  int64_t num_images = 0;
  double fd_cls = 0;
  double kid_cls = 0;
  double precision = 0;
  double recall = 0;
  double swd = 0;
  double validation_loss = 0;
};

// Samples and measures `model` against the real images of an EvalConfig (`config` in `format`).
inline EvalResult evaluate(const Model& model, const Bytes& config, int format, Status& status) {
  diffuse_eval_result result{};
  result.size = sizeof result;
  EvalResult out;
  if (!status.record(diffuse_evaluate(model.handle(), config.empty() ? nullptr : config.data(), config.size(),
                                      static_cast<diffuse_format>(format), &result))) {
    return out;
  }
  out.num_images = result.num_images;
  out.fd_cls = result.fd_cls;
  out.kid_cls = result.kid_cls;
  out.precision = result.precision;
  out.recall = result.recall;
  out.swd = result.swd;
  out.validation_loss = result.validation_loss;
  return out;
}

}  // namespace diffuse_binding
