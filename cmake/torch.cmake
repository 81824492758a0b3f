# Finds LibTorch and makes sure that all of its libraries come from one installation.
#
# TorchConfig.cmake looks for libtorch.so and libc10.so with find_library(... PATHS <prefix>/lib), and
# CMake searches PATHS only after the system's directories, while libtorch_cpu.so and libtorch_cuda.so
# come from the imported targets of the same config. With Debian's libtorch-dev installed, configuring
# against a PyTorch wheel therefore linked Debian's libtorch.so.1.13 and libc10.so.1.13 beside the
# wheel's libtorch_cpu.so and libc10.so: two LibTorch runtimes in one process (two c10 allocators,
# dispatchers and dtype tables), which crashed the first test that made a tensor.
# Putting the config's own prefix first on CMAKE_PREFIX_PATH while Torch is found makes its lib/ win;
# the check below refuses, at configure time, any mix that would still get through.
# The wheel also carries protoc 3.13 and its headers; our configs use the system's protobuf (protoc,
# headers and libprotobuf of one release), so the caller finds Protobuf before including this file.

set(_diffuse_saved_prefix_path "${CMAKE_PREFIX_PATH}")
set(_diffuse_torch_dirs ${Torch_DIR})
foreach(_entry IN LISTS CMAKE_PREFIX_PATH)
  list(APPEND _diffuse_torch_dirs "${_entry}/Torch" "${_entry}/share/cmake/Torch")
endforeach()
foreach(_dir IN LISTS _diffuse_torch_dirs)
  if(EXISTS "${_dir}/TorchConfig.cmake")
    get_filename_component(_prefix "${_dir}/../../.." ABSOLUTE)
    list(PREPEND CMAKE_PREFIX_PATH "${_prefix}")
    break()
  endif()
endforeach()

find_package(Torch REQUIRED)
set(CMAKE_PREFIX_PATH "${_diffuse_saved_prefix_path}")

# The directory of every LibTorch library the build links.
set(_diffuse_torch_files ${TORCH_LIBRARY} ${c10_LIBRARY} ${C10_CUDA_LIBRARY})
foreach(_target torch torch_cpu torch_cuda c10 c10_cuda)
  if(TARGET ${_target})
    foreach(_property IMPORTED_LOCATION IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO)
      get_target_property(_location ${_target} ${_property})
      if(_location)
        list(APPEND _diffuse_torch_files "${_location}")
      endif()
    endforeach()
  endif()
endforeach()
set(_diffuse_torch_lib_dir)
foreach(_file IN LISTS _diffuse_torch_files)
  get_filename_component(_real "${_file}" REALPATH)
  get_filename_component(_dir "${_real}" DIRECTORY)
  if(NOT _diffuse_torch_lib_dir)
    set(_diffuse_torch_lib_dir "${_dir}")
  elseif(NOT _dir STREQUAL _diffuse_torch_lib_dir)
    message(FATAL_ERROR "LibTorch libraries from two installations: ${_real} beside ${_diffuse_torch_lib_dir} "
            "(from ${Torch_DIR}). Configure in a fresh build directory with "
            "-DCMAKE_PREFIX_PATH=<the prefix of one LibTorch>.")
  endif()
endforeach()
set(DIFFUSE_TORCH_LIB_DIR "${_diffuse_torch_lib_dir}")
# A LibTorch in the system's library directories (Debian's): the line that Debian packages, the ABI
# baseline and the tests of code that is ours alone (tests/CMakeLists.txt) are made on; a LibTorch
# elsewhere (a PyTorch wheel) is reached through an RPATH (cmake/install.cmake).
set(DIFFUSE_SYSTEM_TORCH OFF)
if(DIFFUSE_TORCH_LIB_DIR IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  set(DIFFUSE_SYSTEM_TORCH ON)
endif()

# What our targets link instead of `torch`: LibTorch, with libstdc++ ahead of it in every binary.
# The PyTorch wheel's libtorch.so, libtorch_cpu.so and libc10.so export unversioned copies of about
# 160 libstdc++ functions (std::filesystem, string streams; linked in from the toolchain they were built
# with), and ld.so lets an unversioned definition satisfy a versioned reference. Wherever a LibTorch
# library comes before libstdc++.so.6 in the lookup order, our calls (and libstdc++'s own internal
# calls) bind to those copies; on Debian 12 the copy of std::filesystem::remove_all then calls a weak
# libstdc++ function that this libstdc++ lacks, through a null pointer (the segfault of
# SafetensorsTest.RoundTripsEveryDtype). Naming libstdc++ as the first DT_NEEDED entry of every binary
# puts it before LibTorch in the lookup order, so every libstdc++ symbol resolves to libstdc++ itself;
# tests/check_bindings.sh verifies that for each binary the tests run.
add_library(diffuse_torch INTERFACE)
target_link_libraries(diffuse_torch INTERFACE torch)
target_link_options(diffuse_torch INTERFACE "LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")
