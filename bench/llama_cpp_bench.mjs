// llama.cpp's speed on a GGUF, measured the way `suanli bench` measures suanli's, through
// node-llama-cpp's prebuilt CPU binaries (no GPU, no build):
//   ppP: P random tokens evaluated in one batch from an empty context, logits of the last one;
//   tgN: N tokens evaluated one at a time from an empty context, logits for each (greedy);
//   with -d D: D tokens evaluated first, untimed, and the test named "ppP @ dD", "tgN @ dD".
// Each repetition starts from a cleared sequence; one short warm-up run comes first.
// Prints a JSON array shaped like `suanli bench --json` (engine "llama.cpp").
//
//   node bench/llama_cpp_bench.mjs -m MODEL [-p 512] [-n 128] [-d 0] [-t 2] [-r 1] [--flash-attn]
import fs from "node:fs";
import path from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function parseArgs(argv) {
    const o = { model: "", p: 512, n: 128, d: 0, t: 2, r: 1, flashAttn: false };
    for (let i = 0; i < argv.length; ++i) {
        const a = argv[i], v = () => {
            if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
            return argv[++i];
        };
        if (a === "-m" || a === "--model") o.model = v();
        else if (a === "-p") o.p = Number(v());
        else if (a === "-n") o.n = Number(v());
        else if (a === "-d") o.d = Number(v());
        else if (a === "-t" || a === "--threads") o.t = Number(v());
        else if (a === "-r" || a === "--repetitions") o.r = Number(v());
        else if (a === "--flash-attn") o.flashAttn = true;
        else if (a === "-h" || a === "--help") {
            console.log("usage: node llama_cpp_bench.mjs -m MODEL [-p 512] [-n 128] [-d 0] [-t 2] [-r 1] [--flash-attn]");
            process.exit(0);
        } else throw new Error(`unknown option ${a}`);
    }
    if (!o.model) throw new Error("missing -m MODEL");
    for (const k of ["p", "n", "d", "t", "r"])
        if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`-${k} must be a non-negative integer`);
    return o;
}

// A deterministic token stream (the same ids every run). Which ids does not change the cost
// (an embedding row each); ids 3..255 exist in every vocabulary and skip the first (control) ids.
function makeTokens(count, seed) {
    let s = seed >>> 0;
    const out = [];
    for (let i = 0; i < count; ++i) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        out.push(3 + ((s >>> 8) % 253));
    }
    return out;
}

// Seconds for one run of (nPrompt, nGen) from a sequence holding nDepth tokens.
async function timeOnce(sequence, nPrompt, nGen, nDepth, seed) {
    await sequence.clearHistory();
    if (nDepth > 0) await sequence.evaluateWithoutGeneratingNewTokens(makeTokens(nDepth, seed + 7));
    const start = process.hrtime.bigint();
    if (nPrompt > 0) {
        // evaluate() decodes the whole batch and samples from the last token's logits.
        const it = sequence.evaluate(makeTokens(nPrompt, seed), { temperature: 0 });
        await it.next();
        await it.return();
    }
    if (nGen > 0) {
        let generated = 0;
        // Each step decodes the previous token alone; the first decodes the start token.
        for await (const _ of sequence.evaluate(makeTokens(1, seed + 1), { temperature: 0 })) {
            if (++generated >= nGen) break;
        }
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
}

const stats = (v) => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
    return { mean, sd };
};

async function main() {
    const o = parseArgs(process.argv.slice(2));
    if (!fs.existsSync(o.model)) throw new Error(`no such model: ${o.model}`);
    const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0, logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: o.model, gpuLayers: 0 });
    const context = await model.createContext({
        contextSize: Math.max(64, o.d + Math.max(o.p, o.n) + 16),
        batchSize: Math.max(512, o.p),
        threads: o.t,  // exact: maxThreads 0 above makes this the number of threads used
        sequences: 1,
        flashAttention: o.flashAttn,
    });
    const sequence = context.getSequence();
    const tests = [];
    const at = o.d > 0 ? ` @ d${o.d}` : "";
    if (o.p > 0) tests.push({ name: `pp${o.p}${at}`, nPrompt: o.p, nGen: 0 });
    if (o.n > 0) tests.push({ name: `tg${o.n}${at}`, nPrompt: 0, nGen: o.n });
    const results = [];
    for (const t of tests) {
        await timeOnce(sequence, Math.min(t.nPrompt, 8), Math.min(t.nGen, 2), 0, 99);  // warm-up
        const samples = [];
        for (let i = 0; i < o.r; ++i) {
            const s = await timeOnce(sequence, t.nPrompt, t.nGen, o.d, 1234 + i);
            samples.push((t.nPrompt + t.nGen) / s);
        }
        const { mean, sd } = stats(samples);
        results.push({
            engine: "llama.cpp", model: path.basename(o.model), backend: `llama.cpp ${llama.buildType ?? ""}`.trim(),
            threads: context.currentThreads ?? o.t, test: t.name, n_prompt: t.nPrompt, n_gen: t.nGen, n_depth: o.d,
            repetitions: o.r, tokens_per_s: mean, stddev: sd, samples_tokens_per_s: samples,
        });
    }
    process.stdout.write(JSON.stringify(results, null, 2) + "\n");
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((e) => {
    process.stderr.write(`llama_cpp_bench: ${e?.stack ?? e}\n`);
    process.exit(1);
});
