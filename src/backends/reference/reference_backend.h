// The reference backend: plain loops, the oracle every other backend is checked against.
#pragma once

#include "suanli/backend.h"

namespace suanli {

const sl_backend& reference_backend();

}  // namespace suanli
