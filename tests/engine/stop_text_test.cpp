#include "engine/stop_text.h"

#include <gtest/gtest.h>

namespace suanli {
namespace {

std::string feed(StopText& s, std::initializer_list<std::string_view> pieces) {
    std::string out;
    for (std::string_view p : pieces) out += s.push(p);
    return out;
}

TEST(StopText, PassesTextThroughWithoutStops) {
    StopText s({});
    EXPECT_EQ(s.push("Hello"), "Hello");
    EXPECT_EQ(s.push(" world"), " world");
    EXPECT_EQ(s.finish(), "");
}

TEST(StopText, HoldsBackAPossibleStartAndCutsAtTheStop) {
    StopText s({"\n\nUser:"});
    EXPECT_EQ(s.push("Hi there."), "Hi there.");
    EXPECT_EQ(s.push("\n"), "");        // could begin the stop sequence
    EXPECT_EQ(s.push("\nUs"), "");
    EXPECT_EQ(s.push("er: more"), "");  // completes it: nothing after is shown
    EXPECT_TRUE(s.stopped());
    EXPECT_EQ(s.push("ignored"), "");
    EXPECT_EQ(s.finish(), "");
}

TEST(StopText, ReleasesHeldTextWhenItTurnsOutNotToBeAStop) {
    StopText s({"END"});
    EXPECT_EQ(feed(s, {"the E", "N"}), "the ");
    EXPECT_EQ(s.push("Dless"), "");  // "ENDless": stop found
    EXPECT_TRUE(s.stopped());

    StopText t({"END"});
    EXPECT_EQ(feed(t, {"the E", "x"}), "the Ex");
    EXPECT_EQ(feed(t, {"EN"}), "");
    EXPECT_EQ(t.finish(), "EN");  // the end of generation releases it
    EXPECT_FALSE(t.stopped());
}

TEST(StopText, EarliestOfSeveralStopsWins) {
    StopText s({"bb", "ab"});
    EXPECT_EQ(s.push("xxabb"), "xx");
    EXPECT_TRUE(s.stopped());
}

TEST(StopText, KeepsMultiByteCharactersWhole) {
    StopText s({});
    EXPECT_EQ(s.push("\xe4\xbd"), "");
    EXPECT_EQ(s.push("\xa0"), "\xe4\xbd\xa0");
}

}  // namespace
}  // namespace suanli
