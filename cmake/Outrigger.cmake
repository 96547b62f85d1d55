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
function(outrigger_component)
  cmake_parse_arguments(ARG "" "BLOCK;NAME;REGISTER;HEADER" "SRCS;DEPS" ${ARGN})
  set(target outrigger_component_${ARG_BLOCK}_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC outrigger::sidecar_component_api ${ARG_DEPS})
  set_property(GLOBAL APPEND PROPERTY OUTRIGGER_COMPONENT_TARGETS ${target})
  set_property(GLOBAL APPEND PROPERTY OUTRIGGER_COMPONENT_REGISTRATIONS "${ARG_HEADER}|${ARG_REGISTER}")
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
