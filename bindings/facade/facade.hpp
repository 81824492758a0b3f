// A header-only C++ layer over diffuse.h for the SWIG bindings: objects that own the C handles, the
// facade's array types instead of pointer + length pairs, and a Status per call. It is compiled into
// each language's glue library, never into libdiffuse.so: the C header stays the only contract.
#pragma once

#include "arrays.hpp"
#include "functions.hpp"
#include "images.hpp"
#include "log_queue.hpp"
#include "metrics.hpp"
#include "model.hpp"
#include "sampler.hpp"
#include "status.hpp"
#include "trainer.hpp"
