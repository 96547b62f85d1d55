# Helpers in the manner of abseil's absl_cc_library: outrigger_cc_library(NAME x ...) makes the
# target outrigger_x with the alias outrigger::x.
function(outrigger_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(outrigger_${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(outrigger_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(outrigger_${ARG_NAME} PUBLIC ${ARG_DEPS})
  add_library(outrigger::${ARG_NAME} ALIAS outrigger_${ARG_NAME})
endfunction()

# A component folder calls this; the sidecar links every component registered so, and a generated
# file calls each REGISTER function, so adding a component needs one add_subdirectory line only.
# MODULE (with TYPES, the spec.type names it provides) builds it as a plugin loaded on first use:
# for components whose client libraries are heavy, so that a sidecar that does not use them does
# not pay their resident memory and start-up time.
function(outrigger_component)
  cmake_parse_arguments(ARG "MODULE" "BLOCK;NAME;REGISTER;HEADER" "SRCS;DEPS;TYPES" ${ARGN})
  set(target outrigger_component_${ARG_BLOCK}_${ARG_NAME})
  if(ARG_MODULE)
    set(entry ${CMAKE_CURRENT_BINARY_DIR}/${target}_entry.cc)
    file(CONFIGURE OUTPUT ${entry} CONTENT
"// Generated: the plugin's entry point, called when its first component is created.
#include \"${ARG_HEADER}\"
extern \"C\" void outrigger_register_module(outrigger::sidecar::runtime::Registry& registry) {
  ${ARG_REGISTER}(registry);
}
")
    add_library(${target} MODULE ${ARG_SRCS} ${entry})
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR})
    # Symbols of the sidecar itself (Status, Properties, ...) resolve against the executable.
    target_link_libraries(${target} PRIVATE ${ARG_DEPS})
    target_include_directories(${target} PRIVATE
      $<TARGET_PROPERTY:outrigger::sidecar_component_api,INTERFACE_INCLUDE_DIRECTORIES>)
    set_target_properties(${target} PROPERTIES PREFIX ""
      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib/outrigger)
    string(REPLACE ";" "," types "${ARG_TYPES}")
    set_property(GLOBAL APPEND PROPERTY OUTRIGGER_COMPONENT_MODULES
      "${ARG_BLOCK}|${types}|${target}")
    set_property(GLOBAL APPEND PROPERTY OUTRIGGER_COMPONENT_MODULE_TARGETS ${target})
    return()
  endif()
  add_library(${target} STATIC ${ARG_SRCS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC outrigger::sidecar_component_api ${ARG_DEPS})
  set_property(GLOBAL APPEND PROPERTY OUTRIGGER_COMPONENT_TARGETS ${target})
  set_property(GLOBAL APPEND PROPERTY OUTRIGGER_COMPONENT_REGISTRATIONS "${ARG_HEADER}|${ARG_REGISTER}")
endfunction()

# An executable that may load component plugins: it exports its symbols, and carries the whole of
# the libraries plugins call into (not only the parts it uses itself).
function(outrigger_enable_component_modules target)
  set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
  set(whole outrigger_sidecar_component_api outrigger_status outrigger_logging outrigger_json)
  set(items "-Wl,--whole-archive")
  foreach(lib ${whole})
    list(APPEND items $<TARGET_FILE:${lib}>)
  endforeach()
  list(APPEND items "-Wl,--no-whole-archive")
  target_link_libraries(${target} PRIVATE ${items} ${CMAKE_DL_LIBS})
  add_dependencies(${target} ${whole})
  get_property(modules GLOBAL PROPERTY OUTRIGGER_COMPONENT_MODULE_TARGETS)
  if(modules)
    add_dependencies(${target} ${modules})
  endif()
endfunction()

# outrigger_cc_test(NAME x SRCS ... DEPS ... [LABELS unit]) builds and registers a GoogleTest binary.
function(outrigger_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
