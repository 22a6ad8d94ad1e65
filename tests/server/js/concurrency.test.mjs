// Batching never changes results: 16 concurrent streaming greedy clients with different prompts
// all complete, and each text equals what the same request gives when it runs alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, streamCompletion, modelId, PROMPTS } from './harness.mjs';

const CLIENTS = 16;
let server;
before(async () => { server = await startServer(['--parallel', String(CLIENTS), '--ctx-size', '256', '--queue', '64']); });
after(async () => {
  const { code, log } = await server.stop();
  assert.equal(code, 0, `exit code on SIGTERM\n${log}`);
});

const requests = PROMPTS.slice(0, CLIENTS).map((prompt, i) =>
  i % 2 === 0
    ? { route: '/v1/completions', body: { model: modelId, prompt, max_tokens: 48 + (i % 5) * 8, temperature: 0 } }
    : { route: '/v1/chat/completions', body: { model: modelId, messages: [{ role: 'user', content: prompt }], max_tokens: 40 + (i % 3) * 8, temperature: 0 } });

test(`${CLIENTS} concurrent greedy streams equal the same requests run alone`, async () => {
  const alone = [];
  for (const r of requests) {
    const out = await streamCompletion(server, r.route, r.body);
    assert.equal(out.status, 200, out.text);
    assert.ok(out.done, 'stream ends with data: [DONE]');
    alone.push(out);
  }
  const together = await Promise.all(requests.map((r) => streamCompletion(server, r.route, r.body)));
  let differ = [];
  together.forEach((out, i) => {
    assert.equal(out.status, 200, `client ${i}: ${out.text}`);
    assert.ok(out.done, `client ${i}: stream ends with data: [DONE]`);
    assert.ok(out.finish_reason === 'stop' || out.finish_reason === 'length', `client ${i}: finish_reason ${out.finish_reason}`);
    if (out.text !== alone[i].text || out.finish_reason !== alone[i].finish_reason)
      differ.push(`client ${i} (${requests[i].route}):\n  alone:    ${JSON.stringify(alone[i].text)}\n  together: ${JSON.stringify(out.text)}`);
  });
  assert.equal(differ.length, 0, `${differ.length} of ${CLIENTS} outputs changed under batching:\n${differ.join('\n')}`);
  assert.ok(together.some((o) => o.text.length > 0), 'the outputs are not all empty');
});

test('a second concurrent round gives the same outputs again (prefix cache warm)', async () => {
  const a = await Promise.all(requests.map((r) => streamCompletion(server, r.route, r.body)));
  const b = await Promise.all(requests.map((r) => streamCompletion(server, r.route, r.body)));
  a.forEach((out, i) => assert.equal(b[i].text, out.text, `client ${i}`));
});
