#include "quantize/quantize.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>

#include "core/error.h"
#include "core/quant.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"

namespace suanli {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
// Below this many elements a tensor is converted on one thread.
constexpr int64_t kMinElementsForThreads = int64_t{1} << 16;

// Drops the mapped input pages of a tensor that has been converted: they are file
// pages (read again if touched), and without this the whole input would count in
// the process's resident memory by the end, next to the output held for writing.
void release_pages(std::span<const std::byte> data) {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<uintptr_t>(data.data()) + page - 1) / page * page;
    const auto end = (reinterpret_cast<uintptr_t>(data.data()) + data.size()) / page * page;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice only
}

}  // namespace

std::vector<std::byte> convert_rows(DType from, DType to, const std::byte* src, int64_t row_len, int64_t rows,
                                    int threads) {
    const size_t in_row = row_bytes(from, row_len), out_row = row_bytes(to, row_len);
    std::vector<std::byte> out(out_row * static_cast<size_t>(rows));
    auto work = [&](int64_t first, int64_t last) {
        std::vector<float> row(static_cast<size_t>(row_len));
        for (int64_t r = first; r < last; ++r) {
            dequantize_row(from, src + static_cast<size_t>(r) * in_row, row.data(), row_len);
            quantize_row(to, row.data(), out.data() + static_cast<size_t>(r) * out_row, row_len);
        }
    };
    const int64_t parts =
        row_len * rows < kMinElementsForThreads ? 1 : std::clamp<int64_t>(threads, 1, std::max<int64_t>(rows, 1));
    if (parts <= 1) {
        work(0, rows);
        return out;
    }
    std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
    {
        std::vector<std::jthread> workers;
        for (int64_t p = 0; p < parts; ++p)
            workers.emplace_back([&, p] {
                try {
                    work(rows * p / parts, rows * (p + 1) / parts);
                } catch (...) {
                    errors[static_cast<size_t>(p)] = std::current_exception();
                }
            });
    }
    for (const std::exception_ptr& e : errors)
        if (e) std::rethrow_exception(e);
    return out;
}

QuantizeReport quantize_file(const std::filesystem::path& in, const std::filesystem::path& out, const QuantType& type,
                             int threads, const std::function<void(const TensorDone&)>& on_tensor) {
    const GgufFile file = GgufFile::open(in);
    QuantizeReport report;
    report.plans = plan_quantization(file, type);
    report.file_bytes_in = file.file_size();

    GgufWriter w;
    for (const GgufKeyValue& kv : file.metadata()) w.set_value(kv.key, kv.value);
    w.set_u32("general.quantization_version", kQuantizationVersion);
    w.set_u32("general.file_type", type.file_type);

    const auto& infos = file.tensors();
    for (size_t i = 0; i < infos.size(); ++i) {
        const GgufTensorInfo& t = infos[i];
        const TensorPlan& p = report.plans[i];
        const std::span<const std::byte> data = file.tensor_data(t);
        std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
        std::vector<std::byte> bytes;
        if (p.quantize && p.to != p.from)
            bytes = convert_rows(p.from, p.to, data.data(), t.ne[0], t.elements() / t.ne[0], threads);
        else
            bytes.assign(data.begin(), data.end());
        release_pages(data);
        report.quantized += p.quantize ? 1 : 0;
        report.fallbacks += p.note.empty() ? 0 : 1;
        report.bytes_in += data.size();
        report.bytes_out += bytes.size();
        report.elements += static_cast<uint64_t>(t.elements());
        TensorDone done{i, infos.size(), &p, ne, data.size(), bytes.size()};
        w.add_tensor(p.name, p.to, std::move(ne), std::move(bytes));
        if (on_tensor) on_tensor(done);
    }
    w.write(out);
    return report;
}

}  // namespace suanli
