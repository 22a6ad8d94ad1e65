// The incremental request parser: every split of the input gives the same
// requests, pipelined requests come out one by one, and bad input gets the
// status RFC 9110/9112 asks for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/http/request_parser.h"

namespace suanli::http {
namespace {

using Status = RequestParser::Status;

struct Parsed {
    std::vector<Request> requests;
    std::vector<bool> keep_alive;
    int error = 0;
};

// Feeds `pieces` one after another, taking every request that completes.
Parsed parse(const std::vector<std::string>& pieces, size_t max_header = 1024, size_t max_body = 1024) {
    RequestParser parser(max_header, max_body);
    Parsed out;
    for (const std::string& piece : pieces) {
        parser.feed(piece);
        for (;;) {
            Status s = parser.next();
            if (s == Status::incomplete) break;
            if (s == Status::failed) {
                out.error = parser.error_status();
                return out;
            }
            out.keep_alive.push_back(parser.keep_alive());
            out.requests.push_back(parser.take());
        }
    }
    return out;
}

Parsed parse(const std::string& text, size_t max_header = 1024, size_t max_body = 1024) {
    return parse(std::vector<std::string>{text}, max_header, max_body);
}

const std::string kTwo =
    "POST /v1/chat/completions?stream=1 HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Content-Type:application/json \r\n"
    "Content-Length: 11\r\n"
    "X-Empty:\r\n"
    "\r\n"
    "{\"a\": true}"
    "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

void expect_two(const Parsed& p) {
    ASSERT_EQ(p.error, 0);
    ASSERT_EQ(p.requests.size(), 2u);
    const Request& a = p.requests[0];
    EXPECT_EQ(a.method, "POST");
    EXPECT_EQ(a.target, "/v1/chat/completions?stream=1");
    EXPECT_EQ(a.path(), "/v1/chat/completions");
    EXPECT_EQ(a.body, "{\"a\": true}");
    ASSERT_EQ(a.headers.size(), 4u);
    EXPECT_EQ(a.headers[1].first, "content-type");
    EXPECT_EQ(a.headers[1].second, "application/json");
    ASSERT_NE(a.header("x-empty"), nullptr);
    EXPECT_EQ(*a.header("x-empty"), "");
    EXPECT_EQ(a.header("missing"), nullptr);
    EXPECT_TRUE(p.keep_alive[0]);
    const Request& b = p.requests[1];
    EXPECT_EQ(b.method, "GET");
    EXPECT_EQ(b.path(), "/v1/models");
    EXPECT_EQ(b.body, "");
    EXPECT_FALSE(p.keep_alive[1]);
}

TEST(RequestParser, PipelinedInOnePiece) { expect_two(parse(kTwo)); }

TEST(RequestParser, SplitAtEveryByte) {
    for (size_t i = 0; i <= kTwo.size(); ++i) {
        SCOPED_TRACE(i);
        expect_two(parse({kTwo.substr(0, i), kTwo.substr(i)}));
    }
    for (size_t i = 0; i <= kTwo.size(); ++i)
        for (size_t j = i; j <= kTwo.size(); j += 7) {
            SCOPED_TRACE(testing::Message() << i << "," << j);
            expect_two(parse({kTwo.substr(0, i), kTwo.substr(i, j - i), kTwo.substr(j)}));
        }
}

TEST(RequestParser, OneByteAtATime) {
    std::vector<std::string> bytes;
    for (char c : kTwo) bytes.emplace_back(1, c);
    expect_two(parse(bytes));
}

TEST(RequestParser, BareLineFeedsAndLeadingEmptyLines) {
    Parsed p = parse("\r\n\nGET / HTTP/1.1\nHost: a\n\nGET /b HTTP/1.0\r\n\r\n");
    ASSERT_EQ(p.error, 0);
    ASSERT_EQ(p.requests.size(), 2u);
    EXPECT_EQ(*p.requests[0].header("host"), "a");
    EXPECT_EQ(p.requests[1].target, "/b");
}

TEST(RequestParser, KeepAliveRules) {
    auto keep = [](const std::string& version, const std::string& connection) {
        std::string text = "GET / " + version + "\r\n";
        if (!connection.empty()) text += "Connection: " + connection + "\r\n";
        Parsed p = parse(text + "\r\n");
        EXPECT_EQ(p.requests.size(), 1u);
        return !p.keep_alive.empty() && p.keep_alive[0];
    };
    EXPECT_TRUE(keep("HTTP/1.1", ""));
    EXPECT_FALSE(keep("HTTP/1.1", "close"));
    EXPECT_FALSE(keep("HTTP/1.1", "Upgrade, CLOSE"));
    EXPECT_FALSE(keep("HTTP/1.0", ""));
    EXPECT_TRUE(keep("HTTP/1.0", "Keep-Alive"));
}

TEST(RequestParser, HeaderLimitIs431) {
    std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
    EXPECT_EQ(parse(big).error, 431);
    // Decided before the end of the headers arrives.
    EXPECT_EQ(parse(big.substr(0, 1100)).error, 431);
    EXPECT_EQ(parse("GET /" + std::string(2000, 'a')).error, 431);
    // Exactly at the limit is fine.
    std::string head = "GET / HTTP/1.1\r\nX: ";
    std::string fit = head + std::string(1024 - head.size() - 4, 'b') + "\r\n\r\n";
    ASSERT_EQ(fit.size(), 1024u);
    EXPECT_EQ(parse(fit).requests.size(), 1u);
    EXPECT_EQ(parse(fit.substr(0, fit.size() - 2) + "x\r\n\r\n").error, 431);
}

TEST(RequestParser, BodyLimitIs413AsSoonAsContentLengthIsSeen) {
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n").error, 413);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999999\r\n\r\n").error, 413);
    Parsed ok = parse("POST / HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'z'));
    ASSERT_EQ(ok.requests.size(), 1u);
    EXPECT_EQ(ok.requests[0].body.size(), 1024u);
}

TEST(RequestParser, IncompleteBodyWaits) {
    RequestParser parser(1024, 1024);
    parser.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nab");
    EXPECT_EQ(parser.next(), Status::incomplete);
    EXPECT_TRUE(parser.take_continue());
    EXPECT_FALSE(parser.take_continue());
    parser.feed("cde");
    ASSERT_EQ(parser.next(), Status::complete);
    EXPECT_EQ(parser.take().body, "abcde");
    EXPECT_EQ(parser.buffered(), 0u);
}

TEST(RequestParser, TransferEncodingIsRefused) {
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").error, 411);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").error, 501);
}

TEST(RequestParser, UnsupportedVersionIs505) {
    EXPECT_EQ(parse("GET / HTTP/2.0\r\n\r\n").error, 505);
    EXPECT_EQ(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").error, 505);
    EXPECT_EQ(parse("GET / HTTP/0.9\r\n\r\n").error, 505);
}

TEST(RequestParser, MalformedIs400) {
    const char* bad[] = {
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.10\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\n: x\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    };
    for (const char* text : bad) {
        SCOPED_TRACE(text);
        EXPECT_EQ(parse(text).error, 400);
    }
    // A NUL inside a header value (the literal above stops at it).
    EXPECT_EQ(parse(std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27)).error, 400);
    // Duplicate but equal Content-Length is accepted.
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab").requests.size(), 1u);
}

TEST(RequestParser, StaysFailed) {
    RequestParser parser(1024, 1024);
    parser.feed("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(parser.next(), Status::failed);
    EXPECT_EQ(parser.next(), Status::failed);
    EXPECT_EQ(parser.error_status(), 400);
    EXPECT_FALSE(parser.error_message().empty());
}

TEST(RequestParser, LongKeepAliveDoesNotGrow) {
    RequestParser parser(1024, 1024);
    const std::string one = "GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    for (int i = 0; i < 10000; ++i) {
        parser.feed(one);
        ASSERT_EQ(parser.next(), Status::complete);
        parser.take();
        ASSERT_EQ(parser.next(), Status::incomplete);
    }
    EXPECT_EQ(parser.buffered(), 0u);
}

TEST(HttpMessage, ReasonPhrases) {
    EXPECT_EQ(reason_phrase(200), "OK");
    EXPECT_EQ(reason_phrase(404), "Not Found");
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(799), "Unknown");
    Request r;
    r.target = "/a/b?c=d";
    EXPECT_EQ(r.path(), "/a/b");
    r.target = "/plain";
    EXPECT_EQ(r.path(), "/plain");
}

}  // namespace
}  // namespace suanli::http
