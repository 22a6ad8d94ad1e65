// The web chat page, compiled into the binary: `suanli serve` answers GET / with it.
// The bytes come from src/server/web/index.html, turned into a C++ array at build time
// (embed.cmake), so editing the page and rebuilding is all it takes.
#pragma once

#include <string_view>

namespace suanli::web {

// The page's HTML (UTF-8), valid for the life of the program.
std::string_view index_html();

}  // namespace suanli::web
