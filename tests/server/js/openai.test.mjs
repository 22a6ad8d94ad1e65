// The official openai npm client against `suanli serve`: chat and completions, streamed and not,
// stop sequences, max_tokens, usage, logprobs, and errors surfaced as the client's error classes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, OpenAI, modelId, post } from './harness.mjs';

const KEY = 'sk-test-key';
let server, openai;

before(async () => {
  server = await startServer(['--parallel', '4', '--ctx-size', '256', '--api-key', KEY]);
  openai = client(server, { apiKey: KEY });
});
after(async () => {
  const { code, signal, log } = await server.stop();
  assert.equal(code, 0, `suanli serve should exit 0 on SIGTERM (signal ${signal})\n${log}`);
});

const STORY = 'Once upon a time, there was a little girl named Lily.';
// The token counts of a usage object (prompt_tokens_details may differ: the prefix cache warms up).
const counts = (u) => u && { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
const chatMessages = [{ role: 'user', content: 'Tell me a story about a cat.' }];

test('GET /v1/models lists the served model', async () => {
  const models = [];
  for await (const m of openai.models.list()) models.push(m);
  assert.deepEqual(models.map((m) => m.id), [modelId]);
  assert.equal(models[0].object, 'model');
});

test('chat completion, not streamed: message, finish_reason, usage', async () => {
  const r = await openai.chat.completions.create({ model: modelId, messages: chatMessages, max_tokens: 24, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, modelId);
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  assert.ok(r.usage.prompt_tokens > 0, 'prompt_tokens > 0');
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 24, `completion_tokens ${r.usage.completion_tokens}`);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('chat completion, streamed, equals the non-streamed greedy reply', async () => {
  const params = { model: modelId, messages: chatMessages, max_tokens: 24, temperature: 0 };
  const whole = await openai.chat.completions.create(params);
  const stream = await openai.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null, chunks = 0, role = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      role ??= c.delta.role;
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks > 2, `a streamed reply comes in several chunks (got ${chunks})`);
  assert.equal(role, 'assistant');
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.ok(usage, 'stream_options.include_usage gives a usage chunk');
  assert.deepEqual(counts(usage), counts(whole.usage));
});

test('completion, not streamed and streamed, give the same greedy text', async () => {
  const params = { model: modelId, prompt: STORY, max_tokens: 32, temperature: 0 };
  const whole = await openai.completions.create(params);
  assert.equal(whole.object, 'text_completion');
  assert.ok(whole.choices[0].text.length > 0, 'non-empty text');
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  const stream = await openai.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) { text += c.text; if (c.finish_reason) finish = c.finish_reason; }
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(counts(usage), counts(whole.usage));
});

test('max_tokens ends the reply with finish_reason "length"', async () => {
  const r = await openai.completions.create({ model: modelId, prompt: STORY, max_tokens: 5, temperature: 0 });
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 5);
  const s = await openai.chat.completions.create({ model: modelId, messages: chatMessages, max_tokens: 3, temperature: 0, stream: true });
  let finish = null;
  for await (const chunk of s) for (const c of chunk.choices) finish = c.finish_reason ?? finish;
  assert.equal(finish, 'length');
});

test('stop sequences cut the text and give finish_reason "stop"', async () => {
  const params = { model: modelId, prompt: STORY, max_tokens: 48, temperature: 0 };
  const full = (await openai.completions.create(params)).choices[0].text;
  // Stop at a word that the greedy continuation reaches a little way in.
  const words = full.split(/\s+/).filter((w) => /^[A-Za-z]{3,}$/.test(w));
  assert.ok(words.length >= 3, `the greedy text has words to stop at: ${JSON.stringify(full)}`);
  const stopWord = words[2];
  const cut = full.slice(0, full.indexOf(stopWord));

  for (const stop of [stopWord, ['@@never@@', stopWord]]) {
    const r = await openai.completions.create({ ...params, stop });
    assert.equal(r.choices[0].text, cut, `stop ${JSON.stringify(stop)}: text before the stop sequence, without it`);
    assert.equal(r.choices[0].finish_reason, 'stop');
    const s = await openai.completions.create({ ...params, stop, stream: true });
    let text = '', finish = null;
    for await (const chunk of s) for (const c of chunk.choices) { text += c.text; finish = c.finish_reason ?? finish; }
    assert.equal(text, cut, `streamed, stop ${JSON.stringify(stop)}`);
    assert.equal(finish, 'stop');
  }

  const chatFull = (await openai.chat.completions.create({ model: modelId, messages: chatMessages, max_tokens: 48, temperature: 0 })).choices[0].message.content;
  const chatWords = chatFull.split(/\s+/).filter((w) => /^[A-Za-z]{3,}$/.test(w));
  if (chatWords.length >= 2) {
    const r = await openai.chat.completions.create({ model: modelId, messages: chatMessages, max_tokens: 48, temperature: 0, stop: [chatWords[1]] });
    assert.equal(r.choices[0].message.content, chatFull.slice(0, chatFull.indexOf(chatWords[1])));
    assert.equal(r.choices[0].finish_reason, 'stop');
  }
});

test('seed makes sampling repeatable; temperature > 0 is accepted with top_p and penalties', async () => {
  const params = { model: modelId, prompt: STORY, max_tokens: 24, temperature: 0.9, top_p: 0.9, seed: 42,
                   presence_penalty: 0.5, frequency_penalty: 0.5 };
  const a = await openai.completions.create(params);
  const b = await openai.completions.create(params);
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('logprobs and top_logprobs when asked', async () => {
  const r = await openai.chat.completions.create({
    model: modelId, messages: chatMessages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3,
  });
  const content = r.choices[0].logprobs?.content;
  assert.ok(Array.isArray(content) && content.length === r.usage.completion_tokens,
            `one logprobs entry per generated token: ${JSON.stringify(r.choices[0].logprobs)}`);
  for (const t of content) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0, `logprob ${t.logprob} <= 0`);
    assert.equal(t.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
    assert.ok(Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-4, 'greedy token is the top one');
  }
  const plain = await openai.chat.completions.create({ model: modelId, messages: chatMessages, max_tokens: 6, temperature: 0 });
  assert.ok(!plain.choices[0].logprobs, 'no logprobs unless asked');

  const s = await openai.chat.completions.create({
    model: modelId, messages: chatMessages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2, stream: true,
  });
  let entries = 0;
  for await (const chunk of s) for (const c of chunk.choices) entries += c.logprobs?.content?.length ?? 0;
  assert.ok(entries > 0, 'streamed chunks carry logprobs');

  const legacy = await openai.completions.create({ model: modelId, prompt: STORY, max_tokens: 4, temperature: 0, logprobs: 2 });
  assert.ok(legacy.choices[0].logprobs, `completions: logprobs present when asked: ${JSON.stringify(legacy.choices[0])}`);
});

test('errors surface as the client\'s error classes', async () => {
  await assert.rejects(
    openai.chat.completions.create({ model: modelId, messages: [], max_tokens: 4 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.type === 'invalid_request_error');
  await assert.rejects(
    openai.chat.completions.create({ model: 'no-such-model', messages: chatMessages, max_tokens: 4 }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found');
  const wrongKey = client(server, { apiKey: 'sk-wrong' });
  await assert.rejects(
    wrongKey.chat.completions.create({ model: modelId, messages: chatMessages, max_tokens: 4 }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key');
  await assert.rejects(
    wrongKey.completions.create({ model: modelId, prompt: STORY, max_tokens: 4, stream: true }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(
    openai.completions.create({ model: modelId, prompt: 'word '.repeat(2000), max_tokens: 4 }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
  // The key is not needed for /health.
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200);
  // Sanity: the raw body is OpenAI-shaped.
  const raw = await post(server, '/v1/chat/completions', { messages: [] }, { headers: { authorization: `Bearer ${KEY}` } });
  assert.deepEqual(Object.keys(raw.json.error).sort(), ['code', 'message', 'param', 'type']);
});

test('429 from a full queue is a RateLimitError (server with --alias)', async (t) => {
  const small = await startServer(['--parallel', '1', '--queue', '1', '--ctx-size', '512', '--alias', 'tiny-story']);
  t.after(async () => assert.equal((await small.stop()).code, 0));
  const c = client(small);
  const ids = [];
  for await (const m of c.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['tiny-story'], '--alias names the model');
  const req = (i) => c.completions.create({ model: 'tiny-story', prompt: `${STORY} ${i}`, max_tokens: 200, temperature: 0 });
  const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => req(i)));
  const limited = results.filter((r) => r.status === 'rejected');
  assert.ok(limited.length > 0, 'with 1 slot, a queue of 1 and 12 clients some are refused');
  for (const r of limited) {
    assert.ok(r.reason instanceof OpenAI.RateLimitError, `rejected with ${r.reason}`);
    assert.equal(r.reason.status, 429);
    assert.equal(r.reason.code, 'queue_full');
    assert.equal(r.reason.type, 'rate_limit_error');
  }
  assert.ok(results.some((r) => r.status === 'fulfilled'), 'some complete');
});
