/* The one SWIG interface of diffuse: Java, C# and Go wrappers of capi/diffuse.h and of the C++ facade
 * in facade/ (objects owning the handles, arrays for pointer + length pairs, a Status per call).
 * Every function, enum and constant of the header is wrapped as it is (%include below), so entry
 * points added to the header appear in the raw layer without changes here; the idiomatic layer of
 * each language (java/, csharp/, go/) is written over the facade.
 *
 *   swig -c++ -java   -package org.diffuse.swig -I<repo>/capi -I<repo>/bindings bindings/diffuse.i
 *   swig -c++ -csharp -namespace Diffuse.Native -dllimport diffuse_csharp ...
 *   swig -c++ -go     -package native -cgo -intgosize 64 ...
 */
%module DiffuseNative

%{
#include "diffuse.h"
#include "facade/facade.hpp"
%}

/* LP64 (Linux, macOS): int64_t is `long`, as the C++ compiler sees it; every language maps `long` to
 * its 64-bit integer (SWIG's own default for `long` is 32 bits in Java and C#). */
#define SWIGWORDSIZE64
%include <stdint.i>
%apply long long { long };
%apply unsigned long long { unsigned long };
%apply const long long & { const long & };
%apply const unsigned long long & { const unsigned long & };
%include <std_string.i>
%include <exception.i>

#if defined(SWIGJAVA)
%include "swig/java.i"
#elif defined(SWIGCSHARP)
%include "swig/csharp.i"
#elif defined(SWIGGO)
%include "swig/go.i"
#endif

/* The facade reports failures through Status; only allocation failures can throw. */
%exception {
  try {
    $action
  } catch (const std::exception& e) {
    SWIG_exception(SWIG_RuntimeError, e.what());
  }
}

/* The raw C API. Library-owned buffers are released by diffuse_buffer_free, never by a proxy. */
%nodefaultdtor diffuse_buffer;
%include "diffuse.h"

/* The facade. */
%include "facade/arrays.hpp"
%include "facade/status.hpp"
%include "facade/images.hpp"
%include "facade/trainer.hpp"
%include "facade/model.hpp"
%include "facade/sampler.hpp"
%include "facade/functions.hpp"
%include "facade/log_queue.hpp"
%include "facade/metrics.hpp"
