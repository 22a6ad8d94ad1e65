# cmake -DINPUT=file -DOUTPUT=file.cpp -DNAMESPACE=ns -DFUNCTION=name -P embed.cmake
# Writes a C++ source defining `std::string_view NAMESPACE::FUNCTION()` that returns the bytes of
# INPUT. Plain CMake (file(READ ... HEX)), so the build needs no xxd.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# A line break every 16 bytes (32 hex digits; CMake regexes have no {n}), then "0x..," per byte.
string(REGEX REPLACE "(................................)" "\\1\n    " hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${INPUT} by embed.cmake; do not edit.
#include <string_view>

namespace ${NAMESPACE} {
namespace {
// One extra 0 byte so the array is never empty; not part of the view.
const unsigned char kBytes[] = {
    ${bytes}0x00};
}  // namespace

std::string_view ${FUNCTION}() {
    return std::string_view(reinterpret_cast<const char*>(kBytes), ${size});
}

}  // namespace ${NAMESPACE}
")
# Only touch OUTPUT when it changes, so an unchanged page recompiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
