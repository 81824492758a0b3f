# LibTorch's headers are most of the compile time of every source that uses them (block.cpp on 2.11:
# 12.9 s, of which 8.5 s are ATen/ATen.h and torch/nn/module.h); parsed once into a precompiled header
# they cost a fraction of a second per source. One header set per kind of object code: the libraries'
# PIC one is made by diffuse_torch_headers below, with only the definitions that every library has (a
# definition in the header set that a source lacks makes the compiler ignore the set); the executables'
# PIE one by a test executable. -Winvalid-pch, with -Werror, fails a build whose flags would make the
# compiler ignore a header set, so that one cannot silently lose it.

set(DIFFUSE_PRECOMPILED_TORCH_HEADERS <ATen/ATen.h> <torch/nn/module.h>)

if(DIFFUSE_PRECOMPILED_HEADERS)
  set(_empty ${CMAKE_CURRENT_BINARY_DIR}/diffuse_torch_headers.cpp)
  file(CONFIGURE OUTPUT ${_empty} CONTENT "// the precompiled LibTorch headers' own source (cmake/precompiled_headers.cmake)\n")
  add_library(diffuse_torch_headers OBJECT ${_empty})
  target_link_libraries(diffuse_torch_headers PRIVATE diffuse_torch fmt::fmt)
  target_precompile_headers(diffuse_torch_headers PRIVATE ${DIFFUSE_PRECOMPILED_TORCH_HEADERS})
endif()

# diffuse_precompile_torch_headers(TARGET [REUSE_FROM OTHER]): TARGET compiles with OTHER's header set
# (default: the libraries'), or makes its own when OTHER is TARGET.
function(diffuse_precompile_torch_headers target)
  if(NOT DIFFUSE_PRECOMPILED_HEADERS)
    return()
  endif()
  cmake_parse_arguments(P "" "REUSE_FROM" "" ${ARGN})
  if(NOT P_REUSE_FROM)
    set(P_REUSE_FROM diffuse_torch_headers)
  endif()
  if(target STREQUAL P_REUSE_FROM)
    target_precompile_headers(${target} PRIVATE ${DIFFUSE_PRECOMPILED_TORCH_HEADERS})
  else()
    target_precompile_headers(${target} REUSE_FROM ${P_REUSE_FROM})
  endif()
endfunction()
