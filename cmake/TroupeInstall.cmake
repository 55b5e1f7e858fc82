# What `cmake --install <build> [--prefix P]` puts under P, in two components:
#
#   runtime  bin/troupe, lib/libtroupe_sdk.so.<sdk_abi>: enough to run a node
#            (the container image installs only this)
#   sdk      include/troupe/*.hpp, include/troupe/options.{proto,pb.h},
#            bin/protoc-gen-troupe, lib/libtroupe_sdk.so (the link-time name),
#            lib/cmake/Troupe/: what a module author's project needs for
#            find_package(Troupe) and troupe_add_module()
#
# Without --component both are installed; the .deb holds both.
include(CMakePackageConfigHelpers)

set(TROUPE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Troupe")

# The node finds the SDK library next to it under any prefix: bin/../lib.
# Modules need no search path of their own: the node has loaded the library
# (same soname) before it opens them.
file(RELATIVE_PATH troupe_bin_to_lib
  "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}"
  "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}")
set_target_properties(troupe PROPERTIES INSTALL_RPATH "$ORIGIN/${troupe_bin_to_lib}")

install(TARGETS troupe EXPORT TroupeTargets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
install(TARGETS troupe_sdk EXPORT TroupeTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime
          NAMELINK_COMPONENT sdk)
install(TARGETS protoc-gen-troupe EXPORT TroupeTargets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT sdk)

# The SDK headers, and the generated header of troupe/options.proto that a
# module's generated code includes; options.proto itself beside them, so that
# the include dir is also the import root (as libprotobuf-dev does for
# google/protobuf/*.proto).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/actors/include/troupe"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT sdk
  FILES_MATCHING PATTERN "*.hpp")
install(FILES
    "${TROUPE_PROTO_OUT}/troupe/options.pb.h"
    "${TROUPE_PROTO_DIR}/troupe/options.proto"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/troupe" COMPONENT sdk)

# The CMake package: Troupe::sdk, Troupe::protoc-gen-troupe and Troupe::troupe
# (the program, e.g. for a module's own tests), the function
# troupe_add_module() and TROUPE_PROTO_DIR.
install(EXPORT TroupeTargets NAMESPACE Troupe::
  DESTINATION "${TROUPE_CMAKE_DIR}" COMPONENT sdk)
get_target_property(TROUPE_SDK_ABI troupe_sdk SOVERSION)
string(REGEX MATCH "^[0-9]+\\.[0-9]+" TROUPE_PROTOBUF_SERIES "${Protobuf_VERSION}")
string(REPLACE "." "\\\\." TROUPE_PROTOBUF_SERIES_REGEX "${TROUPE_PROTOBUF_SERIES}.")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/TroupeConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/TroupeConfig.cmake"
  INSTALL_DESTINATION "${TROUPE_CMAKE_DIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# Compatibility: actors/README.md, "Versions". While the major version is 0,
# every release that changes the SDK ABI (sdk_abi_version) raises the minor
# version, so a request for 0.1 accepts exactly the 0.1.x releases.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/TroupeConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
    "${PROJECT_BINARY_DIR}/cmake/TroupeConfig.cmake"
    "${PROJECT_BINARY_DIR}/cmake/TroupeConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/actors/cmake/TroupeModule.cmake"
  DESTINATION "${TROUPE_CMAKE_DIR}" COMPONENT sdk)
