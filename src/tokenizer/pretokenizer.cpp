#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "core/utf8.h"

namespace suanli {

namespace {

// GPT-2's pattern, as in its tokenizer.json.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Piece {
    std::string_view text;
    bool opaque;  // ill-formed UTF-8: kept whole, never matched
};

}  // namespace

PreTokenizerSpec pretokenizer_spec(std::string_view name) {
    if (name.empty() || name == "default") {
        // llama.cpp's fallback for BPE vocabularies without a known pre-tokenizer.
        return {{R"([\p{P}\$\+<=>\^~\|]+)",
                 R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))",
                 R"(\p{N}+)", R"([0-9][0-9][0-9])"},
                false, false};
    }
    if (name == "gpt-2" || name == "phi-2") return {{kGpt2}, false, false};
    if (name == "llama3" || name == "llama-v3" || name == "llama-bpe" || name == "falcon3") {
        return {{kLlama3}, true, true};
    }
    if (name == "qwen2" || name == "deepseek-r1-qwen") return {{kQwen2}, false, false};
    fail("unsupported tokenizer.ggml.pre '", name,
         "' (supported: default, gpt-2, phi-2, llama3, llama-v3, llama-bpe, falcon3, qwen2, "
         "deepseek-r1-qwen)");
}

struct PreTokenizer::Impl {
    std::vector<pcre2_code*> codes;

    ~Impl() {
        for (pcre2_code* c : codes) pcre2_code_free(c);
    }

    // Splits `piece` at the matches of `code`; text between matches is kept.
    static void split_one(const pcre2_code* code, pcre2_match_data* md, std::string_view piece,
                          std::vector<Piece>& out) {
        const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
        size_t start = 0;  // first byte not yet emitted
        size_t pos = 0;    // where the next match attempt starts
        while (pos <= piece.size()) {
            const int rc = pcre2_match(code, subject, piece.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(rc, msg, sizeof msg);
                fail("pre-tokenizer: regex match failed: ", reinterpret_cast<const char*>(msg));
            }
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            const size_t ms = ov[0], me = ov[1];
            if (me == ms) {  // empty match: step over one character
                if (ms >= piece.size()) break;
                pos = ms + utf8::scan(piece, ms).length;
                continue;
            }
            if (ms > start) out.push_back({piece.substr(start, ms - start), false});
            out.push_back({piece.substr(ms, me - ms), false});
            start = pos = me;
        }
        if (start < piece.size()) out.push_back({piece.substr(start), false});
    }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& patterns) : impl_(std::make_unique<Impl>()) {
    for (const std::string& p : patterns) {
        int err = 0;
        PCRE2_SIZE offset = 0;
        pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                                         PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
        if (!code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            fail("pre-tokenizer regex '", p, "': ", reinterpret_cast<const char*>(msg), " at offset ",
                 static_cast<uint64_t>(offset));
        }
        impl_->codes.push_back(code);
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // failure just means no JIT
    }
}

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
    std::vector<Piece> pieces;
    if (utf8::is_valid(text)) {
        if (!text.empty()) pieces.push_back({text, false});
    } else {
        size_t run = 0;  // start of the current well-formed run
        for (size_t pos = 0; pos < text.size();) {
            const utf8::Scan r = utf8::scan(text, pos);
            if (r.status != utf8::Status::Valid) {
                if (pos > run) pieces.push_back({text.substr(run, pos - run), false});
                pieces.push_back({text.substr(pos, r.length), true});
                run = pos + r.length;
            }
            pos += r.length;
        }
        if (run < text.size()) pieces.push_back({text.substr(run), false});
    }

    std::vector<Piece> next;
    for (const pcre2_code* code : impl_->codes) {
        const std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(
            pcre2_match_data_create_from_pattern(code, nullptr), [](pcre2_match_data* m) { pcre2_match_data_free(m); });
        if (!md) fail("pre-tokenizer: out of memory");
        next.clear();
        for (const Piece& p : pieces) {
            if (p.opaque) {
                next.push_back(p);
            } else {
                Impl::split_one(code, md.get(), p.text, next);
            }
        }
        pieces.swap(next);
    }

    std::vector<std::string_view> out;
    out.reserve(pieces.size());
    for (const Piece& p : pieces) out.push_back(p.text);
    return out;
}

}  // namespace suanli
