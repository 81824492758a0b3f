# What `cmake --install` writes, by component, and how the installed files find each other. Every
# run path is relative to the file ($ORIGIN), and the pkg-config file computes its prefix from its own
# place, so an installed tree works wherever it is copied (tests/install_tree.sh checks it).
#
#   runtime      libdiffuse.so.<ABI>
#   development  diffuse.h, libdiffuse.so, diffuse.pc, the CMake package, the config schema
#   tools        the diffuse CLI, the example configs, the Fashion-MNIST feature classifier
#   java, csharp, go, rust   each binding (bindings/<lang>/CMakeLists.txt)

set(DIFFUSE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/diffuse)
set(DIFFUSE_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/diffuse)

# $ORIGIN-relative run path from an installed directory to libdir, e.g. "$ORIGIN/../lib".
function(diffuse_rpath_to_libdir out from_dir)
  file(RELATIVE_PATH rel "${CMAKE_INSTALL_PREFIX}/${from_dir}" "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
  if(rel STREQUAL "")
    set(${out} "$ORIGIN" PARENT_SCOPE)
  else()
    set(${out} "$ORIGIN/${rel}" PARENT_SCOPE)
  endif()
endfunction()

# libdiffuse finds the libraries beside it, and a LibTorch outside the system's directories (a PyTorch
# wheel) where the build found it.
set(DIFFUSE_LIBRARY_RPATH "$ORIGIN")
if(NOT DIFFUSE_SYSTEM_TORCH)
  list(APPEND DIFFUSE_LIBRARY_RPATH "${DIFFUSE_TORCH_LIB_DIR}")
endif()
set_target_properties(diffuse PROPERTIES INSTALL_RPATH "${DIFFUSE_LIBRARY_RPATH}")
diffuse_rpath_to_libdir(_cli_rpath ${CMAKE_INSTALL_BINDIR})
set_target_properties(diffuse_cli PROPERTIES INSTALL_RPATH "${_cli_rpath}")

install(TARGETS diffuse EXPORT diffuseTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_SKIP
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)
install(TARGETS diffuse LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development NAMELINK_ONLY)
install(TARGETS diffuse_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)

# pkg-config: the prefix is the .pc file's directory, walked up to the install prefix.
file(RELATIVE_PATH DIFFUSE_PC_TO_PREFIX "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
     "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" DIFFUSE_PC_TO_PREFIX "${DIFFUSE_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/pkgconfig/diffuse.pc.in ${PROJECT_BINARY_DIR}/diffuse.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/diffuse.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# The CMake package: find_package(diffuse CONFIG) + target diffuse::diffuse, from an install prefix
# or from this build tree.
include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/diffuseConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/diffuseConfig.cmake
                              INSTALL_DESTINATION ${DIFFUSE_INSTALL_CMAKEDIR})
# Versions 0.x promise compatibility within one minor version (the ABI policy in README).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/diffuseConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(EXPORT diffuseTargets NAMESPACE diffuse:: DESTINATION ${DIFFUSE_INSTALL_CMAKEDIR} COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/cmake/diffuseConfig.cmake ${PROJECT_BINARY_DIR}/cmake/diffuseConfigVersion.cmake
        DESTINATION ${DIFFUSE_INSTALL_CMAKEDIR} COMPONENT development)
export(EXPORT diffuseTargets NAMESPACE diffuse:: FILE ${PROJECT_BINARY_DIR}/cmake/diffuseTargets.cmake)

install(FILES ${PROJECT_SOURCE_DIR}/schemas/diffuse/v1/diffuse.proto
        DESTINATION ${DIFFUSE_INSTALL_DATADIR}/schemas/diffuse/v1 COMPONENT development)

file(GLOB _configs ${PROJECT_SOURCE_DIR}/samples/configs/*.textproto ${PROJECT_SOURCE_DIR}/samples/configs/README.md)
install(FILES ${_configs} DESTINATION ${DIFFUSE_INSTALL_DATADIR}/configs COMPONENT tools)
install(FILES ${PROJECT_SOURCE_DIR}/samples/eval/fashion-mnist.textproto DESTINATION ${DIFFUSE_INSTALL_DATADIR}/eval
        COMPONENT tools)
install(FILES ${PROJECT_SOURCE_DIR}/metrics/fashion-mnist-classifier.safetensors ${PROJECT_SOURCE_DIR}/metrics/README.md
        DESTINATION ${DIFFUSE_INSTALL_DATADIR}/metrics COMPONENT tools)
