// libFuzzer target for the GGUF reader (and the writer behind it).
//
// Any input must parse or throw suanli::Error. When it parses, every getter and
// every tensor's data are touched, and the file is rebuilt with GgufWriter and
// parsed again: whatever the reader accepts, the writer must reproduce. Anything
// else (a crash, a sanitizer report, another exception) is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"

namespace {

using suanli::Error;
using suanli::GgufFile;

void check(bool ok) {
    if (!ok) std::abort();
}

// Calls every typed getter on a key; type mismatches throw Error, which is fine.
template <class Fn>
void ignore_error(Fn&& fn) {
    try {
        fn();
    } catch (const Error&) {
    }
}

void touch(const GgufFile& f) {
    for (const suanli::GgufKeyValue& kv : f.metadata()) {
        check(f.find(kv.key) == &kv.value);
        ignore_error([&] { f.get_string(kv.key); });
        ignore_error([&] { f.get_uint(kv.key); });
        ignore_error([&] { f.get_int(kv.key); });
        ignore_error([&] { f.get_float(kv.key); });
        ignore_error([&] { f.get_bool(kv.key); });
        ignore_error([&] { f.get_string_array(kv.key); });
        ignore_error([&] { f.get_f32_array(kv.key); });
        ignore_error([&] { f.get_i32_array(kv.key); });
    }
    unsigned sum = 0;
    for (const suanli::GgufTensorInfo& t : f.tensors()) {
        check(f.find_tensor(t.name) == &t);
        const std::span<const std::byte> data = f.tensor_data(t);
        check(data.size() == t.size && t.size > 0);
        sum += static_cast<unsigned>(data.front()) + static_cast<unsigned>(data.back());
    }
    volatile unsigned sink = sum;
    (void)sink;
}

void rebuild(const GgufFile& f) {
    suanli::GgufWriter w;
    for (const suanli::GgufKeyValue& kv : f.metadata()) w.set_value(kv.key, kv.value);
    for (const suanli::GgufTensorInfo& t : f.tensors())
        w.add_tensor(std::string(t.name), t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                     f.tensor_data(t));
    const std::vector<std::byte> bytes = w.to_bytes();
    const GgufFile g = GgufFile::parse(bytes, "rebuilt");
    check(g.metadata().size() == f.metadata().size());
    check(g.tensors().size() == f.tensors().size());
    check(g.alignment() == f.alignment());
    for (size_t i = 0; i < f.metadata().size(); ++i) {
        const suanli::GgufValue& a = f.metadata()[i].value;
        const suanli::GgufValue& b = g.metadata()[i].value;
        check(f.metadata()[i].key == g.metadata()[i].key);
        check(a.type == b.type && a.as_u64 == b.as_u64 && a.as_i64 == b.as_i64 && a.as_bool == b.as_bool);
        check(a.as_string == b.as_string && a.array_type == b.array_type && a.array_size == b.array_size);
        check(a.array_strings == b.array_strings);
        check(std::equal(a.array_bytes.begin(), a.array_bytes.end(), b.array_bytes.begin(), b.array_bytes.end()));
    }
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const suanli::GgufTensorInfo& a = f.tensors()[i];
        const suanli::GgufTensorInfo& b = g.tensors()[i];
        check(a.name == b.name && a.type == b.type && a.ne == b.ne && a.n_dims == b.n_dims && a.size == b.size);
        const auto da = f.tensor_data(a), db = g.tensor_data(b);
        check(std::equal(da.begin(), da.end(), db.begin(), db.end()));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        const GgufFile f = GgufFile::parse(bytes, "fuzz");
        touch(f);
        rebuild(f);  // Error from here is a finding: the writer refused what the reader accepted
    } catch (const Error& e) {
        // A damaged file: the expected outcome for most inputs. The rebuilt file must
        // never be refused, so an Error naming it is a finding.
        const std::string_view msg = e.what();
        if (msg.starts_with("rebuilt") || msg.starts_with("GGUF writer")) std::abort();
    }
    return 0;
}
