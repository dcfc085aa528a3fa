/* nabla.h - the umbrella header: includes every public header of libnabla except nabla/gsl.h
 * (GSL's types: include it where they are wanted).
 *
 * nabla is automatic differentiation for C11: dual-number forward mode and tape-based reverse
 * mode over one op registry (nabla/ops.def). Link with `pkg-config --cflags --libs nabla`.
 */
#ifndef NABLA_H
#define NABLA_H

#include "nabla/version.h"
#include "nabla/status.h"
#include "nabla/ops.h"
#include "nabla/dual.h"
#include "nabla/ctx.h"
#include "nabla/var.h"
#include "nabla/array.h"
#include "nabla/custom.h"
#include "nabla/drivers.h"
#include "nabla/sparse.h"
#include "nabla/taylor.h"
#include "nabla/expr.h"
#include "nabla/plot.h"
#include "nabla/check.h"

#endif /* NABLA_H */
