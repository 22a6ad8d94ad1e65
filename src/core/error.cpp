#include "core/error.h"

#include <cstdio>

namespace suanli::detail {

void append(std::string& out, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    out.append(buf);
}

}  // namespace suanli::detail
