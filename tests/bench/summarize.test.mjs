// bench/summarize.mjs: medians per (shape, type, test), the suanli/llama.cpp ratio, and the
// bandwidth share as the median over suanli's samples (each against its own roofline).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, "..", "..", "bench", "summarize.mjs");

function suanli(tps, gb, roof) {
    return { engine: "suanli", shape: "tiny", type: "q4_0",
             result: { test: "tg128", tokens_per_s: tps, backend: "cpu", gb_per_s: gb, bandwidth_gb_per_s: roof,
                       bandwidth_share: gb / roof } };
}
const llama = (tps) => ({ engine: "llama.cpp", shape: "tiny", type: "q4_0", result: { test: "tg128", tokens_per_s: tps } });

test("medians, ratio and the median bandwidth share", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "summarize-"));
    const samples = [suanli(90, 54, 60), llama(30), suanli(80, 60, 75), llama(36), suanli(100, 48, 80), llama(33)];
    fs.writeFileSync(path.join(dir, "s.jsonl"), samples.map((s) => JSON.stringify(s)).join("\n") + "\n");
    const out = path.join(dir, "out.json");
    const table = execFileSync(process.execPath, [script, path.join(dir, "s.jsonl"), out, "{}"], { encoding: "utf8" });
    // Shares 0.9, 0.8, 0.6: the median is 0.8, where the last sample's is 0.6.
    assert.match(table, /\| tiny \| q4_0 \| tg128 \| 90\.00 \| 33\.00 \| 2\.727 \| 80\.0% \| 3 \|/);
    const summary = JSON.parse(fs.readFileSync(out, "utf8")).summary[0];
    assert.equal(summary.suanli_median_tokens_per_s, 90);
    assert.equal(summary.llama_cpp_median_tokens_per_s, 33);
    assert.ok(Math.abs(summary.bandwidth_share - 0.8) < 1e-12);
    assert.equal(summary.gb_per_s, 54);
    assert.equal(summary.bandwidth_gb_per_s, 75);
    assert.deepEqual(summary.bandwidth_share_samples.map((x) => +x.toFixed(3)), [0.9, 0.8, 0.6]);
    fs.rmSync(dir, { recursive: true });
});
