// Moved to tests/support/loopback_server.hpp (target tern_test_net). This
// forwarder keeps branches written before the move building (the lua
// branch's tests/scripting includes "../tools/loopback_server.hpp"); delete it
// once nothing includes this path.
#pragma once

#include "../support/loopback_server.hpp"
