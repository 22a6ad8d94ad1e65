// Bad input with raw fetch: each case gets the right 4xx status and an OpenAI-style error
// object ({"error":{"message","type","param","code"}}), and the server keeps answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, post, get, modelId } from './harness.mjs';

const KEY = 'sk-bad-input';
const auth = { authorization: `Bearer ${KEY}` };
const CTX = 128;
let server;
before(async () => { server = await startServer(['--ctx-size', String(CTX), '--api-key', KEY, '--parallel', '2']); });
after(async () => {
  const { code, log } = await server.stop();
  assert.equal(code, 0, `exit code on SIGTERM\n${log}`);
});

const chat = (extra) => ({ model: modelId, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, ...extra });

function assertError(r, status, type, code, what) {
  const where = `${what}: got ${r.status} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, status, where);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/, where);
  assert.ok(r.json && typeof r.json.error === 'object', `error object: ${where}`);
  const e = r.json.error;
  assert.equal(typeof e.message, 'string', where);
  assert.ok(e.message.length > 0, where);
  assert.equal(e.type, type, where);
  assert.ok('param' in e && 'code' in e, `error has param and code: ${where}`);
  if (code !== undefined) assert.equal(e.code, code, where);
}

const cases = [
  // [what, route, body, status, type, code]
  ['malformed JSON', '/v1/chat/completions', '{"messages": [', 400, 'invalid_request_error'],
  ['not an object', '/v1/chat/completions', '[1, 2, 3]', 400, 'invalid_request_error'],
  ['empty body', '/v1/completions', '', 400, 'invalid_request_error'],
  ['messages is a string', '/v1/chat/completions', chat({ messages: 'Hi' }), 400, 'invalid_request_error'],
  ['messages missing', '/v1/chat/completions', { model: modelId, max_tokens: 4 }, 400, 'invalid_request_error'],
  ['empty messages', '/v1/chat/completions', chat({ messages: [] }), 400, 'invalid_request_error'],
  ['message without content', '/v1/chat/completions', chat({ messages: [{ role: 'user' }] }), 400, 'invalid_request_error'],
  ['message with an unknown role', '/v1/chat/completions', chat({ messages: [{ role: 'wizard', content: 'Hi' }] }), 400, 'invalid_request_error'],
  ['max_tokens is a string', '/v1/chat/completions', chat({ max_tokens: 'ten' }), 400, 'invalid_request_error'],
  ['max_tokens is negative', '/v1/chat/completions', chat({ max_tokens: -1 }), 400, 'invalid_request_error'],
  ['temperature is a string', '/v1/chat/completions', chat({ temperature: 'hot' }), 400, 'invalid_request_error'],
  ['stream is a string', '/v1/chat/completions', chat({ stream: 'yes' }), 400, 'invalid_request_error'],
  ['stop is a number', '/v1/chat/completions', chat({ stop: 7 }), 400, 'invalid_request_error'],
  ['prompt missing', '/v1/completions', { model: modelId, max_tokens: 4 }, 400, 'invalid_request_error'],
  ['prompt is an object', '/v1/completions', { model: modelId, prompt: { text: 'Hi' } }, 400, 'invalid_request_error'],
  ['prompt longer than the context', '/v1/completions', { model: modelId, prompt: 'Once upon a time '.repeat(CTX), max_tokens: 4 },
   400, 'invalid_request_error', 'context_length_exceeded'],
  ['chat longer than the context', '/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'Once upon a time '.repeat(CTX) }] }),
   400, 'invalid_request_error', 'context_length_exceeded'],
  ['prompt longer than the context, streamed', '/v1/completions', { model: modelId, prompt: 'Once upon a time '.repeat(CTX), max_tokens: 4, stream: true },
   400, 'invalid_request_error', 'context_length_exceeded'],
  ['unknown model', '/v1/chat/completions', chat({ model: 'gpt-17' }), 404, 'invalid_request_error', 'model_not_found'],
  ['unknown model, completions', '/v1/completions', { model: 'gpt-17', prompt: 'Hi', max_tokens: 4 }, 404, 'invalid_request_error', 'model_not_found'],
];

for (const [what, route, body, status, type, code] of cases) {
  test(`${what} -> ${status} ${type}${code ? ` (${code})` : ''}`, async () => {
    assertError(await post(server, route, body, { headers: auth }), status, type, code, what);
  });
}

test('missing API key -> 401 authentication_error (invalid_api_key)', async () => {
  assertError(await post(server, '/v1/chat/completions', chat()), 401, 'authentication_error', 'invalid_api_key', 'no key');
  assertError(await get(server, '/v1/models'), 401, 'authentication_error', 'invalid_api_key', 'no key, /v1/models');
});

test('wrong API key -> 401 authentication_error (invalid_api_key)', async () => {
  for (const authorization of [`Bearer ${KEY}x`, 'Bearer ', KEY, `Basic ${KEY}`]) {
    assertError(await post(server, '/v1/completions', { prompt: 'Hi', max_tokens: 2 }, { headers: { authorization } }),
                401, 'authentication_error', 'invalid_api_key', `Authorization: ${authorization}`);
  }
});

test('body too large -> 413 invalid_request_error', async () => {
  // 8 MiB of valid JSON: larger than any sane limit for this server.
  const body = JSON.stringify({ model: modelId, prompt: 'a'.repeat(8 << 20), max_tokens: 1 });
  let r;
  try {
    r = await post(server, '/v1/completions', body, { headers: auth });
  } catch (e) {
    assert.fail(`the 413 response did not reach the client (${e.cause?.code ?? ''} ${e.message}): ` +
                'the server must read (or drain) the body, or send the response before closing');
  }
  assertError(r, 413, 'invalid_request_error', undefined, 'oversized body');
});

test('a correct request with the key works, and the server still answers /health', async () => {
  const ok = await post(server, '/v1/chat/completions', chat(), { headers: auth });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.object, 'chat.completion');
  const health = await get(server, '/health');
  assert.equal(health.status, 200, health.text);
});
