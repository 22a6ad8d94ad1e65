// The server over real loopback sockets: whole and streamed responses,
// keep-alive, the error statuses, connection limits, and on_close firing when a
// client leaves. Waits are on events with deadlines, never fixed sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"
#include "http_test_client.h"
#include "server/http/http_server.h"

namespace suanli::http {
namespace {

using testing::Response;
using testing::TestClient;
using namespace std::chrono_literals;

constexpr auto kWait = 5s;

ServerOptions test_options() {
    ServerOptions o;
    o.port = 0;
    o.max_header_bytes = 1024;
    o.max_body_bytes = 4096;
    return o;
}

// Waits for `done` (set from another thread) for at most kWait.
bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

// A one-shot signal between threads.
struct Signal {
    std::promise<void> promise;
    std::shared_future<void> future = promise.get_future().share();
    std::once_flag once;
    void set() { std::call_once(once, [&] { promise.set_value(); }); }
    bool wait() const { return future.wait_for(kWait) == std::future_status::ready; }
};

void echo(const Request& request, std::shared_ptr<Responder> responder) {
    responder->send(200, "text/plain", request.method + " " + std::string(request.path()) + " " + request.body,
                    {{"X-Test", "yes"}});
}

TEST(HttpServer, WholeResponse) {
    HttpServer server(test_options(), echo);
    ASSERT_NE(server.port(), 0);
    server.start();
    TestClient client(server.port());
    ASSERT_TRUE(client.connected());
    client.send("POST /v1/x?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
    Response r = client.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.body, "POST /v1/x hello");
    EXPECT_NE(r.head.find("Content-Type: text/plain\r\n"), std::string::npos);
    EXPECT_NE(r.head.find("X-Test: yes\r\n"), std::string::npos);
    EXPECT_EQ(r.head.find("Connection: close"), std::string::npos);
}

TEST(HttpServer, KeepAliveAndPipelining) {
    HttpServer server(test_options(), echo);
    server.start();
    TestClient client(server.port());
    client.send("GET /one HTTP/1.1\r\n\r\n");
    EXPECT_EQ(client.read_response().body, "GET /one ");
    client.send("GET /two HTTP/1.1\r\n\r\n");
    EXPECT_EQ(client.read_response().body, "GET /two ");
    // Three at once: answered in order.
    client.send("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /c HTTP/1.1\r\n\r\n");
    EXPECT_EQ(client.read_response().body, "GET /a ");
    EXPECT_EQ(client.read_response().body, "POST /b xy");
    EXPECT_EQ(client.read_response().body, "GET /c ");
    EXPECT_EQ(server.open_connections(), 1u);
}

TEST(HttpServer, ConnectionCloseIsRespected) {
    HttpServer server(test_options(), echo);
    server.start();
    TestClient client(server.port());
    client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    Response r = client.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.head.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(client.wait_closed());
    // HTTP/1.0 without keep-alive closes too.
    TestClient old(server.port());
    old.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(old.read_response().status, 200);
    EXPECT_TRUE(old.wait_closed());
    // HTTP/1.0 with keep-alive stays open and says so.
    TestClient kept(server.port());
    kept.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    Response r10 = kept.read_response();
    EXPECT_NE(r10.head.find("Connection: keep-alive\r\n"), std::string::npos);
    kept.send("GET /b HTTP/1.0\r\n\r\n");
    EXPECT_EQ(kept.read_response().body, "GET /b ");
    EXPECT_TRUE(kept.wait_closed());
}

TEST(HttpServer, StreamFromAnotherThreadArrivesInChunks) {
    Signal got_first, got_second;
    std::thread producer;
    HttpServer server(test_options(), [&](const Request& request, std::shared_ptr<Responder> responder) {
        if (request.path() != "/stream") return echo(request, responder);
        responder->begin_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
        producer = std::thread([&, responder] {
            EXPECT_TRUE(responder->write("data: 1\n\n"));
            got_first.wait();  // the client has the first chunk before the second is written
            EXPECT_TRUE(responder->write("data: 22\n\n"));
            got_second.wait();
            responder->end();
        });
    });
    server.start();
    TestClient client(server.port());
    client.send("GET /stream HTTP/1.1\r\n\r\n");
    Response head = client.read_head();
    EXPECT_EQ(head.status, 200);
    EXPECT_NE(head.head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_NE(head.head.find("Content-Type: text/event-stream\r\n"), std::string::npos);
    std::string chunk;
    ASSERT_TRUE(client.read_chunk(chunk));
    EXPECT_EQ(chunk, "data: 1\n\n");
    got_first.set();
    ASSERT_TRUE(client.read_chunk(chunk));
    EXPECT_EQ(chunk, "data: 22\n\n");
    got_second.set();
    ASSERT_TRUE(client.read_chunk(chunk));
    EXPECT_EQ(chunk, "");
    producer.join();
    // The connection stays open for the next request.
    client.send("GET /again HTTP/1.1\r\n\r\n");
    EXPECT_EQ(client.read_response().body, "GET /again ");
}

TEST(HttpServer, OnCloseWhenClientLeavesMidStream) {
    Signal closed;
    std::shared_ptr<Responder> kept;
    std::mutex mutex;
    HttpServer server(test_options(), [&](const Request&, std::shared_ptr<Responder> responder) {
        responder->on_close([&] { closed.set(); });
        responder->begin_stream(200, "text/event-stream");
        responder->write("first");
        std::lock_guard lock(mutex);
        kept = responder;
    });
    server.start();
    TestClient client(server.port());
    client.send("GET / HTTP/1.1\r\n\r\n");
    std::string chunk;
    ASSERT_EQ(client.read_head().status, 200);
    ASSERT_TRUE(client.read_chunk(chunk));
    client.close();
    EXPECT_TRUE(closed.wait());
    std::lock_guard lock(mutex);
    ASSERT_TRUE(kept);
    EXPECT_TRUE(kept->closed());
    EXPECT_FALSE(kept->write("more"));
    EXPECT_TRUE(eventually([&] { return server.open_connections() == 0; }));
}

TEST(HttpServer, OnCloseWhenClientLeavesBeforeTheAnswer) {
    Signal closed;
    std::atomic<int> calls{0};
    std::shared_ptr<Responder> kept;
    std::mutex mutex;
    Signal handled;
    HttpServer server(test_options(), [&](const Request&, std::shared_ptr<Responder> responder) {
        responder->on_close([&] {
            ++calls;
            closed.set();
        });
        std::lock_guard lock(mutex);
        kept = responder;
        handled.set();
    });
    server.start();
    TestClient client(server.port());
    client.send("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    ASSERT_TRUE(handled.wait());
    client.close();
    EXPECT_TRUE(closed.wait());
    std::lock_guard lock(mutex);
    EXPECT_TRUE(kept->closed());
    // Registered after the disconnect: runs at once, here.
    bool now = false;
    kept->on_close([&] { now = true; });
    EXPECT_TRUE(now);
    kept->send(200, "text/plain", "too late");  // ignored, no crash
    EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServer, DisconnectRightAfterSendingTheRequest) {
    // The request and the FIN can arrive in one read: the handler still runs, then on_close.
    Signal closed;
    std::atomic<bool> handled{false};
    HttpServer server(test_options(), [&](const Request&, std::shared_ptr<Responder> responder) {
        handled = true;
        responder->on_close([&] { closed.set(); });
    });
    server.start();
    {
        TestClient client(server.port());
        client.send("GET / HTTP/1.1\r\n\r\n");
        ::shutdown(client.fd(), SHUT_WR);
    }
    EXPECT_TRUE(closed.wait());
    EXPECT_TRUE(handled);
}

TEST(HttpServer, NoOnCloseAfterTheResponseEnded) {
    std::atomic<int> calls{0};
    HttpServer server(test_options(), [&](const Request&, std::shared_ptr<Responder> responder) {
        responder->on_close([&] { ++calls; });
        responder->send(200, "text/plain", "done");
    });
    server.start();
    {
        TestClient client(server.port());
        client.send("GET / HTTP/1.1\r\n\r\n");
        EXPECT_EQ(client.read_response().body, "done");
    }
    EXPECT_TRUE(eventually([&] { return server.open_connections() == 0; }));
    EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, RejectsTooLargeBodyWith413) {
    std::atomic<int> calls{0};
    HttpServer server(test_options(), [&](const Request&, std::shared_ptr<Responder> r) {
        ++calls;
        r->send(200, "text/plain", "");
    });
    server.start();
    TestClient client(server.port());
    client.send("POST / HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n" + std::string(1000, 'x'));
    Response r = client.read_response();
    EXPECT_EQ(r.status, 413);
    EXPECT_NE(r.head.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(client.wait_closed());
    EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServer, RejectsLargeHeadersWith431AndBadRequestsWith400) {
    ServerOptions options = test_options();
    options.error_body = [](int status, std::string_view message) {
        return "{\"error\":{\"code\":" + std::to_string(status) + "}}";
    };
    HttpServer server(options, echo);
    server.start();
    TestClient big(server.port());
    big.send("GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
    Response r = big.read_response();
    EXPECT_EQ(r.status, 431);
    EXPECT_EQ(r.body, "{\"error\":{\"code\":431}}");
    EXPECT_NE(r.head.find("Content-Type: application/json\r\n"), std::string::npos);
    EXPECT_TRUE(big.wait_closed());

    TestClient bad(server.port());
    bad.send("GET / HTTP/1.1\r\nno colon here\r\n\r\n");
    EXPECT_EQ(bad.read_response().status, 400);
    EXPECT_TRUE(bad.wait_closed());

    TestClient version(server.port());
    version.send("GET / HTTP/3.0\r\n\r\n");
    EXPECT_EQ(version.read_response().status, 505);

    TestClient chunked(server.port());
    chunked.send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(chunked.read_response().status, 411);

    // A good request after a bad one on the same connection is not read.
    TestClient two(server.port());
    two.send("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(two.read_response().status, 400);
    EXPECT_TRUE(two.wait_closed());
}

TEST(HttpServer, HandlerExceptionIs500) {
    HttpServer server(test_options(), [](const Request& request, std::shared_ptr<Responder>) {
        fail("no model named ", request.path());
    });
    server.start();
    TestClient client(server.port());
    client.send("GET /m HTTP/1.1\r\n\r\n");
    Response r = client.read_response();
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, "no model named /m\n");
    // The connection survives.
    client.send("GET /m HTTP/1.1\r\n\r\n");
    EXPECT_EQ(client.read_response().status, 500);
}

TEST(HttpServer, HandlerExceptionMidStreamCutsTheStreamOff) {
    HttpServer server(test_options(), [](const Request&, std::shared_ptr<Responder> responder) {
        responder->begin_stream(200, "text/event-stream");
        responder->write("partial");
        throw std::runtime_error("boom");
    });
    server.start();
    TestClient client(server.port());
    client.send("GET / HTTP/1.1\r\n\r\n");
    Response r = client.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "partial");
    EXPECT_FALSE(r.complete);  // no final chunk: the client can tell
    EXPECT_TRUE(client.wait_closed());
}

TEST(HttpServer, HeadHasNoBody) {
    HttpServer server(test_options(), echo);
    server.start();
    TestClient client(server.port());
    client.send("HEAD /h HTTP/1.1\r\n\r\nGET /g HTTP/1.1\r\n\r\n");
    std::string head = client.read_until("\r\n\r\n");
    EXPECT_NE(head.find("Content-Length: 8\r\n"), std::string::npos);  // "HEAD /h "
    // The next bytes are the second response, not a body.
    EXPECT_EQ(client.read_response().body, "GET /g ");
}

TEST(HttpServer, ManyConcurrentStreams) {
    constexpr int kClients = 16, kChunks = 50;
    std::mutex mutex;
    std::vector<std::thread> producers;
    HttpServer server(test_options(), [&](const Request& request, std::shared_ptr<Responder> responder) {
        responder->begin_stream(200, "text/plain");
        std::string id(request.path().substr(1));
        std::lock_guard lock(mutex);
        producers.emplace_back([responder, id] {
            for (int i = 0; i < kChunks; ++i) responder->write(id + ":" + std::to_string(i) + ";");
            responder->end();
        });
    });
    server.start();
    std::vector<std::thread> clients;
    std::atomic<int> good{0};
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&, c] {
            TestClient client(server.port());
            client.send("GET /" + std::to_string(c) + " HTTP/1.1\r\n\r\n");
            Response r = client.read_response();
            std::string expected;
            for (int i = 0; i < kChunks; ++i) expected += std::to_string(c) + ":" + std::to_string(i) + ";";
            if (r.complete && r.body == expected) ++good;
        });
    for (std::thread& t : clients) t.join();
    EXPECT_EQ(good.load(), kClients);
    std::lock_guard lock(mutex);
    for (std::thread& t : producers) t.join();
}

TEST(HttpServer, ExpectContinue) {
    HttpServer server(test_options(), echo);
    server.start();
    TestClient client(server.port());
    client.send("POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    EXPECT_EQ(client.read_until("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
    client.send("body");
    EXPECT_EQ(client.read_response().body, "POST /e body");
}

TEST(HttpServer, MaxConnectionsGets503) {
    ServerOptions options = test_options();
    options.max_connections = 1;
    HttpServer server(options, echo);
    server.start();
    TestClient first(server.port());
    first.send("GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(first.read_response().status, 200);
    EXPECT_EQ(server.open_connections(), 1u);
    TestClient second(server.port());
    ASSERT_TRUE(second.connected());
    second.send("GET / HTTP/1.1\r\n\r\n");
    Response r = second.read_response();
    EXPECT_EQ(r.status, 503);
    EXPECT_TRUE(second.wait_closed());
    EXPECT_EQ(server.open_connections(), 1u);
    // Once the first leaves there is room again.
    first.close();
    ASSERT_TRUE(eventually([&] { return server.open_connections() == 0; }));
    TestClient third(server.port());
    third.send("GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(third.read_response().status, 200);
}

TEST(HttpServer, StopAccepting) {
    HttpServer server(test_options(), echo);
    server.start();
    TestClient open(server.port());
    open.send("GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(open.read_response().status, 200);
    server.stop_accepting();
    TestClient late(server.port());
    EXPECT_FALSE(late.connected());
    open.send("GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(open.read_response().status, 200);
}

TEST(HttpServer, ShutdownWhileStreamingClosesTheResponder) {
    Signal streaming, closed;
    std::shared_ptr<Responder> kept;
    std::mutex mutex;
    HttpServer server(test_options(), [&](const Request&, std::shared_ptr<Responder> responder) {
        responder->begin_stream(200, "text/event-stream");
        responder->on_close([&] { closed.set(); });
        std::lock_guard lock(mutex);
        kept = responder;
        streaming.set();
    });
    server.start();
    TestClient client(server.port());
    client.send("GET / HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(streaming.wait());
    ASSERT_EQ(client.read_head().status, 200);
    server.shutdown();
    EXPECT_TRUE(closed.wait());
    std::lock_guard lock(mutex);
    EXPECT_TRUE(kept->closed());
    EXPECT_FALSE(kept->write("after"));
    kept->end();  // harmless
    EXPECT_TRUE(client.wait_closed());
    EXPECT_EQ(server.open_connections(), 0u);
}

TEST(HttpServer, IdleConnectionsAreClosed) {
    ServerOptions options = test_options();
    options.idle_timeout = 100ms;
    HttpServer server(options, echo);
    server.start();
    TestClient client(server.port());
    client.send("GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(client.read_response().status, 200);
    EXPECT_TRUE(client.wait_closed());
    EXPECT_TRUE(eventually([&] { return server.open_connections() == 0; }));
}

TEST(HttpServer, ARequestThatDripsInIsCutOffWith408) {
    ServerOptions options = test_options();
    options.request_timeout = 200ms;
    options.idle_timeout = 1s;  // each byte would keep it from firing (and it bounds the linger after the 408)
    HttpServer server(options, echo);
    server.start();
    TestClient client(server.port());
    ASSERT_TRUE(client.send("GET / HTTP/1.1\r\n"));
    // A header byte every 50 ms: never idle, never whole.
    std::atomic<bool> answered{false};
    std::thread drip([&] {
        for (int i = 0; i < 40 && !answered && client.send("X"); ++i) std::this_thread::sleep_for(50ms);
    });
    EXPECT_EQ(client.read_response().status, 408);
    answered = true;
    drip.join();
    EXPECT_TRUE(eventually([&] { return server.open_connections() == 0; }));
}

TEST(HttpServer, TheRequestTimeoutCountsOnlyWhileARequestArrives) {
    ServerOptions options = test_options();
    options.request_timeout = 300ms;
    options.idle_timeout = 10s;
    HttpServer server(options, echo);
    server.start();
    TestClient client(server.port());
    // Idle between requests for longer than the request timeout: still served.
    ASSERT_TRUE(client.send("GET /a HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(client.read_response().status, 200);
    std::this_thread::sleep_for(600ms);
    // And a request in two parts, the second well within it.
    ASSERT_TRUE(client.send("GET /b HTTP/1.1\r\n"));
    std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(client.send("\r\n"));
    EXPECT_EQ(client.read_response().status, 200);
}

TEST(HttpServer, SlowReaderIsCutOffWithoutBlockingOthers) {
    Signal gave_up, cut;
    std::atomic<int> written{0};
    std::thread producer;
    HttpServer server(test_options(), [&](const Request& request, std::shared_ptr<Responder> responder) {
        if (request.path() != "/flood") return echo(request, responder);
        responder->begin_stream(200, "application/octet-stream");
        responder->on_close([&] { cut.set(); });
        producer = std::thread([&, responder] {
            const std::string block(1 << 20, 'x');
            int i = 0;
            while (i < 1024 && responder->write(block)) ++i;
            written = i;
            if (responder->closed()) gave_up.set();
        });
    });
    server.start();
    TestClient slow(server.port(), 4096);
    slow.send("GET /flood HTTP/1.1\r\n\r\n");  // and never reads
    TestClient other(server.port());
    other.send("GET /hi HTTP/1.1\r\n\r\n");
    EXPECT_EQ(other.read_response().body, "GET /hi ");
    EXPECT_TRUE(gave_up.wait());
    EXPECT_TRUE(cut.wait());
    producer.join();
    // The cap (8 MiB) bounds what is queued; the kernel's socket buffers take a few more.
    EXPECT_LT(written.load(), 32) << "MiB written before the cut";
}

TEST(HttpServer, ListenErrorsNameTheAddress) {
    HttpServer first(test_options(), echo);
    ServerOptions options = test_options();
    options.port = first.port();
    try {
        HttpServer second(options, echo);
        // SO_REUSEADDR does not allow two listeners on one port.
        FAIL() << "bound twice";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace suanli::http
