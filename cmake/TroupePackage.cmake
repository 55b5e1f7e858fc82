# `make package` (cpack -G DEB): troupe_<version>_<arch>.deb, installing to
# /usr what `cmake --install` installs (cmake/TroupeInstall.cmake).
#
# One package, program and SDK together, so that `apt install ./troupe_*.deb`
# gives both: the SDK adds a few headers, the plugin and the CMake files to the
# program, and a module author needs the program to run what they build.
# Depends: the shared libraries of the binaries, as dpkg-shlibdeps finds them
# (CAF, protobuf, Boost.Program_options, libedit, libprotoc), plus what
# troupe_add_module() runs and compiles against (protoc and the protobuf
# headers of the series the SDK was built with). The compiler and CMake are
# Recommends: a node that only runs modules built elsewhere needs neither
# (apt-get install --no-install-recommends).
string(REPLACE "." ";" protobuf_series_parts "${TROUPE_PROTOBUF_SERIES}")
list(GET protobuf_series_parts 0 protobuf_major)
list(GET protobuf_series_parts 1 protobuf_minor)
math(EXPR protobuf_next_minor "${protobuf_minor} + 1")
set(protobuf_range_low "${TROUPE_PROTOBUF_SERIES}")
set(protobuf_range_high "${protobuf_major}.${protobuf_next_minor}~")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME troupe)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "Troupe maintainers <maintainers@users.noreply.r-seed-d779c293.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "actor-model runtime that hosts microservices as actors, with its module SDK")
set(CPACK_PACKAGE_DESCRIPTION
  "Troupe runs services described in .proto files and implemented in C++ as
actors (stateless instances, or virtual actors with one activation per key),
supervises them and serves them over HTTP/JSON. This package holds the
`troupe` program (node, gateway, admin shell) and the SDK for building modules
with CMake: find_package(Troupe) and troupe_add_module().")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libtroupe_sdk.so.N is a public library: other packages' modules depend on it.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libprotobuf-dev (>= ${protobuf_range_low}), libprotobuf-dev (<< ${protobuf_range_high}), protobuf-compiler (>= ${protobuf_range_low}), protobuf-compiler (<< ${protobuf_range_high})")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake (>= 3.25), g++")

include(CPack)
