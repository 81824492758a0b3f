# libzip (zip.h, libzip.so) as the imported target diffuse::libzip. Found by path, with pkg-config's
# answer as a hint where pkg-config exists: Debian's libzip CMake package names tools (zipcmp, ...)
# that libzip-dev does not install, so find_package(libzip) fails there, and a machine may lack
# pkg-config. LIBZIP_INCLUDE_DIR and LIBZIP_LIBRARY override (or CMAKE_PREFIX_PATH=<libzip prefix>).
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_LIBZIP QUIET libzip)
endif()
find_path(LIBZIP_INCLUDE_DIR zip.h HINTS ${PC_LIBZIP_INCLUDE_DIRS})
find_library(LIBZIP_LIBRARY zip HINTS ${PC_LIBZIP_LIBRARY_DIRS})
if(NOT EXISTS "${LIBZIP_INCLUDE_DIR}/zip.h" OR NOT EXISTS "${LIBZIP_INCLUDE_DIR}/zipconf.h" OR NOT EXISTS "${LIBZIP_LIBRARY}")
  message(FATAL_ERROR "libzip not found (zip.h and zipconf.h in ${LIBZIP_INCLUDE_DIR}, library ${LIBZIP_LIBRARY}): "
                      "install libzip-dev (scripts/setup-deps), or set LIBZIP_INCLUDE_DIR and LIBZIP_LIBRARY")
endif()
# zipconf.h says which version the header is; the reader needs libzip 1.x's error API.
file(STRINGS "${LIBZIP_INCLUDE_DIR}/zipconf.h" libzip_version_line REGEX "^#define LIBZIP_VERSION \"")
string(REGEX REPLACE "^#define LIBZIP_VERSION \"([^\"]*)\".*" "\\1" LIBZIP_VERSION "${libzip_version_line}")
if(LIBZIP_VERSION VERSION_LESS 1.0)
  message(FATAL_ERROR "libzip ${LIBZIP_VERSION} at ${LIBZIP_INCLUDE_DIR}: diffuse needs 1.0 or newer")
endif()
message(STATUS "libzip ${LIBZIP_VERSION}: ${LIBZIP_LIBRARY}")
add_library(diffuse::libzip UNKNOWN IMPORTED)
set_target_properties(diffuse::libzip PROPERTIES IMPORTED_LOCATION "${LIBZIP_LIBRARY}"
                                                 INTERFACE_INCLUDE_DIRECTORIES "${LIBZIP_INCLUDE_DIR}")
