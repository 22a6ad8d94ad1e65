// GGUF v3 serialization: each key's value is encoded when it is set, so writing
// is a concatenation; tensor offsets are laid out when the file is produced, so
// the alignment may change until then.
#include "formats/gguf_writer.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <system_error>
#include <type_traits>

#include "core/error.h"

namespace suanli {

static_assert(std::endian::native == std::endian::little, "GGUF is little-endian");

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;
constexpr std::string_view kAlignmentKey = "general.alignment";

template <class T>
void append(std::vector<std::byte>& out, T value) {
    const size_t at = out.size();
    out.resize(at + sizeof value);
    std::memcpy(out.data() + at, &value, sizeof value);
}

void append_string(std::vector<std::byte>& out, std::string_view s) {
    append<uint64_t>(out, s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
}

uint64_t align_up(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// Byte size of a fixed-size element type; 0 for STRING, ARRAY and unknown ids.
uint64_t element_size(GgufType type) {
    switch (type) {
        case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
        case GgufType::U16: case GgufType::I16: return 2;
        case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
        case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
        case GgufType::STRING: case GgufType::ARRAY: return 0;
    }
    return 0;
}

}  // namespace

void GgufWriter::put(std::string_view key, GgufType type, std::vector<std::byte> value) {
    if (key == kAlignmentKey && type != GgufType::U32)
        fail("GGUF writer: ", kAlignmentKey, " must be U32, not ", gguf_type_name(type));
    for (Kv& kv : kvs_) {
        if (kv.key == key) {
            kv.type = type;
            kv.value = std::move(value);
            return;
        }
    }
    kvs_.push_back(Kv{std::string(key), type, std::move(value)});
}

template <class T>
void GgufWriter::put_scalar(std::string_view key, GgufType type, T value) {
    std::vector<std::byte> bytes;
    append(bytes, value);
    put(key, type, std::move(bytes));
}

template <class T>
void GgufWriter::put_array(std::string_view key, GgufType element_type, std::span<const T> values) {
    std::vector<std::byte> bytes;
    bytes.reserve(4 + 8 + values.size() * sizeof(T));
    append(bytes, static_cast<uint32_t>(element_type));
    append<uint64_t>(bytes, values.size());
    for (const T& v : values) {
        if constexpr (std::is_same_v<T, bool>)
            append<uint8_t>(bytes, v ? 1 : 0);
        else
            append(bytes, v);
    }
    put(key, GgufType::ARRAY, std::move(bytes));
}

void GgufWriter::set_u8(std::string_view key, uint8_t v) { put_scalar(key, GgufType::U8, v); }
void GgufWriter::set_i8(std::string_view key, int8_t v) { put_scalar(key, GgufType::I8, v); }
void GgufWriter::set_u16(std::string_view key, uint16_t v) { put_scalar(key, GgufType::U16, v); }
void GgufWriter::set_i16(std::string_view key, int16_t v) { put_scalar(key, GgufType::I16, v); }
void GgufWriter::set_i32(std::string_view key, int32_t v) { put_scalar(key, GgufType::I32, v); }
void GgufWriter::set_u64(std::string_view key, uint64_t v) { put_scalar(key, GgufType::U64, v); }
void GgufWriter::set_i64(std::string_view key, int64_t v) { put_scalar(key, GgufType::I64, v); }
void GgufWriter::set_f32(std::string_view key, float v) { put_scalar(key, GgufType::F32, v); }
void GgufWriter::set_f64(std::string_view key, double v) { put_scalar(key, GgufType::F64, v); }
void GgufWriter::set_bool(std::string_view key, bool v) { put_scalar<uint8_t>(key, GgufType::BOOL, v ? 1 : 0); }

void GgufWriter::set_u32(std::string_view key, uint32_t v) {
    if (key == kAlignmentKey) {
        if (!std::has_single_bit(v)) fail("GGUF writer: alignment ", v, " is not a power of two");
        alignment_ = v;
    }
    put_scalar(key, GgufType::U32, v);
}

void GgufWriter::set_string(std::string_view key, std::string_view v) {
    std::vector<std::byte> bytes;
    append_string(bytes, v);
    put(key, GgufType::STRING, std::move(bytes));
}

void GgufWriter::set_array(std::string_view key, std::span<const uint8_t> v) { put_array(key, GgufType::U8, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int8_t> v) { put_array(key, GgufType::I8, v); }
void GgufWriter::set_array(std::string_view key, std::span<const uint16_t> v) { put_array(key, GgufType::U16, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int16_t> v) { put_array(key, GgufType::I16, v); }
void GgufWriter::set_array(std::string_view key, std::span<const uint32_t> v) { put_array(key, GgufType::U32, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int32_t> v) { put_array(key, GgufType::I32, v); }
void GgufWriter::set_array(std::string_view key, std::span<const uint64_t> v) { put_array(key, GgufType::U64, v); }
void GgufWriter::set_array(std::string_view key, std::span<const int64_t> v) { put_array(key, GgufType::I64, v); }
void GgufWriter::set_array(std::string_view key, std::span<const float> v) { put_array(key, GgufType::F32, v); }
void GgufWriter::set_array(std::string_view key, std::span<const double> v) { put_array(key, GgufType::F64, v); }
void GgufWriter::set_array(std::string_view key, std::span<const bool> v) { put_array(key, GgufType::BOOL, v); }

void GgufWriter::set_array(std::string_view key, std::span<const std::string> values) {
    std::vector<std::byte> bytes;
    append(bytes, static_cast<uint32_t>(GgufType::STRING));
    append<uint64_t>(bytes, values.size());
    for (const std::string& s : values) append_string(bytes, s);
    put(key, GgufType::ARRAY, std::move(bytes));
}

void GgufWriter::set_array(std::string_view key, std::span<const std::string_view> values) {
    std::vector<std::byte> bytes;
    append(bytes, static_cast<uint32_t>(GgufType::STRING));
    append<uint64_t>(bytes, values.size());
    for (std::string_view s : values) append_string(bytes, s);
    put(key, GgufType::ARRAY, std::move(bytes));
}

void GgufWriter::set_value(std::string_view key, const GgufValue& v) {
    switch (v.type) {
        case GgufType::U8: return set_u8(key, static_cast<uint8_t>(v.as_u64));
        case GgufType::I8: return set_i8(key, static_cast<int8_t>(v.as_i64));
        case GgufType::U16: return set_u16(key, static_cast<uint16_t>(v.as_u64));
        case GgufType::I16: return set_i16(key, static_cast<int16_t>(v.as_i64));
        case GgufType::U32: return set_u32(key, static_cast<uint32_t>(v.as_u64));
        case GgufType::I32: return set_i32(key, static_cast<int32_t>(v.as_i64));
        case GgufType::U64: return set_u64(key, v.as_u64);
        case GgufType::I64: return set_i64(key, v.as_i64);
        case GgufType::F32: return set_f32(key, static_cast<float>(v.as_f64));
        case GgufType::F64: return set_f64(key, v.as_f64);
        case GgufType::BOOL: return set_bool(key, v.as_bool);
        case GgufType::STRING: return set_string(key, v.as_string);
        case GgufType::ARRAY: break;
    }
    if (v.array_type == GgufType::ARRAY) fail("GGUF writer: nested arrays are not supported (key ", key, ")");
    std::vector<std::byte> bytes;
    append(bytes, static_cast<uint32_t>(v.array_type));
    append<uint64_t>(bytes, v.array_size);
    if (v.array_type == GgufType::STRING) {
        if (v.array_strings.size() != v.array_size)
            fail("GGUF writer: string array '", key, "' has ", v.array_strings.size(), " strings, not ",
                 v.array_size);
        for (std::string_view s : v.array_strings) append_string(bytes, s);
    } else {
        const uint64_t size = element_size(v.array_type);
        if (size == 0 || v.array_bytes.size() / size != v.array_size || v.array_bytes.size() % size != 0)
            fail("GGUF writer: array '", key, "' of ", v.array_size, " ", gguf_type_name(v.array_type),
                 " values has ", v.array_bytes.size(), " bytes");
        bytes.insert(bytes.end(), v.array_bytes.begin(), v.array_bytes.end());
    }
    put(key, GgufType::ARRAY, std::move(bytes));
}

bool GgufWriter::remove(std::string_view key) {
    for (auto it = kvs_.begin(); it != kvs_.end(); ++it) {
        if (it->key == key) {
            kvs_.erase(it);
            if (key == kAlignmentKey) alignment_ = kDefaultAlignment;
            return true;
        }
    }
    return false;
}

void GgufWriter::set_alignment(uint32_t alignment) { set_u32(kAlignmentKey, alignment); }

void GgufWriter::check_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne,
                              size_t bytes) const {
    if (tensor_names_.contains(name)) fail("GGUF writer: duplicate tensor name '", name, "'");
    if (ne.empty() || ne.size() > 4)
        fail("GGUF writer: tensor '", name, "' has ", ne.size(), " dimensions (must be 1 to 4)");
    const DTypeTraits& tr = traits(type);
    int64_t elements = 1;
    for (int64_t n : ne) {
        if (n < 1) fail("GGUF writer: tensor '", name, "' has a dimension of size ", n);
        if (__builtin_mul_overflow(elements, n, &elements))
            fail("GGUF writer: tensor '", name, "' element count overflows");
    }
    if (ne[0] % tr.block_elements != 0)
        fail("GGUF writer: tensor '", name, "' rows of ", ne[0], " elements are not a multiple of the ", tr.name,
             " block size ", tr.block_elements);
    uint64_t expected = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(elements / tr.block_elements),
                               static_cast<uint64_t>(tr.block_bytes), &expected))
        fail("GGUF writer: tensor '", name, "' byte size overflows");
    if (expected != bytes)
        fail("GGUF writer: tensor '", name, "' needs ", expected, " bytes of ", tr.name, " data, got ", bytes);
}

void GgufWriter::add_tensor(std::string name, DType type, std::vector<int64_t> ne,
                            std::span<const std::byte> data) {
    add_tensor(std::move(name), type, std::move(ne), std::vector<std::byte>(data.begin(), data.end()));
}

void GgufWriter::add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::vector<std::byte>&& data) {
    check_tensor(name, type, ne, data.size());
    tensor_names_.insert(name);
    const uint64_t size = data.size();
    tensors_.push_back(Tensor{std::move(name), type, std::move(ne), std::move(data), size, {}});
}

void GgufWriter::add_tensor_generated(std::string name, DType type, std::vector<int64_t> ne, TensorFill fill) {
    if (!fill) fail("GGUF writer: tensor '", name, "' has no fill function");
    const DTypeTraits& tr = traits(type);
    uint64_t elements = 1;
    for (int64_t n : ne) elements *= n > 0 ? static_cast<uint64_t>(n) : 0;
    const uint64_t bytes = tr.block_elements > 0 ? elements / tr.block_elements * tr.block_bytes : 0;
    check_tensor(name, type, ne, bytes);
    tensor_names_.insert(name);
    tensors_.push_back(Tensor{std::move(name), type, std::move(ne), {}, bytes, std::move(fill)});
}

std::vector<std::byte> GgufWriter::head() const {
    std::vector<std::byte> out;
    append(out, kMagic);
    append(out, kVersion);
    append<uint64_t>(out, tensors_.size());
    append<uint64_t>(out, kvs_.size());
    for (const Kv& kv : kvs_) {
        append_string(out, kv.key);
        append(out, static_cast<uint32_t>(kv.type));
        out.insert(out.end(), kv.value.begin(), kv.value.end());
    }
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
        append_string(out, t.name);
        append<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
        for (int64_t n : t.ne) append<uint64_t>(out, static_cast<uint64_t>(n));
        append(out, static_cast<uint32_t>(t.type));
        append<uint64_t>(out, offset);
        offset = align_up(offset + t.size, alignment_);
    }
    // llama.cpp pads up to the data section even without tensors; so do we.
    out.resize(align_up(out.size(), alignment_), std::byte{0});
    return out;
}

std::vector<std::byte> GgufWriter::to_bytes() const {
    std::vector<std::byte> out = head();
    for (const Tensor& t : tensors_) {
        if (t.fill) {
            const size_t at = out.size();
            out.resize(at + t.size, std::byte{0});
            t.fill(std::span<std::byte>(out.data() + at, t.size));
        } else {
            out.insert(out.end(), t.data.begin(), t.data.end());
        }
        out.resize(align_up(out.size(), alignment_), std::byte{0});
    }
    return out;
}

void GgufWriter::write(const std::filesystem::path& path) const {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail("cannot create ", tmp.string());
        auto put_bytes = [&out](const std::byte* p, size_t n) {
            out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n));
        };
        const std::vector<std::byte> h = head();
        put_bytes(h.data(), h.size());
        const std::byte zeros[256] = {};
        std::vector<std::byte> generated;  // one generated tensor at a time
        for (const Tensor& t : tensors_) {
            if (t.fill) {
                generated.assign(t.size, std::byte{0});
                t.fill(generated);
                put_bytes(generated.data(), generated.size());
            } else {
                put_bytes(t.data.data(), t.data.size());
            }
            const uint64_t pad = align_up(t.size, alignment_) - t.size;
            for (uint64_t left = pad; left > 0;) {
                const size_t n = left < sizeof zeros ? static_cast<size_t>(left) : sizeof zeros;
                put_bytes(zeros, n);
                left -= n;
            }
        }
        out.flush();
        if (!out) {
            out.close();
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            fail("cannot write ", tmp.string());
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        fail("cannot rename ", tmp.string(), " to ", path.string(), ": ", ec.message());
    }
}

}  // namespace suanli
