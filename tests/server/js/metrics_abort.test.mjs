// GET /metrics (Prometheus text) after some traffic; a client that aborts a stream mid-way
// leaves the server healthy with its batch and KV blocks back to idle; graceful shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, post, get, streamCompletion, parseMetrics, modelId, PROMPTS, sleep } from './harness.mjs';

let server;
before(async () => { server = await startServer(['--parallel', '4', '--ctx-size', '512']); });
after(async () => {
  const { code, log } = await server.stop();
  assert.equal(code, 0, `exit code on SIGTERM\n${log}`);
});

// The first sample whose name (labels included) matches every regex; undefined if none.
function find(samples, ...patterns) {
  for (const [name, value] of samples) if (patterns.every((p) => p.test(name))) return { name, value };
  return undefined;
}
async function metrics() {
  const r = await get(server, '/metrics');
  assert.equal(r.status, 200, r.text);
  return { text: r.text, samples: parseMetrics(r.text), type: r.headers.get('content-type') };
}

test('/metrics has request counters, token counters, gauges and latency histograms', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await streamCompletion(server, '/v1/completions', { model: modelId, prompt: PROMPTS[i], max_tokens: 16, temperature: 0 });
    assert.equal(r.status, 200);
  }
  assert.equal((await post(server, '/v1/completions', '{oops')).status, 400);
  const { text, samples, type } = await metrics();
  assert.match(type ?? '', /^text\/plain/, 'Prometheus text format');
  const names = [...new Set([...samples.keys()].map((k) => k.replace(/\{.*/, '')))];
  const missing = [];
  const want = (what, ...patterns) => {
    const hit = find(samples, /^suanli_/, ...patterns);
    if (!hit) missing.push(what);
    return hit;
  };
  want('requests by status', /request/, /status|code/);
  want('prompt tokens (in)', /prompt|input|_in\b|tokens_in/, /token/);
  want('generated tokens (out)', /generat|completion|output|_out\b|tokens_out/, /token/);
  want('queue depth', /queue/);
  want('running batch size', /batch|running/);
  want('KV blocks used', /kv/, /used/);
  want('KV blocks free', /kv/, /free/);
  want('time to first token histogram', /time_to_first_token|ttft/, /_bucket\{/);
  want('inter-token latency histogram', /inter_token|itl|token_latency/, /_bucket\{/);
  assert.deepEqual(missing, [], `missing from /metrics: ${missing.join(', ')}\nmetric names: ${names.join(' ')}`);
  // Counters count: 3 streamed completions answered 200 and one answered 400 (summed over other labels).
  const sum = (...patterns) => [...samples].filter(([n]) => patterns.every((p) => p.test(n))).reduce((a, [, v]) => a + v, 0);
  const ok = sum(/^suanli_\w*request\w*_total\{/, /status="200"/, /completions/);
  assert.ok(ok >= 3, `requests to /v1/completions with status 200: ${ok}, want >= 3`);
  const bad = sum(/^suanli_\w*request\w*_total\{/, /status="400"/);
  assert.ok(bad >= 1, `requests with status 400: ${bad}, want >= 1`);
  const ttftCount = find(samples, /^suanli_/, /time_to_first_token|ttft/, /_count/);
  assert.ok(ttftCount && ttftCount.value >= 3, `ttft histogram counted the requests: ${ttftCount?.name} ${ttftCount?.value}`);
  assert.ok(/# TYPE \S*(time_to_first_token|ttft)\S* histogram/.test(text), 'the ttft metric is declared a histogram');
});

test('a client that aborts a stream mid-way: the server stays healthy and frees its request', async () => {
  const prompt = `${PROMPTS[3]} ${PROMPTS[4]}`;
  // Idle values, after a complete run of the same request (so any prefix cache already holds it).
  const body = { model: modelId, prompt, max_tokens: 300, temperature: 0 };
  assert.equal((await streamCompletion(server, '/v1/completions', body)).status, 200);
  await sleep(200);
  const idle = (await metrics()).samples;
  const kvUsedIdle = find(idle, /^suanli_/, /kv/, /used/);
  // A gauge (not a histogram's or counter's series) of the running batch.
  const gauge = { test: (n) => !/_(bucket|sum|count|total)\b/.test(n) };
  const runningIdle = find(idle, /^suanli_/, /running/, gauge) ?? find(idle, /^suanli_/, /batch/, gauge);

  for (let round = 0; round < 3; round++) {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }), signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    await reader.read();        // the first chunk: generation is under way
    controller.abort();
    await reader.read().catch(() => {});
  }

  // A later request works.
  const later = await streamCompletion(server, '/v1/chat/completions',
    { model: modelId, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, temperature: 0 });
  assert.equal(later.status, 200);
  assert.ok(later.done);
  assert.equal((await get(server, '/health')).status, 200);

  // The aborted requests are cancelled: within a few seconds the batch and the KV blocks are back to idle.
  let now;
  const deadline = Date.now() + 5000;
  for (;;) {
    now = (await metrics()).samples;
    const kv = kvUsedIdle && now.get(kvUsedIdle.name);
    const running = runningIdle && now.get(runningIdle.name);
    const kvBack = !kvUsedIdle || kv <= kvUsedIdle.value;
    const runningBack = !runningIdle || running <= runningIdle.value;
    if (kvBack && runningBack) break;
    if (Date.now() > deadline) {
      assert.fail(`after aborted streams: ${kvUsedIdle?.name} = ${kv} (idle ${kvUsedIdle?.value}), ` +
                  `${runningIdle?.name} = ${running} (idle ${runningIdle?.value})`);
    }
    await sleep(100);
  }
});

test('SIGTERM lets an in-flight stream finish and the server exits 0', async () => {
  const own = await startServer(['--parallel', '2', '--ctx-size', '512']);
  const inflight = streamCompletion(own, '/v1/completions', { model: modelId, prompt: PROMPTS[5], max_tokens: 200, temperature: 0 });
  await sleep(30);
  const stopping = own.stop();
  // A request that reaches the server while it shuts down gets 503 server_error (or no connection at all).
  await sleep(10);
  try {
    const late = await post(own, '/v1/completions', { model: modelId, prompt: 'Hi', max_tokens: 2 });
    if (late.status !== 200) {
      assert.equal(late.status, 503, late.text);
      assert.equal(late.json?.error?.type, 'server_error', late.text);
    }
  } catch (e) {
    assert.match(`${e.cause?.code ?? e.message}`, /ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|other side closed/, String(e.cause ?? e));
  }
  const r = await inflight.catch((e) => assert.fail(`the in-flight stream was cut by SIGTERM: ${e.cause ?? e}`));
  assert.equal(r.status, 200);
  assert.ok(r.done, 'the in-flight stream ends with [DONE]');
  const { code, signal, ms, log } = await stopping;
  assert.equal(code, 0, `exit code (signal ${signal})\n${log}`);
  assert.ok(ms < 15000, `exited within 15 s (${ms} ms)`);
});
