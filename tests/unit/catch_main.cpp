// The one Catch2 main for test executables linked against Catch2::Catch2 (header-only). Do not
// link it together with Catch2::Catch2WithMain, which brings its own main.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
