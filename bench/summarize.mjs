// Turns the samples bench/compare.sh collected into the comparison table and a results file.
//
//   node bench/summarize.mjs SAMPLES.jsonl OUT.json
//
// SAMPLES.jsonl: one JSON object per line, {engine, round, shape, type, model_file, result},
// where result is one element of `suanli bench --json` or of llama_cpp_bench.mjs's output.
// Prints a Markdown table: model, type, test, the median tokens/s of each engine over the
// rounds, and suanli/llama.cpp (> 1: suanli is faster).
import fs from "node:fs";
import os from "node:os";

const [samplesPath, outPath, metaJson] = process.argv.slice(2);
if (!samplesPath || !outPath) {
    console.error("usage: node summarize.mjs SAMPLES.jsonl OUT.json [META_JSON]");
    process.exit(2);
}
const lines = fs.readFileSync(samplesPath, "utf8").split("\n").filter((l) => l.trim());
const samples = lines.map((l) => JSON.parse(l));

const median = (v) => {
    if (!v.length) return NaN;
    const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Group by (shape, type, test), keeping the order of first appearance.
const groups = new Map();
const failures = [];
for (const s of samples) {
    if (!s.result) {  // the engine failed on this model: listed under the table
        failures.push(s);
        continue;
    }
    const key = `${s.shape}\u0000${s.type}\u0000${s.result.test}`;
    if (!groups.has(key)) groups.set(key, { shape: s.shape, type: s.type, test: s.result.test, suanli: [], llama: [], extra: {}, gb: [], roof: [], share: [] });
    const g = groups.get(key);
    const tps = s.result.samples_tokens_per_s?.length ? s.result.samples_tokens_per_s : [s.result.tokens_per_s];
    if (s.engine === "suanli") {
        g.suanli.push(...tps);
        g.extra.backend = s.result.backend;
        // Each sample's bandwidth figures (its run's own roofline); the summary takes their medians.
        if (Number.isFinite(s.result.bandwidth_share)) {
            g.gb.push(s.result.gb_per_s);
            g.roof.push(s.result.bandwidth_gb_per_s);
            g.share.push(s.result.bandwidth_share);
        }
    } else {
        g.llama.push(...tps);
    }
}

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(2) : "-");
const rows = [];
// "% bw": the median over suanli's samples of the bandwidth it read against the roofline
// `suanli bench` measured just before that sample (meaningful for generation).
console.log("| model | type | test | suanli t/s (median) | llama.cpp t/s (median) | suanli/llama.cpp | suanli % bw | rounds |");
console.log("|---|---|---|---:|---:|---:|---:|---:|");
for (const g of groups.values()) {
    const a = median(g.suanli), b = median(g.llama);
    const ratio = Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN;
    const share = median(g.share);
    const bw = Number.isFinite(share) && g.test.startsWith("tg") ? `${(100 * share).toFixed(1)}%` : "-";
    console.log(`| ${g.shape} | ${g.type} | ${g.test} | ${fmt(a)} | ${fmt(b)} | ${Number.isFinite(ratio) ? ratio.toFixed(3) : "-"} | ${bw} | ${Math.max(g.suanli.length, g.llama.length)} |`);
    rows.push({
        shape: g.shape, type: g.type, test: g.test, suanli_median_tokens_per_s: a, llama_cpp_median_tokens_per_s: b,
        ratio_suanli_over_llama_cpp: ratio, suanli_samples: g.suanli, llama_cpp_samples: g.llama, ...g.extra,
        gb_per_s: median(g.gb), bandwidth_gb_per_s: median(g.roof), bandwidth_share: share,
        bandwidth_share_samples: g.share,
    });
}

const seen = new Set();
for (const f of failures) {
    const line = `${f.engine} failed on ${f.shape} ${f.type}: ${f.error}`;
    if (!seen.has(line)) console.log((seen.size ? "" : "\n") + line);
    seen.add(line);
}

const out = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, load_average: os.loadavg() },
    settings: metaJson ? JSON.parse(metaJson) : {},
    summary: rows,
    samples,
};
fs.writeFileSync(outPath, JSON.stringify(out, null, 2) + "\n");
console.log(`\nall samples: ${outPath}`);
