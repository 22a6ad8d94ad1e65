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

void convert_rows(DType from, DType to, const std::byte* src, int64_t row_len, int64_t rows, int threads,
                  std::span<std::byte> out) {
    const size_t in_row = row_bytes(from, row_len), out_row = row_bytes(to, row_len);
    if (out.size() != out_row * static_cast<size_t>(rows))
        fail("convert_rows: ", out.size(), " output bytes for ", rows, " rows of ", out_row);
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
        return;
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

    // Each tensor is converted while the writer writes it, into the writer's buffer for it:
    // one output tensor in memory at a time, not the whole output.
    const auto& infos = file.tensors();
    for (size_t i = 0; i < infos.size(); ++i) {
        const GgufTensorInfo& t = infos[i];
        const TensorPlan& p = report.plans[i];
        const std::span<const std::byte> data = file.tensor_data(t);
        const int64_t rows = t.elements() / t.ne[0];
        const uint64_t out_bytes = row_bytes(p.to, t.ne[0]) * static_cast<uint64_t>(rows);
        std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
        report.quantized += p.quantize ? 1 : 0;
        report.fallbacks += p.note.empty() ? 0 : 1;
        report.bytes_in += data.size();
        report.bytes_out += out_bytes;
        report.elements += static_cast<uint64_t>(t.elements());
        w.add_tensor_generated(p.name, p.to, ne, [&, i, data, rows, ne](std::span<std::byte> bytes) {
            const TensorPlan& plan = report.plans[i];
            if (plan.quantize && plan.to != plan.from)
                convert_rows(plan.from, plan.to, data.data(), ne[0], rows, threads, bytes);
            else
                std::copy(data.begin(), data.end(), bytes.begin());
            release_pages(data);
            if (on_tensor) on_tensor(TensorDone{i, infos.size(), &plan, ne, data.size(), bytes.size()});
        });
    }
    w.write(out);
    return report;
}

}  // namespace suanli
