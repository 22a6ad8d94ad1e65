#include "conformance/cases.h"

#include <cctype>
#include <cstdio>

namespace suanli::conformance {
namespace {

const OpCases kOps[] = {
    {"get_rows", SL_OP_GET_ROWS, get_rows_cases},
    {"mul_mat", SL_OP_MUL_MAT, mul_mat_cases},
    {"add", SL_OP_ADD, add_cases},
    {"mul", SL_OP_MUL, mul_cases},
    {"scale", SL_OP_SCALE, scale_cases},
    {"rms_norm", SL_OP_RMS_NORM, rms_norm_cases},
    {"rope", SL_OP_ROPE, rope_cases},
    {"silu", SL_OP_SILU, silu_cases},
    {"attention", SL_OP_ATTENTION, attention_cases},
    {"copy", SL_OP_COPY, copy_cases},
};

}  // namespace

std::span<const OpCases> all_op_cases() { return kOps; }

const OpCases* find_op_cases(std::string_view op) {
    for (const OpCases& o : kOps)
        if (o.op == op) return &o;
    return nullptr;
}

std::string lower_name(DType type) {
    std::string s(dtype_name(type));
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string shape_text(const Shape& s) {
    int dims = 4;
    while (dims > 1 && s.ne[dims - 1] == 1) --dims;
    std::string out = "[";
    for (int i = 0; i < dims; ++i) out += (i ? ", " : "") + std::to_string(s.ne[i]);
    return out + "]";
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace suanli::conformance
