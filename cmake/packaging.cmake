# packaging.cmake - what libmcp ships: libmcp.a, libmcp.so, mcp.pc and the CMake package.
#
# The library is built as internal static archives (mcp_base, mcp_json, mcp_rt, mcp_http,
# mcp_http_server, the engine, llhttp) that keep their names so the unit tests can link them and
# reach internals. What is shipped is one object made of all of them (`ld -r`), so that an
# embedder links one library in no particular order:
#   libmcp.a   that object with every global symbol but the public API's made local (objcopy
#              --keep-global-symbols), in an archive; an embedder's own `task_id`, `mcp_buf_init`
#              or `llhttp_init` can never collide with ours.
#   libmcp.so  the same object linked shared with a version script (global: the public API;
#              local: *), a soname of libmcp.so.<major>.
# The public API is read from include/mcp/*.h at configure time (below).
# Targets: mcp::mcp (static) and mcp::shared, the same names from add_subdirectory() and from
# find_package(mcp). See README.md, "Using libmcp from another project".
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MCP_BUNDLED mcp mcp_http_server mcp_http mcp_rt mcp_json mcp_base llhttp_vendor)
set(_mcp_all ${CMAKE_CURRENT_BINARY_DIR}/mcp_all.o)
set(_mcp_local ${CMAKE_CURRENT_BINARY_DIR}/mcp_all_local.o)
set(_mcp_archives)
foreach(t ${MCP_BUNDLED})
  list(APPEND _mcp_archives $<TARGET_FILE:${t}>)
endforeach()
find_program(MCP_OBJCOPY NAMES objcopy ${CMAKE_OBJCOPY})
find_program(MCP_LD NAMES ld ${CMAKE_LINKER})
if(NOT MCP_OBJCOPY OR NOT MCP_LD)
  message(FATAL_ERROR "packaging libmcp needs ld and objcopy (Debian: binutils)")
endif()
# The public API: every mcp_* name followed by "(" in include/mcp/*.h (the functions, and the
# functions that macros of the same family expand to). Only these stay global in libmcp.a and
# are exported by libmcp.so; internal mcp_* helpers (mcp_buf_*, mcp_conn_*, ...) do not.
file(GLOB MCP_PUBLIC_HEADERS ${CMAKE_CURRENT_SOURCE_DIR}/include/mcp/*.h)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${MCP_PUBLIC_HEADERS})
set(MCP_PUBLIC_SYMBOLS "")
foreach(h ${MCP_PUBLIC_HEADERS})
  file(READ ${h} _txt)
  string(REGEX MATCHALL "mcp_[a-z0-9_]+[ \t\n]*[(]" _found "${_txt}")
  list(APPEND MCP_PUBLIC_SYMBOLS ${_found})
endforeach()
list(TRANSFORM MCP_PUBLIC_SYMBOLS REPLACE "[ \t\n]*[(]$" "")
list(REMOVE_DUPLICATES MCP_PUBLIC_SYMBOLS)
list(SORT MCP_PUBLIC_SYMBOLS)
list(JOIN MCP_PUBLIC_SYMBOLS "\n" _keep)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/mcp.keep "${_keep}\n")
list(JOIN MCP_PUBLIC_SYMBOLS ";\n    " _global)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/mcp.map
     "/* libmcp.so exports the public API (include/mcp/*.h) and nothing else. Generated. */\n"
     "{\n  global:\n    ${_global};\n  local: *;\n};\n")

add_custom_command(
  OUTPUT ${_mcp_all} ${_mcp_local}
  COMMAND ${MCP_LD} -r -o ${_mcp_all} --whole-archive ${_mcp_archives} --no-whole-archive
  COMMAND ${MCP_OBJCOPY} --keep-global-symbols=${CMAKE_CURRENT_BINARY_DIR}/mcp.keep ${_mcp_all}
          ${_mcp_local}
  DEPENDS ${MCP_BUNDLED} ${CMAKE_CURRENT_BINARY_DIR}/mcp.keep
  COMMENT "Combining libmcp's archives into one object"
  VERBATIM)
set_source_files_properties(${_mcp_all} ${_mcp_local} PROPERTIES EXTERNAL_OBJECT TRUE
                                                                GENERATED TRUE)

# What a program linking libmcp.a needs besides it (libmcp.so carries these itself).
set(MCP_LINK_DEPS PkgConfig::LIBUV OpenSSL::Crypto PkgConfig::PCRE2 PkgConfig::YAML Threads::Threads m)

add_library(mcp_static STATIC ${_mcp_local})
set_target_properties(mcp_static PROPERTIES OUTPUT_NAME mcp LINKER_LANGUAGE C EXPORT_NAME mcp)
target_include_directories(mcp_static INTERFACE
                           $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(mcp_static INTERFACE ${MCP_LINK_DEPS})

add_library(mcp_shared SHARED ${_mcp_all})
set_target_properties(mcp_shared PROPERTIES
  OUTPUT_NAME mcp LINKER_LANGUAGE C EXPORT_NAME shared
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/mcp.map)
target_link_options(mcp_shared PRIVATE
                    -Wl,--version-script=${CMAKE_CURRENT_BINARY_DIR}/mcp.map)
target_include_directories(mcp_shared INTERFACE
                           $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(mcp_shared PRIVATE ${MCP_LINK_DEPS})

add_library(mcp::mcp ALIAS mcp_static)
add_library(mcp::shared ALIAS mcp_shared)

# --- install: make install PREFIX=... (cmake --install) -------------------------------------------
install(TARGETS mcp_static mcp_shared EXPORT mcpTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/mcp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(EXPORT mcpTargets NAMESPACE mcp:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mcp)
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/mcpConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/mcpConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mcp)
# 0.x: a minor release may break the API (see the ABI policy); 1.x on: same major.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/mcpConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mcpConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/mcpConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mcp)
# mcp.pc is relocatable (prefix from its own place), so an installed tree may be moved.
file(RELATIVE_PATH MCP_PC_UP /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/mcp.pc.in ${CMAKE_CURRENT_BINARY_DIR}/mcp.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mcp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
