#!/usr/bin/env node
// Load generator for `suanli serve` (or any OpenAI-compatible server on this machine).
//
// For each concurrency level it starts that many clients at once; each client makes streaming
// /v1/completions requests one after another, every one on a fresh TCP connection (no
// keep-alive), greedy, max_tokens 64 by default. It measures, from the client's side:
//   - aggregate generated tokens/s: completion tokens of all requests / wall time of the level
//   - time to first token (request sent -> first generated text), p50/p90/p99
//   - inter-token latency (gap between consecutive streamed tokens), p50/p90/p99 and the max gap
// and prints a table, or JSON with --json.
//
// Bounded: loopback addresses only; at most --requests per client and --duration seconds per
// level (clients start no request after it), --timeout seconds per request.
//
//   node bench/serve/load.mjs --url http://127.0.0.1:8080 [--concurrency 1,4,16,64] [--json]
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    model: { type: 'string' },                       // default: the first of GET /v1/models
    concurrency: { type: 'string', default: '1,4,16,64' },
    requests: { type: 'string', default: '4' },      // per client and level
    duration: { type: 'string', default: '60' },     // seconds per level: no new request after it
    timeout: { type: 'string', default: '120' },     // seconds per request
    'max-tokens': { type: 'string', default: '64' },
    'prompt-words': { type: 'string', default: '16' },
    'api-key': { type: 'string', default: process.env.SUANLI_API_KEY ?? '' },
    warmup: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowNegative: true,
});

if (opt.help) {
  console.log(`usage: node bench/serve/load.mjs [options]
  --url URL            the server, loopback only (default http://127.0.0.1:8080)
  --model ID           model id (default: the first listed by GET /v1/models)
  --concurrency LIST   concurrent streaming clients per level (default 1,4,16,64)
  --requests N         requests per client and level (default 4)
  --duration S         seconds per level after which clients start no new request (default 60)
  --timeout S          seconds per request (default 120)
  --max-tokens N       tokens per request (default 64)
  --prompt-words N     words per prompt (default 16, about 20 tokens)
  --api-key KEY        sent as Bearer (default: $SUANLI_API_KEY)
  --no-warmup          skip the one request made before measuring
  --json               print JSON instead of the table`);
  process.exit(0);
}

const int = (name, min, max) => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v < min || v > max) fail(`--${name} must be an integer in [${min}, ${max}]`);
  return v;
};
function fail(message) { console.error(`load: ${message}`); process.exit(2); }

const base = new URL(opt.url);
if (base.protocol !== 'http:') fail('only http:// URLs');
const host = base.hostname.replace(/^\[|\]$/g, '');
const loopback = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
if (!loopback) fail(`refusing ${host}: this load generator only targets loopback (127.0.0.0/8, ::1, localhost)`);
const port = Number(base.port || 80);
const levels = opt.concurrency.split(',').map((s) => Number(s.trim()));
if (levels.some((c) => !Number.isInteger(c) || c < 1 || c > 256)) fail('--concurrency: integers in [1, 256]');
const perClient = int('requests', 1, 1000);
const duration = int('duration', 1, 3600);
const timeout = int('timeout', 1, 3600);
const maxTokens = int('max-tokens', 1, 4096);
const promptWords = int('prompt-words', 1, 4000);

// A fresh connection per request: no agent, "Connection: close".
function request(method, path, body, onData) {
  return new Promise((resolve, reject) => {
    const headers = { connection: 'close', accept: body ? 'text/event-stream' : 'application/json' };
    if (body) headers['content-type'] = 'application/json';
    if (opt['api-key']) headers.authorization = `Bearer ${opt['api-key']}`;
    const req = http.request({ host, port, method, path, headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (d) => { if (res.statusCode === 200 && onData) onData(d); else text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.setTimeout(timeout * 1000, () => req.destroy(new Error(`no answer within ${timeout} s`)));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

// Different prompts per client and request (so the prefix cache does not make them free), all
// story-like and about the same length.
const WORDS = ('once upon a time there was a little girl named lily she liked to play outside in the park with her ' +
  'dog max one day they found a big red ball under a tree and the sun was warm so they ran and laughed until ' +
  'mom called them home for dinner where they ate soup and bread and told stories about the funny bird').split(' ');
function prompt(client, i) {
  const words = [];
  for (let k = 0; k < promptWords; k++) words.push(WORDS[(client * 7 + i * 13 + k * 5) % WORDS.length]);
  words[0] = words[0][0].toUpperCase() + words[0].slice(1);
  return words.join(' ') + '.';
}

// One streamed completion; returns { ok, status, tokens, ttft, gaps[], ms }.
async function completion(model, client, i) {
  const body = { model, prompt: prompt(client, i), max_tokens: maxTokens, temperature: 0, stream: true,
                 stream_options: { include_usage: true } };
  const start = performance.now();
  let buffer = '', last = 0, ttft = null, chunks = 0, usage = null, done = false;
  const gaps = [];
  const onData = (d) => {
    const now = performance.now();
    buffer += d;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ')) continue;
      if (event === 'data: [DONE]') { done = true; continue; }
      const chunk = JSON.parse(event.slice(6));
      if (chunk.usage) usage = chunk.usage;
      if (!chunk.choices?.some((c) => c.text)) continue;
      chunks++;
      if (ttft === null) ttft = now - start; else gaps.push(now - last);
      last = now;
    }
  };
  try {
    const r = await request('POST', '/v1/completions', body, onData);
    const ms = performance.now() - start;
    if (r.status !== 200) return { ok: false, status: r.status, error: r.text.slice(0, 200), ms };
    if (!done) return { ok: false, status: 200, error: 'stream ended without [DONE]', ms };
    // Tokens from usage when the server sends it; otherwise one per text chunk.
    return { ok: true, status: 200, tokens: usage?.completion_tokens ?? chunks, ttft, gaps, ms };
  } catch (e) {
    return { ok: false, status: 0, error: e.message, ms: performance.now() - start };
  }
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function level(model, clients) {
  const results = [];
  const start = performance.now();
  const stopAt = start + duration * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < perClient && performance.now() < stopAt; i++) results.push(await completion(model, c, i));
  }));
  const wall = (performance.now() - start) / 1000;
  const ok = results.filter((r) => r.ok);
  const ttft = ok.map((r) => r.ttft).filter((v) => v !== null).sort((a, b) => a - b);
  const gaps = ok.flatMap((r) => r.gaps).sort((a, b) => a - b);
  const tokens = ok.reduce((a, r) => a + r.tokens, 0);
  const statuses = {};
  for (const r of results.filter((r) => !r.ok)) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const s = (v) => (v === null ? null : Math.round(v * 1000) / 1e6);   // ms -> s, to the microsecond
  return {
    clients, requests: results.length, ok: ok.length, failed: results.length - ok.length, failed_by_status: statuses,
    first_error: results.find((r) => !r.ok)?.error ?? null,
    generated_tokens: tokens, tokens_per_request: ok.length ? tokens / ok.length : 0, wall_s: wall,
    tokens_per_s: tokens / wall,
    ttft_s: { p50: s(percentile(ttft, 50)), p90: s(percentile(ttft, 90)), p99: s(percentile(ttft, 99)), max: s(ttft.at(-1) ?? null) },
    itl_s: { p50: s(percentile(gaps, 50)), p90: s(percentile(gaps, 90)), p99: s(percentile(gaps, 99)), max: s(gaps.at(-1) ?? null) },
  };
}

async function main() {
  const health = await request('GET', '/health').catch((e) => fail(`cannot reach ${base.origin}: ${e.message}`));
  if (health.status !== 200) fail(`GET /health answered ${health.status}`);
  let model = opt.model;
  if (!model) {
    const r = await request('GET', '/v1/models');
    if (r.status !== 200) fail(`GET /v1/models answered ${r.status}: ${r.text.slice(0, 200)}`);
    model = JSON.parse(r.text).data[0]?.id ?? fail('the server lists no model');
  }
  if (opt.warmup) {
    const w = await completion(model, 999, 0);
    if (!w.ok) fail(`warm-up request failed: ${w.status} ${w.error}`);
  }
  const rows = [];
  for (const c of levels) {
    const row = await level(model, c);
    rows.push(row);
    console.error(`load: ${c} clients: ${row.ok}/${row.requests} requests, ${row.tokens_per_s.toFixed(1)} tokens/s`);
  }
  const report = { url: base.origin, model, max_tokens: maxTokens, prompt_words: promptWords, requests_per_client: perClient,
                   fresh_connection_per_request: true, levels: rows };
  if (opt.json) { console.log(JSON.stringify(report, null, 2)); return; }

  const f = (v, d = 1) => (v === null ? '-' : v.toFixed(d));
  const ms = (v) => (v === null ? '-' : (v * 1000).toFixed(v < 0.01 ? 2 : v < 1 ? 1 : 0));
  console.log(`model ${model}, ${maxTokens} tokens per request, greedy, streamed, a fresh connection per request; times in ms`);
  console.log('| clients | requests | tokens/req | tokens/s | TTFT p50 | TTFT p90 | TTFT p99 | ITL p50 | ITL p90 | ITL p99 | max gap |');
  console.log('|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    const req = r.failed ? `${r.ok} (+${r.failed} failed: ${JSON.stringify(r.failed_by_status)})` : `${r.ok}`;
    console.log(`| ${r.clients} | ${req} | ${f(r.tokens_per_request)} | ${f(r.tokens_per_s)} | ` +
      `${ms(r.ttft_s.p50)} | ${ms(r.ttft_s.p90)} | ${ms(r.ttft_s.p99)} | ` +
      `${ms(r.itl_s.p50)} | ${ms(r.itl_s.p90)} | ${ms(r.itl_s.p99)} | ${ms(r.itl_s.max)} |`);
  }
  const firstError = rows.find((r) => r.first_error)?.first_error;
  if (firstError) console.log(`first error: ${firstError}`);
}

await main();
