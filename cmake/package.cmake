# Debian packages of the install components (make package, in the build directory):
#   libdiffuse0       runtime: the shared library
#   libdiffuse-dev    development: header, .so link, pkg-config file, CMake package, schema
#   diffuse-tools     the CLI, example configs and the feature classifier
# Depends are computed by dpkg-shlibdeps from the binaries; libdiffuse0 ships a shlibs file, so that
# packages built against it depend on it. The bindings install with cmake --install --component <lang>.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME diffuse)
set(CPACK_PACKAGE_VENDOR "diffuse")
set(CPACK_PACKAGE_CONTACT "diffuse maintainers <diffuse@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Diffusion-model training and sampling (EDM2) behind a C ABI")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libdiffuse.so.0 of the tools' CLI is in the runtime package, not yet installed: found in the build
# tree, and the dependency on libdiffuse0 comes from the component dependencies below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libdiffuse${DIFFUSE_ABI_VERSION})
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # a shlibs file for each package with a shared library
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libdiffuse-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME diffuse-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION science)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "diffuse: the shared library (libdiffuse.so.${DIFFUSE_ABI_VERSION})")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION "diffuse: C header, pkg-config file and CMake package")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "diffuse: the command line, example configs and the feature classifier")
set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS runtime)
set(CPACK_COMPONENT_TOOLS_DEPENDS runtime)
include(CPack)
