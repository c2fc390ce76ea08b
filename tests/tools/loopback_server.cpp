// Moved to tests/support/loopback_server.cpp (target tern_test_net). Kept, as
// one translation unit that compiles the real file, for branches written
// before the move that list this path as a source (the lua branch's
// tests/scripting/CMakeLists.txt); delete it once nothing lists it. Not
// compiled into any suite here (suites glob *_test.cpp only).
#include "../support/loopback_server.cpp"
