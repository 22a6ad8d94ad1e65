#include "formats/safetensors.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace suanli {
namespace {

using nlohmann::json;

// Larger than any real header (a 100B-parameter model's is a few MB), small
// enough that a corrupt length cannot make us parse gigabytes.
constexpr uint64_t kMaxHeader = 100u << 20;
constexpr uint64_t kMaxDim = uint64_t{1} << 40;

// nlohmann's messages may quote raw input; keep the error on one line.
std::string one_line(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return s;
}

DType parse_dtype(const std::string& file, const std::string& tensor, const json& v) {
    if (!v.is_string()) fail(file, ": tensor '", tensor, "' has no dtype string");
    const std::string s = v.get<std::string>();
    if (s == "F32") return DType::F32;
    if (s == "F16") return DType::F16;
    if (s == "BF16") return DType::BF16;
    fail(file, ": tensor '", tensor, "' has dtype ", one_line(s), ", which is not supported (supported: F32, F16, BF16)");
}

uint64_t parse_uint(const std::string& file, const std::string& tensor, const char* field, const json& v) {
    if (!v.is_number_unsigned()) fail(file, ": tensor '", tensor, "': ", field, " must hold non-negative integers");
    return v.get<uint64_t>();
}

}  // namespace

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
    SafetensorsFile f;
    f.name_ = path.string();
    f.map_ = std::make_unique<MappedFile>(path);
    f.bytes_ = f.map_->bytes();
    f.parse_all();
    return f;
}

SafetensorsFile SafetensorsFile::parse(std::span<const std::byte> bytes, std::string name) {
    SafetensorsFile f;
    f.name_ = std::move(name);
    f.bytes_ = bytes;
    f.parse_all();
    return f;
}

void SafetensorsFile::parse_all() {
    const std::string& file = name_;
    if (bytes_.size() < 8) fail(file, ": ", bytes_.size(), " bytes is too short for a safetensors file");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes_[i]);
    if (n > kMaxHeader) fail(file, ": header length ", n, " is absurd (over 100 MB)");
    if (n > bytes_.size() - 8)
        fail(file, ": header length ", n, " exceeds the ", bytes_.size() - 8, " bytes after it (truncated file?)");
    const auto* text = reinterpret_cast<const char*>(bytes_.data() + 8);
    json header;
    try {
        header = json::parse(text, text + n);
    } catch (const json::exception& e) {
        fail(file, ": header is not valid JSON: ", one_line(e.what()));
    }
    if (!header.is_object()) fail(file, ": header is not a JSON object");

    const uint64_t data_start = 8 + n, data_size = bytes_.size() - data_start;
    for (const auto& [key, entry] : header.items()) {
        if (key == "__metadata__") continue;
        if (!entry.is_object()) fail(file, ": tensor '", key, "' is not a JSON object");
        SafetensorsTensor t;
        t.name = key;
        t.type = parse_dtype(file, key, entry.contains("dtype") ? entry["dtype"] : json());
        if (!entry.contains("shape") || !entry["shape"].is_array()) fail(file, ": tensor '", key, "' has no shape array");
        uint64_t elements = 1;
        for (const json& d : entry["shape"]) {
            const uint64_t dim = parse_uint(file, key, "shape", d);
            if (dim > kMaxDim || (dim && elements > kMaxDim / dim))
                fail(file, ": tensor '", key, "' has a shape too large to be real");
            elements *= dim;
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        const json* offs = entry.contains("data_offsets") ? &entry["data_offsets"] : nullptr;
        if (!offs || !offs->is_array() || offs->size() != 2)
            fail(file, ": tensor '", key, "' needs data_offsets [begin, end]");
        const uint64_t begin = parse_uint(file, key, "data_offsets", (*offs)[0]);
        const uint64_t end = parse_uint(file, key, "data_offsets", (*offs)[1]);
        if (begin > end || end > data_size)
            fail(file, ": tensor '", key, "' has data_offsets [", begin, ", ", end, "] outside the ", data_size,
                 " data bytes (truncated file?)");
        const uint64_t expected = elements * traits(t.type).block_bytes;
        if (end - begin != expected)
            fail(file, ": tensor '", key, "' has ", end - begin, " data bytes, but its shape and dtype need ", expected);
        t.offset = data_start + begin;
        t.size = expected;
        tensors_.push_back(std::move(t));
    }

    // Tensors must not share bytes (Hugging Face's reader checks this too).
    std::vector<const SafetensorsTensor*> by_offset;
    for (const auto& t : tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
        if (by_offset[i - 1]->offset + by_offset[i - 1]->size > by_offset[i]->offset)
            fail(file, ": tensors '", by_offset[i - 1]->name, "' and '", by_offset[i]->name, "' overlap");
    std::sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
    auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                               [](const SafetensorsTensor& t, std::string_view n) { return t.name < n; });
    return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

SafetensorsSet SafetensorsSet::open_dir(const std::filesystem::path& dir) {
    SafetensorsSet set;
    const auto index_path = dir / "model.safetensors.index.json";
    if (!std::filesystem::exists(index_path)) {
        const auto single = dir / "model.safetensors";
        if (!std::filesystem::exists(single))
            fail(dir.string(), ": no model.safetensors or model.safetensors.index.json");
        set.files_.push_back(SafetensorsFile::open(single));
        return set;
    }
    const std::string iname = index_path.string();
    set.index_name_ = iname;
    std::ifstream in(index_path, std::ios::binary);
    if (!in) fail("cannot open ", iname);
    json index;
    try {
        index = json::parse(in);
    } catch (const json::exception& e) {
        fail(iname, ": not valid JSON: ", one_line(e.what()));
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        fail(iname, ": no \"weight_map\" object");
    std::map<std::string, size_t> shard_index;
    for (const auto& [tensor, file] : index["weight_map"].items()) {
        if (!file.is_string()) fail(iname, ": weight_map entry '", tensor, "' is not a file name");
        const std::string shard = file.get<std::string>();
        // Only files beside the index: no paths that climb out of the directory.
        if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
            shard == "." || shard == "..")
            fail(iname, ": weight_map entry '", tensor, "' names '", one_line(shard), "', which is not a plain file name");
        auto [it, added] = shard_index.emplace(shard, set.files_.size());
        if (added) set.files_.push_back(SafetensorsFile::open(dir / shard));
        set.where_.emplace(tensor, it->second);
    }
    if (set.files_.empty()) fail(iname, ": weight_map is empty");
    return set;
}

SafetensorsSet::Found SafetensorsSet::find(std::string_view name) const {
    size_t file = 0;
    if (!where_.empty()) {
        auto it = where_.find(name);
        if (it == where_.end()) return {};
        file = it->second;
    }
    return {file, files_[file].find(name)};
}

}  // namespace suanli
