# troupe_add_module: builds a Troupe module (a shared library a node loads
# with `troupe node --module PATH`) from .proto files and C++ sources.
#
#   troupe_add_module(<name>
#     [PROTOS <file.proto>...]     # services and messages of the module
#     [SOURCES <file.cpp>...]      # the classes implementing the services
#     [PROTO_ROOT <dir>]           # import root of PROTOS; default: the
#                                  # current source dir
#     [IMPORT_DIRS <dir>...])      # further protoc import roots
#
# For each PROTOS file, protoc runs with --cpp_out and protoc-gen-troupe
# (--troupe_out), writing <base>.pb.{h,cc} and <base>.troupe.{h,cc} into
# ${CMAKE_CURRENT_BINARY_DIR}/<name>.troupe_gen/, where <base> is the path of the
# file below PROTO_ROOT without ".proto"; sources include "<base>.troupe.h".
# Import roots: PROTO_ROOT, IMPORT_DIRS and ${TROUPE_PROTO_DIR} (for
# `import "troupe/options.proto"`); google/protobuf/*.proto come with protoc.
#
# The result is a SHARED library target <name>, written as lib<name>.so into
# the target's LIBRARY_OUTPUT_DIRECTORY (set CMAKE_LIBRARY_OUTPUT_DIRECTORY
# before the call to choose it; default: the current binary dir). It links
# Troupe::sdk, which holds the one copy of troupe/options.pb.cc in a process (a
# module must never compile it: protobuf aborts when a .proto is registered
# twice; for the same reason two modules loaded into one node may not compile
# the same .proto). Symbols are hidden except the entry point that
# TROUPE_MODULE exports. Add more with target_link_libraries(<name> ...).
#
# Needs the targets Troupe::sdk, Troupe::protoc-gen-troupe and
# protobuf::protoc, and the variable TROUPE_PROTO_DIR (the import root holding
# troupe/options.proto). A module author's project gets all of them, and this
# function, from find_package(Troupe) (cmake/TroupeConfig.cmake.in); inside the
# Troupe tree they are aliases of the targets being built.
function(troupe_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PROTO_ROOT" "PROTOS;SOURCES;IMPORT_DIRS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "troupe_add_module(${name}): unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_PROTOS AND NOT arg_SOURCES)
    message(FATAL_ERROR "troupe_add_module(${name}): give PROTOS and/or SOURCES")
  endif()
  foreach(needed IN ITEMS Troupe::sdk Troupe::protoc-gen-troupe protobuf::protoc)
    if(NOT TARGET ${needed})
      message(FATAL_ERROR "troupe_add_module(${name}): no target ${needed}; call find_package(Troupe) first")
    endif()
  endforeach()
  if(NOT TROUPE_PROTO_DIR OR NOT EXISTS "${TROUPE_PROTO_DIR}/troupe/options.proto")
    message(FATAL_ERROR "troupe_add_module(${name}): TROUPE_PROTO_DIR ('${TROUPE_PROTO_DIR}') does not hold troupe/options.proto")
  endif()

  set(proto_root "${CMAKE_CURRENT_SOURCE_DIR}")
  if(arg_PROTO_ROOT)
    get_filename_component(proto_root "${arg_PROTO_ROOT}" ABSOLUTE)
  endif()
  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/${name}.troupe_gen")
  set(import_flags -I "${proto_root}")
  foreach(dir IN LISTS arg_IMPORT_DIRS)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND import_flags -I "${dir}")
  endforeach()
  list(APPEND import_flags -I "${TROUPE_PROTO_DIR}")

  set(generated)
  foreach(proto IN LISTS arg_PROTOS)
    get_filename_component(proto "${proto}" ABSOLUTE)
    file(RELATIVE_PATH relative "${proto_root}" "${proto}")
    if(relative MATCHES "^\\.\\./" OR NOT relative MATCHES "\\.proto$")
      message(FATAL_ERROR "troupe_add_module(${name}): ${proto} is not a .proto file below PROTO_ROOT ${proto_root}")
    endif()
    string(REGEX REPLACE "\\.proto$" "" base "${relative}")
    set(outputs
      "${gen_dir}/${base}.pb.cc" "${gen_dir}/${base}.pb.h"
      "${gen_dir}/${base}.troupe.cc" "${gen_dir}/${base}.troupe.h")
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${gen_dir}"
      COMMAND protobuf::protoc
              "--plugin=protoc-gen-troupe=$<TARGET_FILE:Troupe::protoc-gen-troupe>"
              "--cpp_out=${gen_dir}" "--troupe_out=${gen_dir}"
              ${import_flags} "${proto}"
      DEPENDS "${proto}" "${TROUPE_PROTO_DIR}/troupe/options.proto"
              protobuf::protoc Troupe::protoc-gen-troupe
      COMMENT "protoc-gen-troupe ${relative} (module ${name})"
      VERBATIM)
    list(APPEND generated "${gen_dir}/${base}.pb.cc" "${gen_dir}/${base}.troupe.cc")
  endforeach()

  add_library(${name} SHARED ${arg_SOURCES} ${generated})
  target_include_directories(${name} PRIVATE "${gen_dir}")
  target_link_libraries(${name} PRIVATE Troupe::sdk)
  # A symbol missing from the module fails its link, not the node's dlopen.
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  set_target_properties(${name} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()
