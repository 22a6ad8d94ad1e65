// Continuous batching: many requests share one model. Each step evaluates one
// batch holding the next token of every generating sequence plus chunks of the
// prompts waiting to be prefilled, so new requests join between steps and a long
// prompt never stalls the running streams for more than a chunk.
//
// KV memory is paged (KvBlockPool): a request is admitted only when the blocks
// for its prompt and its longest reply can be reserved, so memory use is bounded
// and no request ever runs out of cache halfway.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "engine/request.h"

namespace suanli {

class Model;
class Tokenizer;

struct EngineOptions {
    int32_t parallel = 16;      // sequences in the running batch at most
    int64_t ctx_size = 2048;    // prompt + generated tokens of one request at most
    int64_t kv_cells = 0;       // KV cache size in tokens; 0: max(ctx_size, parallel * min(ctx_size, 1024))
    int32_t block_size = 16;    // KV cells per block
    int64_t step_tokens = 256;  // tokens evaluated per step at most; prompts are prefilled in chunks of what is left
    double step_seconds = 0.5;  // and fewer when the measured speed says a step would take longer (0: no limit),
                                // so a new prompt delays the running streams' next token by about this much
    size_t queue = 64;          // requests waiting for a place in the batch at most
    DType kv_type = DType::F32; // the KV cache's elements
};

struct EngineStats {
    size_t queued = 0;
    size_t running = 0;
    int32_t kv_blocks = 0, kv_blocks_used = 0, kv_blocks_cached = 0;
    uint64_t kv_bytes = 0;
    int64_t last_batch_tokens = 0;
};

enum class SubmitStatus { Accepted, QueueFull, ShuttingDown };

class Engine {
public:
    Engine(const Model& model, const Tokenizer& tokenizer, EngineOptions options);
    ~Engine();  // cancels what is left and joins the engine thread
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Queues a request (thread-safe). When accepted, `id` names it for cancel() and
    // `sink` hears from the engine thread. A prompt that cannot fit ends at once with an error.
    SubmitStatus submit(std::vector<int32_t> prompt, GenerationParams params, std::shared_ptr<RequestSink> sink,
                        uint64_t* id = nullptr);
    // Ends a request, queued or running, with FinishReason::Cancelled (thread-safe).
    void cancel(uint64_t id);

    // Refuses new requests from now on.
    void stop_accepting();
    // Waits until nothing is queued or running, or until `deadline`; true if idle.
    bool wait_idle(std::chrono::steady_clock::time_point deadline);
    void cancel_all();

    EngineStats stats() const;
    const EngineOptions& options() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace suanli
