#include <gtest/gtest.h>

#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8Stream, EmojiPushedByteByByteComesOutOnceWhole) {
    const std::string emoji = "\xF0\x9F\x8D\x8E";  // 🍎
    Utf8Stream s;
    EXPECT_EQ(s.push("a"), "a");
    EXPECT_EQ(s.push(emoji.substr(0, 1)), "");
    EXPECT_EQ(s.push(emoji.substr(1, 1)), "");
    EXPECT_EQ(s.push(emoji.substr(2, 1)), "");
    EXPECT_EQ(s.push(emoji.substr(3, 1) + "b"), emoji + "b");
    EXPECT_EQ(s.finish(), "");
}

TEST(Utf8Stream, WholeCharactersPassStraightThrough) {
    Utf8Stream s;
    EXPECT_EQ(s.push("héllo — 世界"), "héllo — 世界");
    EXPECT_EQ(s.push(""), "");
    EXPECT_EQ(s.finish(), "");
}

TEST(Utf8Stream, IncompleteTailBecomesReplacementAtFinish) {
    Utf8Stream s;
    EXPECT_EQ(s.push("abc\xE2\x82"), "abc");  // first two bytes of €
    EXPECT_EQ(s.finish(), kReplacement);
    // The stream is empty again afterwards.
    EXPECT_EQ(s.push("x"), "x");
    EXPECT_EQ(s.finish(), "");
}

TEST(Utf8Stream, InvalidBytesBecomeReplacement) {
    Utf8Stream s;
    std::string out = s.push("\x80");       // stray continuation byte: never valid
    out += s.push("a\xE9\x80");             // interrupted sequence, held back so far
    out += s.push("Release\xFF");
    out += s.finish();
    // One U+FFFD per maximal subpart, as Python's errors="replace".
    EXPECT_EQ(out, kReplacement + "a" + kReplacement + "Release" + kReplacement);
}

TEST(Utf8Stream, OverlongAndSurrogateEncodingsAreInvalid) {
    Utf8Stream s;
    std::string out = s.push("\xC0\xAF");       // overlong '/'
    out += s.push("\xED\xA0\x80");              // surrogate D800
    out += s.push("\xF4\x90\x80\x80");          // above U+10FFFF
    out += s.finish();
    EXPECT_EQ(out, kReplacement + kReplacement + kReplacement + kReplacement + kReplacement + kReplacement +
                       kReplacement + kReplacement + kReplacement);
}

}  // namespace
}  // namespace suanli
