// Backpressure: with a small --parallel and --queue, more concurrent clients than slots plus
// queue places: the extra ones get 429 (rate_limit_error, queue_full) at once, the rest complete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, streamCompletion, get, modelId, PROMPTS } from './harness.mjs';

const PARALLEL = 2, QUEUE = 2, CLIENTS = 16;
let server;
before(async () => {
  server = await startServer(['--parallel', String(PARALLEL), '--queue', String(QUEUE), '--ctx-size', '512']);
});
after(async () => {
  const { code, log } = await server.stop();
  assert.equal(code, 0, `exit code on SIGTERM\n${log}`);
});

test(`${CLIENTS} clients, ${PARALLEL} slots, a queue of ${QUEUE}: the extra ones get 429 at once`, async (t) => {
  // Long generations, so the first ones still run when the last ones arrive.
  const body = (i) => ({ model: modelId, prompt: `${PROMPTS[i % PROMPTS.length]} ${PROMPTS[(i + 1) % PROMPTS.length]}`,
                         max_tokens: 400, temperature: 0 });
  const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => streamCompletion(server, '/v1/completions', body(i))));
  const ok = results.filter((r) => r.status === 200);
  const limited = results.filter((r) => r.status === 429);
  const other = results.filter((r) => r.status !== 200 && r.status !== 429);
  assert.equal(other.length, 0, `unexpected statuses: ${other.map((r) => `${r.status} ${r.text}`).join('; ')}`);
  assert.ok(ok.length >= PARALLEL, `at least the ${PARALLEL} slots' requests complete (${ok.length} did)`);
  assert.ok(limited.length >= 1, `some of ${CLIENTS} clients get 429 (statuses: ${results.map((r) => r.status)})`);
  for (const r of ok) {
    assert.ok(r.done, 'a completed stream ends with [DONE]');
    assert.ok(['stop', 'length'].includes(r.finish_reason));
  }
  const slowest429 = Math.max(...limited.map((r) => r.ms));
  const slowestOk = Math.max(...ok.map((r) => r.ms));
  for (const r of limited) {
    assert.equal(r.json?.error?.type, 'rate_limit_error', r.text);
    assert.equal(r.json?.error?.code, 'queue_full', r.text);
  }
  // "At once": not after waiting for a slot. Ordering, not a wall-clock bound, so a loaded
  // machine cannot make it flaky.
  assert.ok(slowest429 < slowestOk, `429s come before the admitted requests finish (${slowest429.toFixed(0)} vs ${slowestOk.toFixed(0)} ms)`);
  t.diagnostic(`overload: ${ok.length} completed (slowest ${slowestOk.toFixed(0)} ms), ${limited.length} got 429 (slowest ${slowest429.toFixed(0)} ms)`);
  assert.equal((await get(server, '/health')).status, 200);
});

test('after the burst, the server takes requests again', async () => {
  const r = await streamCompletion(server, '/v1/completions', { model: modelId, prompt: PROMPTS[0], max_tokens: 8, temperature: 0 });
  assert.equal(r.status, 200);
  assert.ok(r.done);
});
