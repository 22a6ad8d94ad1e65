// The Jinja subset construct by construct: expected strings follow Python and
// Jinja2 (with transformers' trim_blocks/lstrip_blocks) semantics.
#include <gtest/gtest.h>

#include <string>

#include "chat/chat_template.h"
#include "core/error.h"

namespace suanli {
namespace {

using jinja::List;
using jinja::Object;
using jinja::Value;

Object messages_globals() {
    Object system;
    system.set("role", "system");
    system.set("content", "Be brief.");
    Object user;
    user.set("role", "user");
    user.set("content", " Hi there ");
    Object g;
    g.set("messages", List{Value(system), Value(user)});
    return g;
}

std::string render(const std::string& source, const Object& globals = messages_globals()) {
    return ChatTemplate(source).render(globals);
}

// The message of the Error that parsing or rendering `source` throws.
std::string error_of(const std::string& source) {
    try {
        render(source);
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error for: " << source;
    return {};
}

#define EXPECT_ERROR(source, fragment) EXPECT_PRED_FORMAT2(::testing::IsSubstring, fragment, error_of(source))

TEST(JinjaLiterals, RenderAsPythonStr) {
    EXPECT_EQ(render("{{ 'a' }}|{{ 1 }}|{{ 1.5 }}|{{ true }}|{{ False }}|{{ none }}|{{ None }}"),
              "a|1|1.5|True|False|None|None");
    EXPECT_EQ(render("{{ [1, 'b', [none]] }}|{{ {'a': 1, 'b': \"it's\"} }}|{{ (1, 2) }}"),
              "[1, 'b', [None]]|{'a': 1, 'b': \"it's\"}|[1, 2]");
    EXPECT_EQ(render("{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 2.5e3 }} {{ 1_000 }}"),
              "1.0 0.30000000000000004 1e+20 1e-05 2500.0 1000");
}

TEST(JinjaLiterals, StringEscapesAndAdjacentStrings) {
    EXPECT_EQ(render(R"({{ 'a\nb\t\'c\u00e9\\' }})"), "a\nb\t'cé\\");
    EXPECT_EQ(render(R"({{ "x\"y" 'z' }})"), "x\"yz");
    EXPECT_EQ(render(R"({{ '\q' }})"), "\\q");  // unknown escapes stay, as in Python
}

TEST(JinjaOperators, ArithmeticFollowsPython) {
    EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}"),
              "3 -4 1 2 3.5 1024");
    EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 + 5 }} {{ 1 + 1.5 }} {{ true + 1 }}"), "7 9 3 2.5 2");
    EXPECT_EQ(render("{{ 'a' + 'b' }}|{{ 'x' ~ 1 ~ none ~ undefined_name }}|{{ 'ab' * 3 }}|{{ [1] + [2] }}"),
              "ab|x1None|ababab|[1, 2]");
}

TEST(JinjaOperators, ComparisonsAndLogic) {
    EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'b' >= 'a' }}"),
              "True False True True True");
    EXPECT_EQ(render("{{ 'a' in 'cat' }} {{ 'z' not in ['a'] }} {{ 'k' in {'k': 1} }} {{ 2 in [1, 2.0] }}"),
              "True True True True");
    EXPECT_EQ(render("{{ not 0 }} {{ 0 or 'x' }} {{ 1 and 2 }} {{ '' and boom }} {{ not 1 == 2 }}"),
              "True x 2  True");
    EXPECT_EQ(render("{{ [1, {'a': 2}] == [1, {'a': 2}] }} {{ messages[0] == messages[1] }}"), "True False");
}

TEST(JinjaOperators, ConditionalExpression) {
    EXPECT_EQ(render("{{ 'a' if false else 'b' }}|{{ 'a' if true }}|{{ 'a' if false }}|{{ 1 if 0 else 2 if 1 else 3 }}"),
              "b|a||2");
}

TEST(JinjaOperators, FilterBindsTighterThanPlus) {
    EXPECT_EQ(render("{{ '[' + messages[1]['content'] | trim + ']' }}"), "[Hi there]");
    EXPECT_EQ(render("{{ -3 | abs }} {{ 'ab' ~ 'cd' | upper }}"), "3 abCD");
}

TEST(JinjaAccess, AttributesItemsAndSlices) {
    EXPECT_EQ(render("{{ messages[0].role }} {{ messages[-1]['content'] }} {{ messages.0.role }}"),
              "system  Hi there  system");
    EXPECT_EQ(render("{{ messages[1:] | length }} {{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3, 4][::-2] }} {{ [1, 2][5:] }}"),
              "1 [2, 3] [4, 2] []");
    EXPECT_EQ(render("{{ [1, 2, 3][1::9223372036854775807] }} {{ [1, 2, 3][::-9223372036854775807] }}"), "[2] [3]");
    EXPECT_EQ(render("{{ 'hello'[::-1] }} {{ 'hello'[1:-1] }} {{ 'héllo'[1] }} {{ 'héllo'[:2] }} {{ 'héllo' | length }}"),
              "olleh ell é hé 5");
    EXPECT_EQ(render("[{{ messages[5] }}][{{ messages[0].nothing }}][{{ nothing.at.all }}][{{ none[0] }}]"),
              "[][][][]");
}

TEST(JinjaStatements, IfElifElse) {
    const std::string t = "{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %}";
    for (const auto& [n, want] : {std::pair{1, "one"}, {2, "two"}, {3, "many"}}) {
        Object g;
        g.set("n", n);
        EXPECT_EQ(render(t, g), want);
    }
    EXPECT_EQ(render("{% if x %}a{% else %}b{% endif %}{% if [] %}c{% endif %}{% if {} %}d{% endif %}"), "b");
}

TEST(JinjaStatements, ForLoopVariables) {
    EXPECT_EQ(render("{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ x }}{{ loop.first }}"
                     "{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}"),
              "10aTrueFalse33;21bFalseFalse32;32cFalseTrue31;");
    EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }} {% endfor %}"), "-2 1-3 2- ");
}

TEST(JinjaStatements, ForLoopFilterElseBreakContinueAndUnpacking) {
    EXPECT_EQ(render("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}/{{ loop.length }} {% endfor %}"), "2/2 4/2 ");
    EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
    EXPECT_EQ(render("{% for x in range(10) %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                     "{% endif %}{{ x }}{% endfor %}"),
              "023");
    EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
    EXPECT_EQ(render("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}{% for c in 'hé' %}[{{ c }}]{% endfor %}"),
              "ab[h][é]");
    EXPECT_EQ(render("{% for m in messages %}{% for c in [1, 2] %}{{ loop.index }}{% endfor %}{{ loop.index }} "
                     "{% endfor %}"),
              "121 122 ");
    EXPECT_EQ(render("{% for x in undefined_list %}x{% endfor %}done"), "done");
    EXPECT_EQ(render("{% for x in [1, 2] %}{{ x }}{% for y in [] %}{% else %}{% break %}{% endfor %}!{% endfor %}"),
              "1");  // a break in a for's else leaves the enclosing loop
}

TEST(JinjaStatements, SetScopingAndNamespace) {
    EXPECT_EQ(render("{% set a = 1 %}{% for x in [1, 2] %}{% set a = a + 10 %}{{ a }} {% endfor %}{{ a }}"),
              "11 11 1");  // each iteration starts from the outer scope, as in Jinja
    EXPECT_EQ(render("{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}"
                     "{% set ns.found = true %}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.found }} {{ ns.n }}"),
              "True 2");
    EXPECT_EQ(render("{% if true %}{% set inner = 'x' %}{% endif %}{{ inner }}"), "x");
    EXPECT_ERROR("{% set s = 'x' %}{% set s.y = 1 %}", "not a namespace()");
    EXPECT_ERROR("{% set ns = namespace() %}{% set l = [ns] %}", "namespace() object cannot be stored");
}

TEST(JinjaWhitespace, ExplicitControl) {
    EXPECT_EQ(render("a  \n  {{- 'b' -}}  \n  c"), "abc");
    EXPECT_EQ(render("a\n  {%- if true -%}\n  b\n  {%- endif -%}\n  c"), "abc");
    EXPECT_EQ(render("a {#- comment -#} b|a{# comment #}b"), "ab|ab");
}

TEST(JinjaWhitespace, TrimAndLstripBlocks) {
    EXPECT_EQ(render("  {% if true %}\nx\n  {% endif %}\ny"), "x\ny");
    EXPECT_EQ(render("{{ 'a' }}\nb"), "a\nb");           // variables keep their newline
    EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");  // '+' turns lstrip off
    EXPECT_EQ(render("{% if true +%}\nx{% endif %}"), "\nx");  // and trim
    EXPECT_EQ(render("a {% if true %}b{% endif %}"), "a b");   // text before the tag on its line stays
    EXPECT_EQ(render("  {# note #}\nx"), "x");
    EXPECT_EQ(render("a\n"), "a");  // keep_trailing_newline off
    EXPECT_EQ(render("a\n\n"), "a\n");
    EXPECT_EQ(render("a\r\nb"), "a\nb");
}

TEST(JinjaFilters, Strings) {
    EXPECT_EQ(render("[{{ '  a b \n' | trim }}][{{ 'xxaxx' | trim('x') }}]"), "[a b][a]");
    EXPECT_EQ(render("{{ 'aBc' | upper }} {{ 'aBc' | lower }} {{ 'hello wORLD' | capitalize }} {{ 'hello wORLD' | title }}"),
              "ABC abc Hello world Hello World");
    EXPECT_EQ(render("{{ 'a-b-c' | replace('-', '+') }} {{ 'a-b-c' | replace('-', '', 1) }} {{ 5 | string ~ '!' }}"),
              "a+b+c ab-c 5!");
    EXPECT_EQ(render("{{ ['a', 'b'] | join(', ') }} {{ [1, 2] | join }} {{ messages | join('/', attribute='role') }}"),
              "a, b 12 system/user");
}

TEST(JinjaFilters, Sequences) {
    EXPECT_EQ(render("{{ [3, 4] | first }} {{ [3, 4] | last }} {{ 'abc' | first }} {{ [] | first }}"), "3 4 a ");
    EXPECT_EQ(render("{{ messages | length }} {{ 'abc' | count }} {{ {'a': 1} | length }} {{ undefined_x | length }}"),
              "2 3 1 0");
    EXPECT_EQ(render("{{ 'ab' | list }} {{ [1, 2] | reverse | list }} {{ 'abc' | reverse }} {{ {'a': 1} | items | list }}"),
              "['a', 'b'] [2, 1] cba [['a', 1]]");
    EXPECT_EQ(render("{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }}"),
              "[' Hi there ']");
    EXPECT_EQ(render("{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | join }}"), "system");
    EXPECT_EQ(render("{{ [0, 1, 2] | select | list }} {{ [1, 2, 3] | reject('odd') | list }} {{ ['a'] | map('upper') | list }}"),
              "[1, 2] [2] ['A']");
}

TEST(JinjaFilters, IndentSortUnique) {
    EXPECT_EQ(render("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(1, blank=true) }}"),
              "a\n  b\n\n  c|  a\n  b|a\n \n b");
    EXPECT_EQ(render("{{ 'a\n' | indent }}|{{ '' | indent(first=true) }}|"), "a\n|    |");
    EXPECT_EQ(render("{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} "
                     "{{ [1, 3, 2] | sort(reverse=true) }}"),
              "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1]");
    EXPECT_EQ(render("{{ messages | sort(attribute='role') | map(attribute='role') | join(',') }}"), "system,user");
    EXPECT_EQ(render("{{ [1, 2, 1, 3, 2] | unique | list }} {{ ['a', 'A', 'b'] | unique | list }}"), "[1, 2, 3] ['a', 'b']");
    EXPECT_ERROR("{{ [1, 'a'] | sort }}", "cannot compare str and int with '<' at line 1, column 15");
}

TEST(JinjaFilters, DefaultNumbersAndJson) {
    EXPECT_EQ(render("{{ nope | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ nope | d }}."),
              "d  d .");
    EXPECT_EQ(render("{{ '42' | int + 1 }} {{ 'x' | int }} {{ '2.5' | float }} {{ 3 | float }} {{ -2.5 | abs }}"),
              "43 0 2.5 3.0 2.5");
    EXPECT_EQ(render(R"({{ 'a"b' ~ '\n' | tojson }})"), "a\"b\"\\n\"");
    EXPECT_EQ(render(R"({{ {'k': [1, 2.5, 'é', none, true]} | tojson }})"), "{\"k\": [1, 2.5, \"é\", null, true]}");
    EXPECT_EQ(render("{{ {'a': [1], 'b': {}} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
}

TEST(JinjaMethods, StringAndDictMethods) {
    EXPECT_EQ(render("[{{ '  a  '.strip() }}][{{ '  a  '.lstrip() }}][{{ '  a  '.rstrip() }}][{{ 'xax'.strip('x') }}]"),
              "[a][a  ][  a][a]");
    EXPECT_EQ(render("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'bc')) }} {{ 'abc'.startswith('b') }}"),
              "True True False");
    EXPECT_EQ(render("{{ ' a  b '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a b c'.split(' ', 1) }}"),
              "['a', 'b'] ['a', 'b', '', 'c'] ['a', 'b c']");
    EXPECT_EQ(render("{{ 'hi you'.title() }} {{ 'Ab'.upper() }}{{ 'Ab'.lower() }} {{ 'a-b'.replace('-', '') }} "
                     "{{ ', '.join(['x', 'y']) }}"),
              "Hi You ABab ab x, y");
    EXPECT_EQ(render("{{ messages[0].get('role') }} {{ messages[0].get('x') }} {{ messages[0].get('x', 1) }} "
                     "{{ messages[0].keys() | list }} {{ {'a': 1}.values() | list }}"),
              "system None 1 ['role', 'content'] [1]");
}

TEST(JinjaFunctions, RangeDictStrftime) {
    EXPECT_EQ(render("{{ range(3) }} {{ range(1, 7, 2) }} {{ range(3, 0, -1) }} {{ range(0) }}"),
              "[0, 1, 2] [1, 3, 5] [3, 2, 1] []");
    EXPECT_EQ(render("{{ dict(a=1, b='x') }} {{ namespace(a=1).a }}"), "{'a': 1, 'b': 'x'} 1");
    EXPECT_EQ(render("{{ strftime_now('%Y') | length }} {{ strftime_now('') }}."), "4 .");
}

TEST(JinjaFilters, StringFiltersTakeStrOfTheirInput) {
    EXPECT_EQ(render("[{{ 5 | trim }}][{{ none | upper }}][{{ undefined_x | trim }}][{{ 1.5 | replace('.', ',') }}]"),
              "[5][NONE][][1,5]");
}

TEST(JinjaTests, IsTests) {
    EXPECT_EQ(render("{{ x is defined }} {{ messages is defined }} {{ x is undefined }} {{ none is none }} "
                     "{{ 1 is not none }}"),
              "False True True True True");
    EXPECT_EQ(render("{{ 'a' is string }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ {} is mapping }} "
                     "{{ [] is iterable }} {{ true is boolean }} {{ false is false }}"),
              "True True True True True True True True");
    EXPECT_EQ(render("{{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 4 is even }} {{ 3 is odd }} "
                     "{{ 'a' is equalto 'a' }} {{ 'ab' is lower }}"),
              "True False True True True True");
}

TEST(JinjaUndefined, IsFalsyAndEmptyButNotAnOperand) {
    EXPECT_EQ(render("[{{ x }}][{{ x.y.z }}][{% if x %}a{% else %}b{% endif %}][{{ x is defined }}]"), "[][][b][False]");
    EXPECT_ERROR("{{ x + 1 }}", "'x' is undefined at line 1");
    EXPECT_ERROR("{{ messages[0].nope.strip() }}", "'messages[0].nope' is undefined");
}

TEST(JinjaErrors, RaiseException) {
    try {
        render("{% if true %}{{ raise_exception('Bad ' ~ 'input') }}{% endif %}");
        FAIL() << "no exception";
    } catch (const jinja::TemplateRaised& e) {
        EXPECT_STREQ(e.what(), "Bad input");
    }
}

TEST(JinjaErrors, UnsupportedConstructsAreNamedWithTheirLine) {
    EXPECT_ERROR("line one\n{{ x | frobnicate }}", "unsupported Jinja filter 'frobnicate' at line 2, column 8");
    EXPECT_ERROR("{% macro f() %}{% endmacro %}", "unsupported Jinja tag 'macro' at line 1, column 4");
    EXPECT_ERROR("\n\n{% if x is frob %}{% endif %}", "unsupported Jinja test 'frob' at line 3");
    EXPECT_ERROR("{{ 'a'.zfill(3) }}", "unsupported method '.zfill()'");
    EXPECT_ERROR("{{ now() }}", "unsupported Jinja function 'now'");
    EXPECT_ERROR("{% set x %}a{% endset %}", "unsupported Jinja construct '{% set %}' block");
    EXPECT_ERROR("{{ '%s' % 'a' }}", "string formatting with '%'");
    EXPECT_ERROR("{% for x in y recursive %}{% endfor %}", "'recursive' loop");
    EXPECT_ERROR("{% break %}", "outside a for loop");
}

TEST(JinjaErrors, SyntaxErrors) {
    EXPECT_ERROR("ok\n  {{ x", "unclosed tag '{{' at line 2, column 3");
    EXPECT_ERROR("{% if x", "unclosed tag '{%' at line 1, column 1");
    EXPECT_ERROR("{% if x %}a", "unclosed block: expected '{% endif %}'");
    EXPECT_ERROR("{% for x in y %}a{% endif %}", "unexpected '{% endif %}'");
    EXPECT_ERROR("{# never closed", "unclosed comment");
    EXPECT_ERROR("{{ 'abc }}", "unclosed string literal at line 1, column 4");
    EXPECT_ERROR("{% endfor %}", "unexpected '{% endfor %}'");
    EXPECT_ERROR("{{ 1 + }}", "expected an expression");
    EXPECT_ERROR("{{ a b }}", "expected '}}'");
    EXPECT_ERROR("{{ $ }}", "unexpected character '$'");
}

TEST(JinjaErrors, RuntimeErrorsCarryTheLine) {
    EXPECT_ERROR("{{ 1 }}\n{{ 1 // 0 }}", "modulo by zero at line 2");
    EXPECT_ERROR("{{ 9223372036854775807 + 1 }}", "integer overflow");
    EXPECT_ERROR("{{ 1 < 'a' }}", "'<' not supported");
    EXPECT_ERROR("{% for x in 5 %}{% endfor %}", "'int' object is not iterable");
}

TEST(JinjaLimits, HugeOutputAndEndlessWorkAreErrors) {
    EXPECT_ERROR("{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}", "longer than 1048576 bytes");
    EXPECT_ERROR("{{ 'x' * 100000000000 }}", "longer than 1048576 bytes");
    EXPECT_ERROR("{% for i in range(60000) %}{% for j in range(60000) %}{% endfor %}{% endfor %}", "too much work");
    EXPECT_ERROR("{{ range(100000000) | length }}", "list longer than");
}

TEST(JinjaLimits, NestingIsBounded) {
    std::string deep_ifs;
    for (int i = 0; i < 70; ++i) deep_ifs += "{% if true %}";
    for (int i = 0; i < 70; ++i) deep_ifs += "{% endif %}";
    EXPECT_ERROR(deep_ifs, "nested deeper than 64");
    EXPECT_ERROR("{{ " + std::string(100, '(') + "1" + std::string(100, ')') + " }}", "nested deeper than 64");
    std::string chain = "{{ x";
    for (int i = 0; i < 300; ++i) chain += ".a";
    EXPECT_ERROR(chain + " }}", "expression nested too deeply");
    EXPECT_ERROR("{% set ns = namespace(x=[]) %}{% for i in range(100) %}{% set ns.x = [ns.x] %}{% endfor %}",
                 "nested deeper than 64");
}

}  // namespace
}  // namespace suanli
