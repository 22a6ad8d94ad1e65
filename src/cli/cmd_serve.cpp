// suanli serve: an OpenAI-compatible HTTP server with continuous batching.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "cli/backend_options.h"
#include "cli/cache_type_option.h"
#include "cli/chat_template_options.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "core/device.h"
#include "engine/engine.h"
#include "models/model.h"
#include "server/api/api_error.h"
#include "server/http/http_server.h"
#include "server/metrics.h"
#include "server/routes.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

// SIGINT and SIGTERM are blocked in every thread and taken by sigtimedwait on the
// main thread, so no handler runs inside the HTTP loop or the engine.
sigset_t shutdown_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

// Waits up to `timeout` for SIGINT/SIGTERM; true if one came.
bool wait_for_signal(const sigset_t& set, std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000};
    return sigtimedwait(&set, nullptr, &ts) > 0;
}

}  // namespace

int cmd_serve(std::span<const std::string_view> args) {
    std::string model_path = default_model_path().string();
    std::string host = "127.0.0.1", api_key, alias;
    int32_t port = 8080, parallel = 16, ctx_size = 0, queue = 64, threads = default_thread_count();
    int32_t batch = 256, step_ms = 500, block_size = 16, kv_size = 0, max_body_kib = 4096, shutdown_seconds = 10;
    BackendOptions backend;
    ChatTemplateOptions template_options;

    OptionParser p("suanli serve", "Serve a model over HTTP with the OpenAI API (chat and text completions, streamed or "
                                   "not), a web chat page at /, /health and Prometheus /metrics.");
    p.option("-m,--model", &model_path, "PATH", "GGUF model file or Hugging Face model directory (default: the bundled stories260K)");
    p.option("--host", &host, "ADDR", "address to listen on (default 127.0.0.1: this machine only)");
    p.option("--port", &port, "N", "port to listen on; 0 picks a free one (default 8080)", 0, 65535);
    p.option("--parallel", &parallel, "N", "requests generated together at most (default 16)", 1, 1024);
    p.option("-c,--ctx-size", &ctx_size, "N", "tokens of one request, prompt and reply (default: the model's, at most 4096)", 0);
    p.option("--kv-size", &kv_size, "N", "KV cache size in tokens, shared by all requests; each reserves what its prompt and max_tokens need (default: parallel x 1024, at least ctx-size)", 0);
    p.option("--queue", &queue, "N", "requests waiting for a place at most; more get 429 at once (default 64)", 0, 1 << 20);
    p.option("-b,--batch", &batch, "N", "tokens evaluated per step at most; long prompts are prefilled in chunks of it (default 256)", 1, 1 << 16);
    p.option("--step-ms", &step_ms, "MS", "fewer tokens per step when the measured speed says a step would take longer; bounds the "
             "pause a new prompt causes to running streams (default 500; 0: only --batch)", 0, 1 << 20);
    p.option("--block-size", &block_size, "N", "KV cache block size in tokens (default 16)", 1, 4096);
    std::string cache_name = "f32";
    add_cache_type_option(p, cache_name);
    p.option("--api-key", &api_key, "KEY", "require 'Authorization: Bearer KEY' on /v1/ endpoints");
    p.option("--alias", &alias, "NAME", "the model's name in the API (default: the model file's name without extension)");
    p.option("--max-body", &max_body_kib, "KIB", "largest request body in KiB (default 4096)", 1, 1 << 20);
    p.option("--shutdown-timeout", &shutdown_seconds, "S", "on SIGINT/SIGTERM, seconds to let running requests finish (default 10)", 0, 3600);
    p.option("-t,--threads", &threads, "N", "threads to use", 1, 1024);
    add_chat_template_options(p, template_options);
    add_model_backend_options(p, backend);
    p.epilog("Examples:\n  suanli serve -m model.gguf --port 8080\n"
             "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
             "    -d '{\"model\": \"model\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]}'\n"
             "Stop with Ctrl-C (SIGINT) or SIGTERM: new requests are refused, running ones get --shutdown-timeout to finish.\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    const DType kv_type = cache_type(cache_name);

    // Before any thread starts, so that all of them inherit the mask.
    const sigset_t signals = shutdown_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    ModelDevices devices(backend, threads);
    std::fprintf(stderr, "serve: loading %s\n", model_path.c_str());
    const std::unique_ptr<Model> model = devices.load(model_path, kv_size > 0 ? kv_size : int64_t{parallel} * 1024);
    const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(*model);
    const LoadedChatTemplate chat = load_chat_template(*model, *tokenizer, template_options);

    EngineOptions eo;
    eo.parallel = parallel;
    eo.ctx_size = ctx_size > 0 ? ctx_size : std::min<int64_t>(model->config().n_ctx_train, 4096);
    eo.kv_cells = kv_size;
    eo.block_size = block_size;
    eo.step_tokens = batch;
    eo.step_seconds = step_ms / 1000.0;
    eo.queue = static_cast<size_t>(queue);
    eo.kv_type = kv_type;
    Engine engine(*model, *tokenizer, eo);
    const EngineStats st = engine.stats();
    std::fprintf(stderr, "serve: %d requests at once, %lld tokens each, KV cache %d blocks of %d tokens (%.1f MiB)\n",
                 parallel, static_cast<long long>(engine.options().ctx_size), st.kv_blocks, block_size,
                 static_cast<double>(st.kv_bytes) / (1 << 20));

    Metrics metrics;
    RouteConfig rc;
    rc.model_id = alias.empty() ? std::filesystem::path(model_path).filename().replace_extension().string() : alias;
    if (rc.model_id.empty()) rc.model_id = std::filesystem::path(model_path).parent_path().filename().string();
    rc.api_key = api_key;
    Routes routes(engine, *tokenizer, chat.chat_template, metrics, rc);

    http::ServerOptions so;
    so.host = host;
    so.port = static_cast<uint16_t>(port);
    so.max_body_bytes = static_cast<size_t>(max_body_kib) << 10;
    so.error_body = [](int status, std::string_view message) {
        return api::error_json({status, status >= 500 ? "server_error" : "invalid_request_error", std::string(message), {}, {}});
    };
    http::HttpServer server(so, [&routes](const http::Request& r, std::shared_ptr<http::Responder> out) {
        routes.handle(r, std::move(out));
    });
    server.start();
    std::printf("suanli serve: listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    std::fprintf(stderr, "serve: model '%s' with %s; web chat at http://%s:%u/\n", rc.model_id.c_str(),
                 chat.origin.c_str(), host.c_str(), static_cast<unsigned>(server.port()));

    while (!wait_for_signal(signals, std::chrono::milliseconds(1000))) {
    }
    std::fprintf(stderr, "serve: shutting down: no new requests; waiting up to %d s for %zu running\n", shutdown_seconds,
                 engine.stats().running + engine.stats().queued);
    server.stop_accepting();
    routes.start_draining();
    engine.stop_accepting();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(shutdown_seconds);
    bool idle = false;
    while (!idle && std::chrono::steady_clock::now() < deadline) {
        idle = engine.wait_idle(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
        if (!idle && wait_for_signal(signals, std::chrono::milliseconds(0))) break;  // a second signal: stop now
    }
    if (!idle) {
        std::fprintf(stderr, "serve: cancelling the requests still running\n");
        engine.cancel_all();
        engine.wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    }
    // Let the last bytes of finished replies reach their clients.
    for (int i = 0; i < 50 && server.open_connections() > 0; ++i) {
        if (wait_for_signal(signals, std::chrono::milliseconds(20))) break;
    }
    server.shutdown();
    std::fprintf(stderr, "serve: stopped\n");
    return 0;
}

}  // namespace suanli
