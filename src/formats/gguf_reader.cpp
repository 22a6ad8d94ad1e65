// Parsing GGUF v2/v3: a bounds-checked cursor over the bytes, then one pass over
// header, metadata and tensor infos. Every read is checked against the bytes left
// and every count against what those bytes could possibly hold, so a hostile file
// fails with a message before any large allocation. Strings and arrays stay views.
#include "formats/gguf.h"

#include <bit>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "core/mapped_file.h"

namespace suanli {

static_assert(std::endian::native == std::endian::little,
              "GGUF is little-endian; a big-endian host needs byte swaps in Cursor::read");

namespace {

constexpr uint32_t kMagic = 0x46554747;  // the bytes "GGUF" read as a little-endian u32
constexpr uint32_t kMaxTypeId = static_cast<uint32_t>(GgufType::F64);
// Smallest encodings, used to bound counts before reserving memory:
// a kv is a key length, a value type and at least one value byte; a tensor info is
// a name length, n_dims, one dimension, a type and an offset.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Byte size of a fixed-size value type; 0 for STRING and ARRAY.
size_t scalar_size(GgufType type) {
    switch (type) {
        case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
        case GgufType::U16: case GgufType::I16: return 2;
        case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
        case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
        case GgufType::STRING: case GgufType::ARRAY: return 0;
    }
    return 0;
}

bool is_unsigned(GgufType t) {
    return t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64;
}
bool is_signed(GgufType t) {
    return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}

// Names from the file go into one-line messages: escape control and non-ASCII
// bytes, and cut very long ones.
std::string shown(std::string_view s) {
    constexpr size_t kMaxShown = 80;
    std::string out;
    for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
        } else {
            constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    if (s.size() > kMaxShown) out += "...";
    return out;
}

// A name quoted in a message; escaped only when the message is actually built.
struct Quoted {
    std::string_view text;
};
std::string display(Quoted q) { return "'" + shown(q.text) + "'"; }
template <class T>
const T& display(const T& v) { return v; }

class Cursor {
public:
    Cursor(std::span<const std::byte> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

    uint64_t pos() const { return pos_; }
    uint64_t left() const { return bytes_.size() - pos_; }

    template <class... Parts>
    [[noreturn]] void fail_at(uint64_t offset, const Parts&... parts) const {
        fail(name_, ": ", display(parts)..., " at offset ", offset);
    }

    // Consumes `n` bytes; `what` names the field for the message when they are not there.
    template <class... What>
    const std::byte* take(uint64_t n, const What&... what) {
        if (n > left())
            fail_at(pos_, "truncated: ", what..., " needs ", n, " bytes, only ", left(), " left");
        const std::byte* p = bytes_.data() + pos_;
        pos_ += n;
        return p;
    }

    template <class T, class... What>
    T read(const What&... what) {
        T v;
        std::memcpy(&v, take(sizeof(T), what...), sizeof(T));
        return v;
    }

    template <class... What>
    std::string_view read_string(const What&... what) {
        const auto n = read<uint64_t>(what..., " length");
        const std::byte* p = take(n, what...);
        return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
    }

private:
    std::span<const std::byte> bytes_;
    const std::string& name_;
    uint64_t pos_ = 0;
};

void set_unsigned(GgufValue& v, uint64_t x) {
    v.as_u64 = x;
    v.as_i64 = x <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? static_cast<int64_t>(x) : 0;
}

void set_signed(GgufValue& v, int64_t x) {
    v.as_i64 = x;
    v.as_u64 = x >= 0 ? static_cast<uint64_t>(x) : 0;
}

void read_scalar(Cursor& in, Quoted key, GgufValue& v) {
    const uint64_t at = in.pos();
    switch (v.type) {
        case GgufType::U8: set_unsigned(v, in.read<uint8_t>("value of key ", key)); break;
        case GgufType::U16: set_unsigned(v, in.read<uint16_t>("value of key ", key)); break;
        case GgufType::U32: set_unsigned(v, in.read<uint32_t>("value of key ", key)); break;
        case GgufType::U64: set_unsigned(v, in.read<uint64_t>("value of key ", key)); break;
        case GgufType::I8: set_signed(v, in.read<int8_t>("value of key ", key)); break;
        case GgufType::I16: set_signed(v, in.read<int16_t>("value of key ", key)); break;
        case GgufType::I32: set_signed(v, in.read<int32_t>("value of key ", key)); break;
        case GgufType::I64: set_signed(v, in.read<int64_t>("value of key ", key)); break;
        case GgufType::F32: v.as_f64 = in.read<float>("value of key ", key); break;
        case GgufType::F64: v.as_f64 = in.read<double>("value of key ", key); break;
        case GgufType::BOOL: {
            const auto b = in.read<uint8_t>("value of key ", key);
            if (b > 1) in.fail_at(at, "bool value ", b, " of key ", key, " is not 0 or 1");
            v.as_bool = b != 0;
            break;
        }
        case GgufType::STRING: case GgufType::ARRAY: break;  // handled by the caller
    }
}

void read_array(Cursor& in, Quoted key, GgufValue& v) {
    const uint64_t type_at = in.pos();
    const auto raw = in.read<uint32_t>("array element type of key ", key);
    if (raw == static_cast<uint32_t>(GgufType::ARRAY))
        in.fail_at(type_at, "nested arrays are not supported (key ", key, ")");
    if (raw > kMaxTypeId) in.fail_at(type_at, "unknown array element type ", raw, " for key ", key);
    v.array_type = static_cast<GgufType>(raw);

    const uint64_t count_at = in.pos();
    const auto count = in.read<uint64_t>("array length of key ", key);
    v.array_size = count;
    if (v.array_type == GgufType::STRING) {
        if (count > in.left() / 8)
            in.fail_at(count_at, "array of ", count, " strings for key ", key, " cannot fit in the ",
                       in.left(), " bytes left");
        v.array_strings.resize(count);
        for (uint64_t i = 0; i < count; ++i)
            v.array_strings[i] = in.read_string("string ", i, " of array ", key);
        return;
    }
    const size_t element = scalar_size(v.array_type);
    if (count > in.left() / element)
        in.fail_at(count_at, "array of ", count, " ", gguf_type_name(v.array_type), " values for key ",
                   key, " cannot fit in the ", in.left(), " bytes left");
    const uint64_t n = count * element;
    v.array_bytes = {in.take(n, "array ", key), static_cast<size_t>(n)};
}

void read_value(Cursor& in, Quoted key, GgufValue& v) {
    const uint64_t type_at = in.pos();
    const auto raw = in.read<uint32_t>("value type of key ", key);
    if (raw > kMaxTypeId) in.fail_at(type_at, "unknown value type ", raw, " for key ", key);
    v.type = static_cast<GgufType>(raw);
    if (v.type == GgufType::STRING)
        v.as_string = in.read_string("string value of key ", key);
    else if (v.type == GgufType::ARRAY)
        read_array(in, key, v);
    else
        read_scalar(in, key, v);
}

// Integer value of element `i` of an integer array, as a signed 128-bit-safe pair.
struct IntElement {
    bool negative;
    uint64_t magnitude;  // the value when !negative, else -value
};

IntElement int_element(const GgufValue& v, size_t i) {
    const std::byte* p = v.array_bytes.data() + i * scalar_size(v.array_type);
    auto get = [p](auto x) {
        std::memcpy(&x, p, sizeof x);
        return x;
    };
    auto from_signed = [](int64_t x) {
        return x < 0 ? IntElement{true, uint64_t{0} - static_cast<uint64_t>(x)}
                     : IntElement{false, static_cast<uint64_t>(x)};
    };
    switch (v.array_type) {
        case GgufType::U8: return {false, get(uint8_t{})};
        case GgufType::U16: return {false, get(uint16_t{})};
        case GgufType::U32: return {false, get(uint32_t{})};
        case GgufType::U64: return {false, get(uint64_t{})};
        case GgufType::I8: return from_signed(get(int8_t{}));
        case GgufType::I16: return from_signed(get(int16_t{}));
        case GgufType::I32: return from_signed(get(int32_t{}));
        case GgufType::I64: return from_signed(get(int64_t{}));
        default: return {false, 0};
    }
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
    switch (type) {
        case GgufType::U8: return "U8";
        case GgufType::I8: return "I8";
        case GgufType::U16: return "U16";
        case GgufType::I16: return "I16";
        case GgufType::U32: return "U32";
        case GgufType::I32: return "I32";
        case GgufType::F32: return "F32";
        case GgufType::BOOL: return "BOOL";
        case GgufType::STRING: return "STRING";
        case GgufType::ARRAY: return "ARRAY";
        case GgufType::U64: return "U64";
        case GgufType::I64: return "I64";
        case GgufType::F64: return "F64";
    }
    return "unknown";
}

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

GgufFile GgufFile::open(const std::filesystem::path& path) {
    GgufFile f;
    f.name_ = path.string();
    f.map_ = std::make_unique<MappedFile>(path);
    f.bytes_ = f.map_->bytes();
    f.parse_all();
    return f;
}

GgufFile GgufFile::parse(std::span<const std::byte> bytes, std::string name) {
    GgufFile f;
    f.name_ = std::move(name);
    f.bytes_ = bytes;
    f.parse_all();
    return f;
}

void GgufFile::parse_all() {
    Cursor in(bytes_, name_);

    // Header.
    if (bytes_.size() < 4) in.fail_at(0, "not a GGUF file (", bytes_.size(), " bytes, too short for a header)");
    if (in.read<uint32_t>("magic") != kMagic) in.fail_at(0, "not a GGUF file (bad magic)");
    version_ = in.read<uint32_t>("header version");
    if (version_ != 2 && version_ != 3)
        in.fail_at(4, "unsupported GGUF version ", version_, " (this reader knows 2 and 3)");
    const auto tensor_count = in.read<uint64_t>("header tensor count");
    const auto kv_count = in.read<uint64_t>("header metadata count");
    if (kv_count > in.left() / kMinKvBytes)
        in.fail_at(16, "metadata count ", kv_count, " cannot fit in the ", in.left(), " bytes left");

    // Metadata.
    metadata_.reserve(kv_count);
    std::unordered_set<std::string_view> keys;
    keys.reserve(kv_count);
    for (uint64_t i = 0; i < kv_count; ++i) {
        const uint64_t key_at = in.pos();
        GgufKeyValue& kv = metadata_.emplace_back();
        kv.key = in.read_string("key of metadata entry ", i);
        if (!keys.insert(kv.key).second) in.fail_at(key_at, "duplicate metadata key ", Quoted{kv.key});
        const uint64_t value_at = in.pos();
        read_value(in, Quoted{kv.key}, kv.value);
        if (kv.key == "general.alignment") {
            if (kv.value.type != GgufType::U32)
                in.fail_at(value_at, "general.alignment must be U32, not ", gguf_type_name(kv.value.type));
            if (!std::has_single_bit(kv.value.as_u64))
                in.fail_at(value_at, "general.alignment ", kv.value.as_u64, " is not a power of two");
            alignment_ = kv.value.as_u64;
        }
    }

    // Tensor infos. (The count is checked here, not with the header, so that a file cut
    // inside its metadata is reported where it is cut.)
    if (tensor_count > in.left() / kMinTensorInfoBytes)
        in.fail_at(8, "tensor count ", tensor_count, " cannot fit in the ", in.left(), " bytes left");
    tensors_.reserve(tensor_count);
    std::vector<uint64_t> offset_at;  // where each tensor's offset field is, for messages
    offset_at.reserve(tensor_count);
    std::unordered_set<std::string_view> names;
    names.reserve(tensor_count);
    for (uint64_t i = 0; i < tensor_count; ++i) {
        GgufTensorInfo& t = tensors_.emplace_back();
        const uint64_t name_at = in.pos();
        t.name = in.read_string("name of tensor ", i);
        const Quoted name{t.name};
        if (!names.insert(t.name).second) in.fail_at(name_at, "duplicate tensor name ", name);

        const uint64_t dims_at = in.pos();
        const auto n_dims = in.read<uint32_t>("dimension count of tensor ", name);
        if (n_dims < 1 || n_dims > 4)
            in.fail_at(dims_at, "tensor ", name, " has ", n_dims, " dimensions (must be 1 to 4)");
        t.n_dims = static_cast<int>(n_dims);
        int64_t elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t ne_at = in.pos();
            const auto ne = in.read<uint64_t>("dimension ", d, " of tensor ", name);
            if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                in.fail_at(ne_at, "tensor ", name, " has invalid size ", ne, " in dimension ", d);
            t.ne[d] = static_cast<int64_t>(ne);
            if (__builtin_mul_overflow(elements, t.ne[d], &elements))
                in.fail_at(ne_at, "tensor ", name, " element count overflows 64 bits");
        }

        const uint64_t type_at = in.pos();
        const auto type_id = in.read<uint32_t>("type of tensor ", name);
        const std::optional<DTypeTraits> tr = dtype_traits(type_id);
        if (!tr) in.fail_at(type_at, "tensor ", name, " has unknown or unsupported type ", type_id);
        t.type = static_cast<DType>(type_id);
        if (t.ne[0] % tr->block_elements != 0)
            in.fail_at(type_at, "tensor ", name, " has rows of ", t.ne[0], " elements, not a multiple of the ",
                       tr->name, " block size ", tr->block_elements);
        const uint64_t blocks_per_row = static_cast<uint64_t>(t.ne[0] / tr->block_elements);
        const uint64_t rows = static_cast<uint64_t>(elements / t.ne[0]);
        uint64_t size = 0;
        if (__builtin_mul_overflow(blocks_per_row, static_cast<uint64_t>(tr->block_bytes), &size) ||
            __builtin_mul_overflow(size, rows, &size))
            in.fail_at(type_at, "tensor ", name, " byte size overflows 64 bits");
        t.size = size;

        offset_at.push_back(in.pos());
        t.offset = in.read<uint64_t>("data offset of tensor ", name);
        if (t.offset % alignment_ != 0)
            in.fail_at(offset_at.back(), "tensor ", name, " data offset ", t.offset,
                       " is not a multiple of the alignment ", alignment_);
    }

    // Data: from the next multiple of the alignment; every tensor must lie inside the file.
    // A file without tensors may end right after its infos, without padding.
    const uint64_t data_start = (in.pos() + alignment_ - 1) / alignment_ * alignment_;
    const uint64_t data_size = data_start <= bytes_.size() ? bytes_.size() - data_start : 0;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        GgufTensorInfo& t = tensors_[i];
        if (data_start > bytes_.size() || t.offset > data_size || t.size > data_size - t.offset)
            in.fail_at(offset_at[i], "tensor ", Quoted{t.name}, " data (", t.size, " bytes at data offset ",
                       t.offset, ") runs past the end of the file (", bytes_.size(),
                       " bytes, data section at ", data_start, "): truncated or bad offset");
        t.offset += data_start;
    }
}

const GgufValue* GgufFile::find(std::string_view key) const {
    for (const GgufKeyValue& kv : metadata_)
        if (kv.key == key) return &kv.value;
    return nullptr;
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::STRING)
        fail(name_, ": key '", shown(key), "' is ", gguf_type_name(v->type), ", expected STRING");
    return v->as_string;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (is_unsigned(v->type)) return v->as_u64;
    if (!is_signed(v->type))
        fail(name_, ": key '", shown(key), "' is ", gguf_type_name(v->type), ", expected an integer");
    if (v->as_i64 < 0)
        fail(name_, ": key '", shown(key), "' is ", v->as_i64, ", expected a non-negative integer");
    return static_cast<uint64_t>(v->as_i64);
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (is_signed(v->type)) return v->as_i64;
    if (!is_unsigned(v->type))
        fail(name_, ": key '", shown(key), "' is ", gguf_type_name(v->type), ", expected an integer");
    if (v->as_u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(name_, ": key '", shown(key), "' is ", v->as_u64, ", too large for a signed 64-bit integer");
    return v->as_i64;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::F32 && v->type != GgufType::F64)
        fail(name_, ": key '", shown(key), "' is ", gguf_type_name(v->type), ", expected F32 or F64");
    return v->as_f64;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::BOOL)
        fail(name_, ": key '", shown(key), "' is ", gguf_type_name(v->type), ", expected BOOL");
    return v->as_bool;
}

namespace {
// The message for an array key of the wrong kind.
[[noreturn]] void fail_array(const std::string& file, std::string_view key, const GgufValue& v,
                             std::string_view expected) {
    if (v.type != GgufType::ARRAY)
        fail(file, ": key '", shown(key), "' is ", gguf_type_name(v.type), ", expected an array of ", expected);
    fail(file, ": key '", shown(key), "' is an array of ", gguf_type_name(v.array_type), ", expected ",
         expected);
}
}  // namespace

std::optional<std::vector<std::string_view>> GgufFile::get_string_array(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::ARRAY || v->array_type != GgufType::STRING) fail_array(name_, key, *v, "STRING");
    return v->array_strings;
}

std::optional<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::ARRAY || v->array_type != GgufType::F32) fail_array(name_, key, *v, "F32");
    std::vector<float> out(v->array_size);
    if (!out.empty()) std::memcpy(out.data(), v->array_bytes.data(), v->array_bytes.size());
    return out;
}

std::optional<std::vector<int32_t>> GgufFile::get_i32_array(std::string_view key) const {
    const GgufValue* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != GgufType::ARRAY || !(is_signed(v->array_type) || is_unsigned(v->array_type)))
        fail_array(name_, key, *v, "integers");
    std::vector<int32_t> out(v->array_size);
    if (v->array_type == GgufType::I32) {
        if (!out.empty()) std::memcpy(out.data(), v->array_bytes.data(), v->array_bytes.size());
        return out;
    }
    constexpr uint64_t kMax = std::numeric_limits<int32_t>::max();
    for (size_t i = 0; i < out.size(); ++i) {
        const IntElement e = int_element(*v, i);
        if (e.negative ? e.magnitude > kMax + 1 : e.magnitude > kMax)
            fail(name_, ": element ", i, " of array '", shown(key), "' does not fit in a 32-bit integer");
        out[i] = e.negative ? static_cast<int32_t>(-static_cast<int64_t>(e.magnitude))
                            : static_cast<int32_t>(e.magnitude);
    }
    return out;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
    for (const GgufTensorInfo& t : tensors_)
        if (t.name == name) return &t;
    return nullptr;
}

std::span<const std::byte> GgufFile::tensor_data(const GgufTensorInfo& info) const {
    if (info.offset > bytes_.size() || info.size > bytes_.size() - info.offset)
        fail(name_, ": tensor '", shown(info.name), "' data is outside the file");
    return bytes_.subspan(info.offset, info.size);
}

}  // namespace suanli
