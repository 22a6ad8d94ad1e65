#include "core/dtype.h"

#include <array>
#include <stdexcept>

namespace suanli {
namespace {

struct Entry {
    DType type;
    DTypeTraits traits;
};

// Block layouts as in the GGUF specification (ggml-common.h).
constexpr std::array kTypes{
    Entry{DType::F32, {"F32", 1, 4}},       Entry{DType::F16, {"F16", 1, 2}},
    Entry{DType::Q4_0, {"Q4_0", 32, 18}},   Entry{DType::Q4_1, {"Q4_1", 32, 20}},
    Entry{DType::Q5_0, {"Q5_0", 32, 22}},   Entry{DType::Q5_1, {"Q5_1", 32, 24}},
    Entry{DType::Q8_0, {"Q8_0", 32, 34}},   Entry{DType::Q8_1, {"Q8_1", 32, 36}},
    Entry{DType::Q2_K, {"Q2_K", 256, 84}},  Entry{DType::Q3_K, {"Q3_K", 256, 110}},
    Entry{DType::Q4_K, {"Q4_K", 256, 144}}, Entry{DType::Q5_K, {"Q5_K", 256, 176}},
    Entry{DType::Q6_K, {"Q6_K", 256, 210}}, Entry{DType::Q8_K, {"Q8_K", 256, 292}},
    Entry{DType::I8, {"I8", 1, 1}},         Entry{DType::I16, {"I16", 1, 2}},
    Entry{DType::I32, {"I32", 1, 4}},       Entry{DType::I64, {"I64", 1, 8}},
    Entry{DType::F64, {"F64", 1, 8}},       Entry{DType::BF16, {"BF16", 1, 2}},
};

// kTypes by id, null for the ids in between: traits() is asked for every tensor of every
// graph (sizes, strides), and a scan of the table showed in decode's host profile.
constexpr auto kById = [] {
    std::array<const DTypeTraits*, 32> by_id{};
    for (const Entry& e : kTypes) by_id[static_cast<size_t>(e.type)] = &e.traits;
    return by_id;
}();

const DTypeTraits* traits_of_id(uint32_t id) { return id < kById.size() ? kById[id] : nullptr; }

}  // namespace

std::optional<DTypeTraits> dtype_traits(uint32_t id) {
    if (const DTypeTraits* t = traits_of_id(id)) return *t;
    return std::nullopt;
}

const DTypeTraits& traits(DType type) {
    if (const DTypeTraits* t = traits_of_id(static_cast<uint32_t>(type))) return *t;
    throw std::logic_error("traits() of an unknown dtype");
}

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const Entry& e : kTypes) {
        if (e.traits.name.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < name.size(); ++i) {
            char a = e.traits.name[i], b = name[i];
            if (b >= 'a' && b <= 'z') b = static_cast<char>(b - 'a' + 'A');
            if (a != b) same = false;
        }
        if (same) return e.type;
    }
    return std::nullopt;
}

}  // namespace suanli
