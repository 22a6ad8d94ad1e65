#include "engine/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/error.h"
#include "engine/kv_block_pool.h"
#include "engine/stop_text.h"
#include "models/model.h"
#include "runtime/batch_runner.h"
#include "runtime/kv_cache.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

struct Sequence {
    uint64_t id = 0;
    std::vector<int32_t> tokens;  // prompt, then generated tokens
    int64_t n_prompt = 0;
    int64_t n_computed = 0;       // tokens whose K/V are in the cache
    int64_t n_cached = 0;         // prompt tokens that came from the prefix cache
    int64_t limit = 0;            // tokens (prompt + generated) it may reach
    std::vector<int32_t> blocks;  // block table
    int32_t reserved = 0;         // blocks reserved for it and not yet allocated
    int32_t n_published = 0;      // leading blocks published to the prefix cache
    uint64_t chain = 0;           // chain hash of those blocks
    GenerationParams params;
    Sampler sampler;
    StopText text;
    std::shared_ptr<RequestSink> sink;

    Sequence(GenerationParams p, int32_t n_vocab)
        : params(std::move(p)), sampler(params.sampling, n_vocab), text(params.stop) {}
    int64_t n_generated() const { return static_cast<int64_t>(tokens.size()) - n_prompt; }
};

int32_t blocks_for(int64_t tokens, int32_t block_size) {
    return static_cast<int32_t>((tokens + block_size - 1) / block_size);
}

// log-softmax of the chosen token and the `n` most likely tokens, from raw logits.
void fill_logprobs(std::span<const float> logits, int32_t n, TokenEvent& ev) {
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (float l : logits) sum += std::exp(static_cast<double>(l - max));
    const float log_z = max + static_cast<float>(std::log(sum));
    ev.chosen.logprob = logits[static_cast<size_t>(ev.chosen.token)] - log_z;
    std::vector<int32_t> ids(logits.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
    const size_t k = std::min<size_t>(static_cast<size_t>(n), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    for (size_t i = 0; i < k; ++i) ev.top.push_back({ids[i], logits[static_cast<size_t>(ids[i])] - log_z});
}

}  // namespace

// Room for every running request to hold 1024 tokens, and for one to fill the context:
// requests reserve only what their prompt and max_tokens need, so most are shorter.
int64_t default_kv_cells(const EngineOptions& o) {
    return std::max(o.ctx_size, o.parallel * std::min<int64_t>(o.ctx_size, 1024));
}

struct Engine::State {
    const Model& model;
    const Tokenizer& tokenizer;
    EngineOptions options;
    BatchRunner runner;
    KvCache kv;
    KvBlockPool pool;
    int32_t n_vocab;

    mutable std::mutex mutex;
    std::condition_variable wake;     // the engine thread: work, cancellations, shutdown
    std::condition_variable idle;     // wait_idle()
    std::deque<std::unique_ptr<Sequence>> queue;
    std::unordered_set<uint64_t> cancelled;
    size_t n_running = 0;             // mirrors of the engine thread's state, for stats()
    int32_t kv_used = 0, kv_cached = 0;
    bool busy = false;                // work queued or running, as of the end of the last step
    bool cancel_everything = false;
    int64_t last_batch = 0;
    uint64_t next_id = 1;
    bool accepting = true;
    bool quit = false;

    // The engine thread's own.
    std::vector<std::unique_ptr<Sequence>> running;
    int32_t reserved = 0;  // blocks reserved and not yet allocated, all sequences
    double seconds_per_token = 0;  // measured on large steps; 0 until one ran
    std::thread thread;

    State(const Model& m, const Tokenizer& t, const EngineOptions& o)
        : model(m), tokenizer(t), options(o), runner(m),
          kv(m, kv_cells(o), o.kv_type),
          pool(static_cast<int32_t>(kv_cells(o) / o.block_size), o.block_size),
          n_vocab(static_cast<int32_t>(m.config().n_vocab)) {}

    static int64_t kv_cells(const EngineOptions& o) {
        const int64_t cells = o.kv_cells > 0 ? o.kv_cells : default_kv_cells(o);
        return (cells + o.block_size - 1) / o.block_size * o.block_size;
    }

    void loop();
    void admit();
    void step();
    void finish(Sequence& s, FinishReason reason, std::string error = {});
    void advance(Sequence& s, int64_t n_new, std::span<const float> logits);
    void publish_full_blocks(Sequence& s);
};

Engine::Engine(const Model& model, const Tokenizer& tokenizer, EngineOptions options) {
    if (options.parallel <= 0 || options.ctx_size <= 0 || options.block_size <= 0 || options.step_tokens <= 0)
        fail("engine: parallel, context size, block size and step tokens must be positive");
    if (options.ctx_size > model.config().n_ctx_train && model.config().n_ctx_train > 0)
        options.ctx_size = model.config().n_ctx_train;
    state_ = std::make_unique<State>(model, tokenizer, options);
    state_->thread = std::thread([s = state_.get()] { s->loop(); });
}

Engine::~Engine() {
    {
        std::lock_guard lock(state_->mutex);
        state_->quit = true;
        state_->accepting = false;
    }
    state_->wake.notify_all();
    state_->thread.join();
}

const EngineOptions& Engine::options() const { return state_->options; }

SubmitStatus Engine::submit(std::vector<int32_t> prompt, GenerationParams params, std::shared_ptr<RequestSink> sink,
                            uint64_t* id) {
    State& st = *state_;
    auto seq = std::make_unique<Sequence>(std::move(params), st.n_vocab);
    seq->n_prompt = static_cast<int64_t>(prompt.size());
    seq->tokens = std::move(prompt);
    seq->sink = std::move(sink);
    const int64_t ctx = st.options.ctx_size;
    const int64_t capacity = static_cast<int64_t>(st.pool.n_blocks()) * st.pool.block_size();
    seq->limit = seq->params.max_tokens < 0 ? ctx : std::min<int64_t>(ctx, seq->n_prompt + seq->params.max_tokens);
    seq->limit = std::min(seq->limit, capacity);
    std::string problem;
    if (seq->n_prompt == 0) problem = "the prompt is empty";
    for (int32_t t : seq->tokens)
        if (t < 0 || t >= st.n_vocab) problem = cat("token id ", t, " is outside the vocabulary");
    if (seq->n_prompt >= seq->limit && seq->n_prompt >= std::min(ctx, capacity))
        problem = cat("the prompt has ", seq->n_prompt, " tokens; the context holds ", std::min(ctx, capacity));
    {
        std::lock_guard lock(st.mutex);
        if (!st.accepting) return SubmitStatus::ShuttingDown;
        if (st.queue.size() >= st.options.queue) return SubmitStatus::QueueFull;
        seq->id = st.next_id++;
        if (id) *id = seq->id;
        if (problem.empty()) {
            st.queue.push_back(std::move(seq));
            st.busy = true;
        }
    }
    if (!problem.empty()) {
        Completion c;
        c.reason = FinishReason::Error;
        c.error = problem;
        c.prompt_tokens = seq->n_prompt;
        seq->sink->on_finish(c);
        return SubmitStatus::Accepted;
    }
    st.wake.notify_all();
    return SubmitStatus::Accepted;
}

void Engine::cancel(uint64_t id) {
    {
        std::lock_guard lock(state_->mutex);
        state_->cancelled.insert(id);
    }
    state_->wake.notify_all();
}

void Engine::stop_accepting() {
    std::lock_guard lock(state_->mutex);
    state_->accepting = false;
}

bool Engine::wait_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(state_->mutex);
    return state_->idle.wait_until(lock, deadline,
                                   [&] { return state_->queue.empty() && !state_->busy; });
}

void Engine::cancel_all() {
    {
        std::lock_guard lock(state_->mutex);
        state_->cancel_everything = true;
    }
    state_->wake.notify_all();
}

EngineStats Engine::stats() const {
    const State& st = *state_;
    std::lock_guard lock(st.mutex);
    EngineStats s;
    s.queued = st.queue.size();
    s.running = st.n_running;
    s.kv_blocks = st.pool.n_blocks();
    s.kv_blocks_used = st.kv_used;
    s.kv_blocks_cached = st.kv_cached;
    s.kv_bytes = st.kv.bytes();
    s.last_batch_tokens = st.last_batch;
    return s;
}

void Engine::State::loop() {
    while (true) {
        {
            std::unique_lock lock(mutex);
            wake.wait(lock, [&] {
                return quit || cancel_everything || !queue.empty() || !running.empty() || !cancelled.empty();
            });
            if (quit) {
                for (auto& s : queue) running.push_back(std::move(s));
                queue.clear();
            }
        }
        if (quit) {
            for (auto& s : running) finish(*s, FinishReason::Cancelled);
            std::lock_guard lock(mutex);
            running.clear();
            n_running = 0;
            busy = false;
            idle.notify_all();
            return;
        }
        admit();
        step();
        std::lock_guard lock(mutex);
        n_running = running.size();
        kv_used = pool.used_blocks();
        kv_cached = pool.cached_blocks();
        busy = !queue.empty() || !running.empty();
        if (!busy) idle.notify_all();
    }
}

// Moves cancelled requests out and queued ones into the batch while blocks can be reserved.
void Engine::State::admit() {
    std::vector<std::unique_ptr<Sequence>> dropped;
    {
        std::lock_guard lock(mutex);
        if (cancel_everything) {
            for (const auto& s : queue) cancelled.insert(s->id);
            for (const auto& s : running) cancelled.insert(s->id);
            cancel_everything = false;
        }
        for (auto it = queue.begin(); it != queue.end();) {
            if (cancelled.erase((*it)->id)) {
                dropped.push_back(std::move(*it));
                it = queue.erase(it);
            } else {
                ++it;
            }
        }
        for (auto it = running.begin(); it != running.end();) {
            if (cancelled.erase((*it)->id)) {
                dropped.push_back(std::move(*it));
                it = running.erase(it);
            } else {
                ++it;
            }
        }
        cancelled.clear();  // ids of requests that already ended

        while (!queue.empty() && running.size() < static_cast<size_t>(options.parallel)) {
            Sequence& s = *queue.front();
            const int32_t B = pool.block_size();
            // Reuse cached blocks of the prompt's prefix, but always compute the last
            // prompt token: its logits give the first reply token.
            s.blocks = pool.acquire_prefix(s.tokens, static_cast<int32_t>((s.n_prompt - 1) / B));
            const int32_t need = blocks_for(s.limit, B) - static_cast<int32_t>(s.blocks.size());
            if (need > pool.available_blocks() - reserved) {  // wait for blocks to be freed
                for (int32_t b : s.blocks) pool.release(b);
                s.blocks.clear();
                break;
            }
            s.reserved = need;
            reserved += need;
            s.n_published = static_cast<int32_t>(s.blocks.size());
            s.n_computed = s.n_cached = static_cast<int64_t>(s.blocks.size()) * B;
            for (int32_t i = 0; i < s.n_published; ++i)
                s.chain = KvBlockPool::chain_hash(s.chain, std::span(s.tokens).subspan(static_cast<size_t>(i) * B, B));
            running.push_back(std::move(queue.front()));
            queue.pop_front();
        }
        n_running = running.size();
    }
    for (auto& s : dropped) finish(*s, FinishReason::Cancelled);
}

// One batch: every decoding sequence's next token, then prompt chunks up to the step budget.
void Engine::State::step() {
    if (running.empty()) return;
    const int32_t B = pool.block_size();
    BatchLayout batch;
    std::vector<int32_t> tokens;
    std::vector<Sequence*> members;
    std::vector<int64_t> lengths;
    int64_t budget = options.step_tokens;
    if (options.step_seconds > 0 && seconds_per_token > 0)
        budget = std::clamp<int64_t>(static_cast<int64_t>(options.step_seconds / seconds_per_token), 16, budget);
    auto take = [&](Sequence& s, int64_t n) {
        while (static_cast<int64_t>(s.blocks.size()) * B < s.n_computed + n) {
            const int32_t b = pool.allocate();
            if (b < 0) return finish(s, FinishReason::Error, "out of KV cache blocks");  // reservations prevent this
            s.blocks.push_back(b);
            if (s.reserved > 0) {
                --s.reserved;
                --reserved;
            }
        }
        SequenceSlice& slice = batch.sequences.emplace_back();
        slice.first_token = batch.n_tokens;
        slice.n_tokens = n;
        slice.cells.resize(static_cast<size_t>(s.n_computed + n));
        for (size_t p = 0; p < slice.cells.size(); ++p)
            slice.cells[p] = s.blocks[p / static_cast<size_t>(B)] * B + static_cast<int32_t>(p % static_cast<size_t>(B));
        tokens.insert(tokens.end(), s.tokens.begin() + s.n_computed, s.tokens.begin() + s.n_computed + n);
        batch.n_tokens += n;
        if (s.n_computed + n == static_cast<int64_t>(s.tokens.size()))
            batch.outputs.push_back(static_cast<int32_t>(batch.n_tokens - 1));
        members.push_back(&s);
        lengths.push_back(n);
        budget -= n;
    };
    for (auto& s : running)  // decoding first: streams keep flowing
        if (static_cast<int64_t>(s->tokens.size()) - s->n_computed == 1) take(*s, 1);
    for (auto& s : running) {  // then prefill, oldest first, in chunks
        const int64_t pending = static_cast<int64_t>(s->tokens.size()) - s->n_computed;
        if (pending > 1 && budget > 0) take(*s, std::min(pending, budget));
    }
    if (batch.n_tokens == 0) {
        std::erase_if(running, [](const auto& s) { return s->sink == nullptr; });
        return;
    }
    {
        std::lock_guard lock(mutex);
        last_batch = batch.n_tokens;
    }

    std::vector<float> logits(batch.outputs.size() * static_cast<size_t>(n_vocab));
    const auto started = std::chrono::steady_clock::now();
    try {
        runner.run(kv.refs(), batch, tokens, logits);
        // Large steps are compute-bound, so their time per token predicts the next prefill chunk's.
        if (batch.n_tokens >= 16) {
            const double spt = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() /
                               static_cast<double>(batch.n_tokens);
            seconds_per_token = seconds_per_token > 0 ? 0.7 * seconds_per_token + 0.3 * spt : spt;
        }
    } catch (const Error& e) {
        for (Sequence* s : members) finish(*s, FinishReason::Error, e.what());
        std::erase_if(running, [](const auto& s) { return s->sink == nullptr; });
        return;
    }
    size_t out = 0;
    for (size_t i = 0; i < members.size(); ++i) {
        Sequence& s = *members[i];
        const bool has_output = s.n_computed + lengths[i] == static_cast<int64_t>(s.tokens.size());
        advance(s, lengths[i], has_output ? std::span<const float>(logits).subspan(out++ * n_vocab, n_vocab)
                                          : std::span<const float>{});
    }
    std::erase_if(running, [](const auto& s) { return s->sink == nullptr; });
}

// After a batch: the new tokens are computed; a sequence with logits samples its next token.
void Engine::State::advance(Sequence& s, int64_t n_new, std::span<const float> logits) {
    s.n_computed += n_new;
    publish_full_blocks(s);
    if (logits.empty()) return;

    TokenEvent ev;
    ev.token = s.sampler.sample(logits);
    if (s.params.top_logprobs >= 0) {
        ev.chosen.token = ev.token;
        fill_logprobs(logits, s.params.top_logprobs, ev);
    }
    if (!s.params.ignore_eos && tokenizer.is_end_of_generation(ev.token)) return finish(s, FinishReason::Stop);
    s.sampler.accept(ev.token);
    s.tokens.push_back(ev.token);
    ev.text = s.text.push(tokenizer.token_to_piece(ev.token));
    s.sink->on_token(ev);
    if (s.text.stopped()) return finish(s, FinishReason::Stop);
    if (static_cast<int64_t>(s.tokens.size()) >= s.limit) finish(s, FinishReason::Length);
}

void Engine::State::publish_full_blocks(Sequence& s) {
    const int32_t B = pool.block_size();
    while (static_cast<int64_t>(s.n_published + 1) * B <= s.n_computed) {
        const auto block_tokens = std::span(s.tokens).subspan(static_cast<size_t>(s.n_published) * B, B);
        s.chain = KvBlockPool::chain_hash(s.chain, block_tokens);
        pool.publish(s.blocks[static_cast<size_t>(s.n_published)], s.chain, block_tokens);
        ++s.n_published;
    }
}

// Ends a sequence: frees its blocks and reservation and tells its sink (once).
void Engine::State::finish(Sequence& s, FinishReason reason, std::string error) {
    if (!s.sink) return;
    for (int32_t b : s.blocks) pool.release(b);
    s.blocks.clear();
    reserved -= s.reserved;
    s.reserved = 0;
    Completion c;
    c.reason = reason;
    c.text = reason == FinishReason::Stop || reason == FinishReason::Length ? s.text.finish() : std::string{};
    if (s.text.stopped()) c.reason = FinishReason::Stop;  // the flushed tail ended in a stop sequence
    c.prompt_tokens = s.n_prompt;
    c.cached_tokens = s.n_cached;
    c.completion_tokens = s.n_generated();
    c.error = std::move(error);
    auto sink = std::move(s.sink);
    sink->on_finish(c);
}

}  // namespace suanli
