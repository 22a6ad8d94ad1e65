#include "cli/options.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace suanli {
namespace {

// A parser shaped like `suanli run`, bound to this fixture's variables.
class Options : public ::testing::Test {
protected:
    Options() : parser("suanli run", "Generate text from a prompt.") {
        parser.option("-n,--n-predict", &n_predict, "N", "tokens to generate", -1, 1 << 20);
        parser.option("--temp", &temp, "T", "sampling temperature", 0.0f, 100.0f);
        parser.option("--top-p", &top_p, "P", "nucleus threshold", 0.0f);
        parser.option("--seed", &seed, "S", "random seed");
        parser.option("-p,--prompt", &prompt, "TEXT", "the prompt");
        parser.option("-c,--ctx-size", &ctx, "N", "context length", 1);
        parser.option("-ngl,--n-gpu-layers", &ngl, "N", "layers on the GPU", 0);
        parser.option("--delta", &delta, "D", "an unbounded int");
        parser.flag("-v,--verbose", &verbose, "print more");
        parser.positional("MODEL", &model, "path to a GGUF file");
        parser.positional("PROMPT", &prompt2, "prompt text", false);
        parser.epilog("example: suanli run model.gguf -p hello");
    }

    void parse(std::vector<std::string_view> args) { parser.parse(args); }

    // The UsageError message for `args`, or "" if none.
    std::string error(std::vector<std::string_view> args) {
        try {
            parser.parse(args);
        } catch (const UsageError& e) {
            return e.what();
        }
        return "";
    }

    int32_t n_predict = 128;
    float temp = 0.8f;
    float top_p = 0.95f;
    uint64_t seed = 42;
    std::string prompt = "hello";
    int32_t ctx = 4096;
    int32_t ngl = 0;
    int32_t delta = 0;
    bool verbose = false;
    std::string model, prompt2;
    OptionParser parser;
};

TEST_F(Options, DefaultsStayWhenNotGiven) {
    parse({"model.gguf"});
    EXPECT_EQ(model, "model.gguf");
    EXPECT_EQ(n_predict, 128);
    EXPECT_FLOAT_EQ(temp, 0.8f);
    EXPECT_EQ(seed, 42u);
    EXPECT_FALSE(verbose);
    EXPECT_FALSE(parser.was_set("-n"));
    EXPECT_FALSE(parser.help_requested());
}

TEST_F(Options, LongNameWithSeparateValue) {
    parse({"--n-predict", "7", "--temp", "0.5", "--seed", "18446744073709551615", "m"});
    EXPECT_EQ(n_predict, 7);
    EXPECT_FLOAT_EQ(temp, 0.5f);
    EXPECT_EQ(seed, 18446744073709551615u);
    EXPECT_TRUE(parser.was_set("-n"));
    EXPECT_TRUE(parser.was_set("--n-predict"));
    EXPECT_TRUE(parser.was_set("--temp"));
    EXPECT_FALSE(parser.was_set("--prompt"));
}

TEST_F(Options, LongNameWithEquals) {
    parse({"--n-predict=9", "--prompt=a=b", "--temp=1e-3", "m"});
    EXPECT_EQ(n_predict, 9);
    EXPECT_EQ(prompt, "a=b");
    EXPECT_FLOAT_EQ(temp, 1e-3f);
    parse({"--prompt=", "m"});
    EXPECT_EQ(prompt, "");
}

TEST_F(Options, ShortNames) {
    parse({"-n", "5", "m", "-p", "hi there"});
    EXPECT_EQ(n_predict, 5);
    EXPECT_EQ(prompt, "hi there");
    parse({"-n6", "m"});
    EXPECT_EQ(n_predict, 6);
    parse({"-n=8", "m"});
    EXPECT_EQ(n_predict, 8);
    parse({"-n-1", "m"});
    EXPECT_EQ(n_predict, -1);
    parse({"-ngl", "33", "m"});  // a multi-letter short name is matched whole
    EXPECT_EQ(ngl, 33);
    parse({"-c", "+512", "m"});
    EXPECT_EQ(ctx, 512);
}

TEST_F(Options, ValuesMayStartWithADash) {
    parse({"-n", "-1", "--prompt", "-x", "m"});
    EXPECT_EQ(n_predict, -1);
    EXPECT_EQ(prompt, "-x");
}

TEST_F(Options, Flags) {
    parse({"-v", "m"});
    EXPECT_TRUE(verbose);
    EXPECT_TRUE(parser.was_set("--verbose"));
    verbose = false;
    parse({"m", "--verbose"});
    EXPECT_TRUE(verbose);
    EXPECT_EQ(error({"--verbose=yes", "m"}), "option '--verbose' does not take a value");
    EXPECT_EQ(error({"-v=1", "m"}), "option '-v' does not take a value");
}

TEST_F(Options, LastOccurrenceWins) {
    parse({"-n", "1", "--n-predict=2", "m", "-n", "3"});
    EXPECT_EQ(n_predict, 3);
}

TEST_F(Options, Positionals) {
    parse({"model.gguf", "the prompt"});
    EXPECT_EQ(model, "model.gguf");
    EXPECT_EQ(prompt2, "the prompt");
    EXPECT_EQ(error({}), "missing MODEL");
    EXPECT_EQ(error({"-n", "3"}), "missing MODEL");
    EXPECT_EQ(error({"a", "b", "x"}), "unexpected argument 'x'");
    parse({"-"});  // a lone dash is an argument (stdin by convention)
    EXPECT_EQ(model, "-");
}

TEST_F(Options, DoubleDashEndsOptions) {
    parse({"-n", "4", "--", "-weird-name.gguf", "--temp"});
    EXPECT_EQ(n_predict, 4);
    EXPECT_EQ(model, "-weird-name.gguf");
    EXPECT_EQ(prompt2, "--temp");
    EXPECT_FLOAT_EQ(temp, 0.8f);
}

TEST_F(Options, UnknownOptionSuggestsTheClosest) {
    EXPECT_EQ(error({"--foo", "m"}), "unknown option '--foo'");
    EXPECT_EQ(error({"--tmep", "m"}), "unknown option '--tmep', did you mean '--temp'?");
    EXPECT_EQ(error({"--tem=1", "m"}), "unknown option '--tem', did you mean '--temp'?");
    EXPECT_EQ(error({"--n-predic", "5"}),
              "unknown option '--n-predic', did you mean '--n-predict'?");
    EXPECT_EQ(error({"-temp", "1", "m"}), "unknown option '-temp', did you mean '--temp'?");
    EXPECT_EQ(error({"--hepl"}), "unknown option '--hepl', did you mean '--help'?");
    EXPECT_EQ(error({"-x", "m"}), "unknown option '-x'");  // one letter off is no hint
    EXPECT_EQ(error({"--verbose-mode", "m"}), "unknown option '--verbose-mode'");
}

TEST_F(Options, NeedsAValue) {
    EXPECT_EQ(error({"m", "-n"}), "option '-n' needs a value");
    EXPECT_EQ(error({"m", "--temp"}), "option '--temp' needs a value");
}

TEST_F(Options, IntegerValues) {
    EXPECT_EQ(error({"-n", "abc", "m"}), "option '-n' expects an integer, got 'abc'");
    EXPECT_EQ(error({"--n-predict=1.5", "m"}),
              "option '--n-predict' expects an integer, got '1.5'");
    EXPECT_EQ(error({"-n", "", "m"}), "option '-n' expects an integer, got ''");
    EXPECT_EQ(error({"-n", "12x", "m"}), "option '-n' expects an integer, got '12x'");
    EXPECT_EQ(error({"-nabc", "m"}), "option '-n' expects an integer, got 'abc'");
    EXPECT_EQ(error({"-n", "-2", "m"}),
              "option '-n' must be between -1 and 1048576, got -2");
    EXPECT_EQ(error({"-c", "0", "m"}), "option '-c' must be >= 1, got 0");
    EXPECT_EQ(error({"--delta", "99999999999", "m"}),
              "option '--delta' must be between -2147483648 and 2147483647, got 99999999999");
    parse({"--delta", "-2147483648", "m"});
    EXPECT_EQ(delta, INT32_MIN);
}

TEST_F(Options, UnsignedValues) {
    EXPECT_EQ(error({"--seed", "-1", "m"}),
              "option '--seed' expects a non-negative integer, got '-1'");
    EXPECT_EQ(error({"--seed", "18446744073709551616", "m"}),
              "option '--seed' must be <= 18446744073709551615, got 18446744073709551616");
    EXPECT_EQ(error({"--seed", "0x10", "m"}),
              "option '--seed' expects a non-negative integer, got '0x10'");
}

TEST_F(Options, FloatValues) {
    EXPECT_EQ(error({"--temp", "warm", "m"}), "option '--temp' expects a number, got 'warm'");
    EXPECT_EQ(error({"--temp", "1e9", "m"}),
              "option '--temp' must be between 0 and 100, got 1e9");
    EXPECT_EQ(error({"--temp", "1e60", "m"}),
              "option '--temp' must be between 0 and 100, got 1e60");
    EXPECT_EQ(error({"--temp", "-0.1", "m"}),
              "option '--temp' must be between 0 and 100, got -0.1");
    EXPECT_EQ(error({"--top-p", "-1", "m"}), "option '--top-p' must be >= 0, got -1");
    EXPECT_EQ(error({"--temp", "inf", "m"}), "option '--temp' must be a finite number, got 'inf'");
    EXPECT_EQ(error({"--temp", "nan", "m"}), "option '--temp' must be a finite number, got 'nan'");
    EXPECT_EQ(error({"--temp", "1.0.0", "m"}), "option '--temp' expects a number, got '1.0.0'");
    parse({"--temp", "100", "--top-p=.5", "m"});
    EXPECT_FLOAT_EQ(temp, 100.0f);
    EXPECT_FLOAT_EQ(top_p, 0.5f);
    parse({"--temp", "1e-60", "m"});  // below float's range: 0
    EXPECT_EQ(temp, 0.0f);
}

TEST_F(Options, HelpWinsWherever) {
    parse({"-h"});
    EXPECT_TRUE(parser.help_requested());
    parse({"--bogus", "-n", "abc", "--help"});  // errors elsewhere do not matter
    EXPECT_TRUE(parser.help_requested());
    parse({"m", "-h", "extra", "args"});
    EXPECT_TRUE(parser.help_requested());
    EXPECT_TRUE(parser.was_set("--help"));
}

TEST_F(Options, HelpAsAValueOrAfterDoubleDashIsNotHelp) {
    parse({"-p", "-h", "m"});
    EXPECT_FALSE(parser.help_requested());
    EXPECT_EQ(prompt, "-h");
    parse({"--", "--help"});
    EXPECT_FALSE(parser.help_requested());
    EXPECT_EQ(model, "--help");
    EXPECT_EQ(error({"--help=1"}), "option '--help' does not take a value");
}

TEST_F(Options, HelpText) {
    std::string help = parser.help();
    EXPECT_EQ(parser.usage(), "usage: suanli run [options] MODEL [PROMPT]");
    EXPECT_EQ(help.rfind("usage: suanli run [options] MODEL [PROMPT]\n\nGenerate text from a prompt.\n", 0),
              0u)
        << help;
    EXPECT_NE(help.find("\narguments:\n  MODEL"), std::string::npos) << help;
    EXPECT_NE(help.find("\noptions:\n  -h, --help "), std::string::npos) << help;
    EXPECT_NE(help.find("\n  -n, --n-predict N "), std::string::npos) << help;
    EXPECT_NE(help.find("tokens to generate (default: 128)\n"), std::string::npos) << help;
    EXPECT_NE(help.find("\n      --temp T "), std::string::npos) << help;  // aligned with long names
    EXPECT_NE(help.find("sampling temperature (default: 0.8)\n"), std::string::npos) << help;
    EXPECT_NE(help.find("the prompt (default: hello)\n"), std::string::npos) << help;
    EXPECT_NE(help.find("random seed (default: 42)\n"), std::string::npos) << help;
    EXPECT_NE(help.find("  -v, --verbose "), std::string::npos) << help;
    EXPECT_EQ(help.find("print more (default"), std::string::npos) << help;
    EXPECT_TRUE(help.ends_with("\nexample: suanli run model.gguf -p hello\n")) << help;

    // All help texts start in one column.
    size_t column = std::string::npos;
    for (std::string_view text : {"show this help", "tokens to generate", "sampling temperature",
                                  "random seed", "print more", "path to a GGUF file"}) {
        size_t at = help.find(text);
        ASSERT_NE(at, std::string::npos) << text;
        size_t line_start = help.rfind('\n', at) + 1;
        if (column == std::string::npos) column = at - line_start;
        EXPECT_EQ(at - line_start, column) << text << "\n" << help;
    }
}

TEST_F(Options, DefaultIsTheValueAtRegistration) {
    OptionParser p("suanli x", "");
    int32_t a = 3;
    p.option("--a", &a, "N", "a number");
    a = 99;
    EXPECT_NE(p.help().find("(default: 3)"), std::string::npos) << p.help();
    int32_t unset = 0;
    p.option("--c", &unset, "N", "context size (default: the model's)");
    EXPECT_NE(p.help().find("context size (default: the model's)\n"), std::string::npos) << p.help();
    std::string empty;
    p.option("--s", &empty, "S", "no default shown");
    EXPECT_NE(p.help().find("no default shown\n"), std::string::npos) << p.help();
}

TEST(OptionParser, LongNamesPushHelpToTheNextLine) {
    OptionParser p("suanli x", "s");
    bool f = false;
    p.flag("--a-very-long-option-name-indeed", &f, "explained below");
    p.flag("--b", &f, "short one");
    std::string help = p.help();
    EXPECT_NE(help.find("--a-very-long-option-name-indeed\n"), std::string::npos) << help;
    size_t below = help.find("explained below");
    size_t short_one = help.find("short one");
    EXPECT_EQ(below - help.rfind('\n', below), short_one - help.rfind('\n', short_one)) << help;
}

TEST(OptionParser, RegistrationMistakesAreLogicErrors) {
    OptionParser p("suanli x", "");
    int32_t n = 0;
    bool f = false;
    p.option("-n,--num", &n, "N", "");
    EXPECT_THROW(p.flag("--num", &f, ""), std::logic_error);
    EXPECT_THROW(p.flag("-h", &f, ""), std::logic_error);
    EXPECT_THROW(p.flag("nodash", &f, ""), std::logic_error);
    EXPECT_THROW(p.flag("-a,", &f, ""), std::logic_error);
    EXPECT_THROW(p.option("--r", &n, "N", "", 5, 1), std::logic_error);
    EXPECT_THROW(p.was_set("--nope"), std::logic_error);
}

TEST(OptionParser, ParsesStringsViaStringViews) {
    OptionParser p("suanli x", "");
    std::string s;
    p.option("--s", &s, "S", "");
    std::vector<std::string> owned{"--s", "value"};
    std::vector<std::string_view> views(owned.begin(), owned.end());
    p.parse(views);
    EXPECT_EQ(s, "value");
}

TEST(ClosestMatch, EditDistance) {
    std::vector<std::string_view> names{"--temp", "--top-k", "--top-p", "run", "info"};
    EXPECT_EQ(closest_match("--tmep", names), "--temp");
    EXPECT_EQ(closest_match("--top-q", names), "--top-k");  // ties: the first
    EXPECT_EQ(closest_match("rnu", names), "run");
    EXPECT_EQ(closest_match("inf", names), "info");
    EXPECT_EQ(closest_match("--foo", names), "");
    EXPECT_EQ(closest_match("", names), "");
    EXPECT_EQ(closest_match("--", names), "");
}

}  // namespace
}  // namespace suanli
