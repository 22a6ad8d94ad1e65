// Mat-vec (and small mat-mat) throughput of the cpu backend next to the
// reference backend, through the C ABI, for TinyLlama-sized weights.
//
//   bench_cpu_matvec [--reps N] [--threads 1,2] [--n 1] [--peak-gbs 30] [--footprint-mb 1024] [--no-reference]
//                    [--no-pack] [--dtypes q8_0,q4_k]
//
// For each weight dtype and shape it prints the median time of one MUL_MAT and
// the bandwidth achieved reading the weights (weight bytes / time), with the
// fraction of --peak-gbs (the machine's measured memory bandwidth). Decode is
// bandwidth-bound, so GB/s is the number to compare. As in a real decode, the
// weights come from memory, not cache: successive runs cycle through copies of
// the weight matrix totalling --footprint-mb (0: one copy, cache-warm). SUANLI_CPU_ISA=scalar|avx2|avx512
// picks the cpu backend's kernel path. The weights are offered to weight_prepare,
// as a loaded model's are, so packed kernels run where the backend has them
// (--no-pack: not offered).
#include <cctype>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"
#include "core/dtype.h"
#include "core/quant.h"
#include "suanli/backend.h"

namespace {

std::string lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

using namespace suanli;

std::vector<int> parse_list(const char* s) {
    std::vector<int> out;
    for (const char* p = s; *p;) {
        out.push_back(std::atoi(p));
        while (*p && *p != ',') ++p;
        if (*p) ++p;
    }
    return out;
}

[[noreturn]] void die(const sl_backend& be, const char* what) {
    std::fprintf(stderr, "%s: %s: %s\n", be.name, what, be.last_error());
    std::exit(1);
}

// One MUL_MAT node: A [K, M] of `dtype` (random) times B [K, N] F32.
struct MatVec {
    const sl_backend& be;
    sl_device device = nullptr;
    sl_buffer buffer = nullptr;   // B and the output
    sl_buffer weights = nullptr;  // wraps host_weights
    std::vector<unsigned char> host_weights;
    std::vector<sl_tensor> tensors;  // 3 per copy: A, B, out
    size_t weight_bytes = 0;
    int copies = 1;

    MatVec(const sl_backend& backend, int threads, DType dtype, int64_t K, int64_t M, int64_t N, double footprint_mb,
           bool pack)
        : be(backend) {
        const sl_device_config config{sizeof(sl_device_config), threads};
        if (be.device_open(0, &config, &device) != SL_OK) die(be, "device_open");
        weight_bytes = row_bytes(dtype, K) * static_cast<size_t>(M);
        const size_t stride = (weight_bytes + 4095) / 4096 * 4096;
        copies = std::max(1, static_cast<int>(footprint_mb * 1e6 / static_cast<double>(weight_bytes) + 0.999));
        // The weights live in host memory wrapped read-only, as a loaded model's do,
        // so that the backend may keep a packed copy of them (weight_prepare).
        host_weights.resize(stride * static_cast<size_t>(copies));
        // Random weights run at the speed of trained ones.
        std::vector<float> row(static_cast<size_t>(K));
        std::vector<unsigned char> qrow(row_bytes(dtype, K));
        uint32_t s = 12345;
        auto next = [&] {
            s = s * 1664525u + 1013904223u;
            return static_cast<float>(s >> 8) / static_cast<float>(1u << 23) - 1.0f;
        };
        for (int64_t m = 0; m < M; ++m) {
            for (float& v : row) v = next();
            quantize_row(dtype, row.data(), qrow.data(), K);
            for (int c = 0; c < copies; ++c)
                std::memcpy(host_weights.data() + c * stride + static_cast<size_t>(m) * qrow.size(), qrow.data(), qrow.size());
        }
        uint64_t weights_base = 0;
        if (be.buffer_from_host(device, host_weights.data(), host_weights.size(), &weights, &weights_base) != SL_OK)
            die(be, "buffer_from_host");
        const size_t b_bytes = sizeof(float) * static_cast<size_t>(K * N), o_bytes = sizeof(float) * static_cast<size_t>(M * N);
        const size_t o_off = (b_bytes + 63) / 64 * 64;
        uint64_t base = 0;
        if (be.buffer_alloc(device, o_off + o_bytes, &buffer, &base) != SL_OK) die(be, "buffer_alloc");
        std::vector<float> b(static_cast<size_t>(K * N));
        for (float& v : b) v = next();
        if (be.buffer_write(buffer, 0, b.data(), b_bytes) != SL_OK) die(be, "buffer_write");

        auto tensor = [](DType t, int64_t ne0, int64_t ne1, uint64_t addr) {
            sl_tensor x{};
            x.dtype = static_cast<int32_t>(t);
            x.ne[0] = ne0;
            x.ne[1] = ne1;
            x.ne[2] = x.ne[3] = 1;
            x.nb[0] = static_cast<int64_t>(traits(t).block_bytes);
            x.nb[1] = static_cast<int64_t>(row_bytes(t, ne0));
            x.nb[2] = x.nb[3] = x.nb[1] * ne1;
            for (int32_t& i : x.src) i = -1;
            x.addr = addr;
            return x;
        };
        const bool can_prepare = be.struct_size > offsetof(sl_backend, weight_prepare) && be.weight_prepare;
        for (int c = 0; c < copies; ++c) {
            tensors.push_back(tensor(dtype, K, M, weights_base + c * stride));
            if (pack && can_prepare && be.weight_prepare(device, &tensors.back()) != SL_OK) die(be, "weight_prepare");
            tensors.push_back(tensor(DType::F32, K, N, base));
            sl_tensor out = tensor(DType::F32, M, N, base + o_off);
            out.op = SL_OP_MUL_MAT;
            out.src[0] = 0;
            out.src[1] = 1;
            tensors.push_back(out);
        }
    }
    ~MatVec() {
        be.buffer_free(buffer);
        be.buffer_free(weights);
        be.device_close(device);
    }

    // Median seconds of one graph_compute over `reps` runs (after one warm-up),
    // each run on the next copy of the weights.
    double median_seconds(int reps) {
        std::vector<double> times;
        for (int r = 0; r <= reps; ++r) {
            const sl_graph graph{tensors.data() + 3 * (r % copies), 3};
            const auto t0 = std::chrono::steady_clock::now();
            if (be.graph_compute(device, &graph) != SL_OK) die(be, "graph_compute");
            const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (r > 0) times.push_back(dt);
        }
        std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
        return times[times.size() / 2];
    }
};

}  // namespace

int main(int argc, char** argv) {
    int reps = 20;
    std::vector<int> threads{1, 2}, ns{1};
    double peak = 30.0, footprint = 1024.0;
    bool reference = true, pack = true;
    std::string only;  // --dtypes q8_0,q4_0: only these (names as printed, any case)
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--threads" && i + 1 < argc) threads = parse_list(argv[++i]);
        else if (a == "--n" && i + 1 < argc) ns = parse_list(argv[++i]);
        else if (a == "--peak-gbs" && i + 1 < argc) peak = std::atof(argv[++i]);
        else if (a == "--footprint-mb" && i + 1 < argc) footprint = std::atof(argv[++i]);
        else if (a == "--no-reference") reference = false;
        else if (a == "--no-pack") pack = false;
        else if (a == "--dtypes" && i + 1 < argc) only = "," + lower(argv[++i]) + ",";
        else {
            std::fprintf(stderr, "usage: %s [--reps N] [--threads 1,2] [--n 1] [--peak-gbs 30] [--footprint-mb 1024] [--no-reference] [--no-pack] [--dtypes q8_0,q4_0]\n", argv[0]);
            return 2;
        }
    }
    std::printf("cpu kernels: %s; peak bandwidth taken as %.1f GB/s; median of %d runs; weights cycled over %.0f MB\n",
                cpu::isa_name(cpu::selected_isa()), peak, reps, footprint);
    std::printf("%-5s %-11s %2s %3s | %9s %7s %5s | %9s %7s | %7s\n", "dtype", "K x M", "N", "thr", "cpu ms", "GB/s", "%peak",
                "ref ms", "GB/s", "speedup");
    const DType dtypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                            DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};
    const int64_t shapes[][2] = {{2048, 5632}, {5632, 2048}};
    for (DType dt : dtypes) {
        if (!only.empty() && only.find("," + lower(std::string(dtype_name(dt))) + ",") == std::string::npos) continue;
        for (const auto& sh : shapes)
            for (int n : ns)
                for (int t : threads) {
                    const int64_t K = sh[0], M = sh[1];
                    MatVec c(cpu_backend(), t, dt, K, M, n, footprint, pack);
                    const double tc = c.median_seconds(reps);
                    const double gb = static_cast<double>(c.weight_bytes) / 1e9;
                    double tr = 0;
                    if (reference) {
                        MatVec r(reference_backend(), t, dt, K, M, n, footprint, pack);
                        tr = r.median_seconds(std::max(1, reps / 5));
                    }
                    char shape[32];
                    std::snprintf(shape, sizeof shape, "%ldx%ld", static_cast<long>(K), static_cast<long>(M));
                    std::printf("%-5s %-11s %2d %3d | %9.3f %7.2f %4.0f%% | ", std::string(dtype_name(dt)).c_str(), shape, n, t,
                                tc * 1e3, gb / tc, 100.0 * gb / tc / peak);
                    if (reference) std::printf("%9.3f %7.2f | %6.1fx\n", tr * 1e3, gb / tr, tr / tc);
                    else std::printf("%9s %7s | %7s\n", "-", "-", "-");
                    std::fflush(stdout);
                }
    }
    return 0;
}
