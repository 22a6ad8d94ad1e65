// The chat page at GET / in headless Chromium (Debian's chromium driven by playwright-core):
// type a message, press Send, see the reply stream into the assistant bubble.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, modelId } from './harness.mjs';

const CHROMIUM = process.env.SUANLI_CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false
  : `${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does) to test the web page`;

let server, browser;
before(async () => {
  server = await startServer(['--parallel', '2', '--ctx-size', '512', '--api-key', 'sk-web']);
  if (skip) return;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
});
after(async () => {
  await browser?.close();
  if (server) {
    const { code, log } = await server.stop();
    assert.equal(code, 0, `exit code on SIGTERM\n${log}`);
  }
});

// A fresh page with the API key already stored, as a user who typed it once would have it.
async function openPage(key = 'sk-web') {
  const context = await browser.newContext();
  await context.addInitScript((k) => { if (k !== null) localStorage.setItem('suanli.apiKey', k); }, key);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(server.url + '/');
  return { page, context, errors };
}

test('GET / serves the page as HTML', async () => {
  const res = await fetch(server.url + '/');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const html = await res.text();
  assert.match(html, /<title>suanli chat<\/title>/);
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=["']?https?:/i, 'no external resources');
});

test('type a message, press Send, the reply streams into the assistant bubble', { skip }, async () => {
  const { page, context, errors } = await openPage();
  try {
    // The model list comes from GET /v1/models (with the stored key).
    await page.waitForFunction((id) => [...document.querySelectorAll('#model option')].some((o) => o.value === id), modelId);
    // Record every text the assistant bubble shows while it is streaming.
    await page.evaluate(() => {
      window.__seen = [];
      new MutationObserver(() => {
        const el = document.querySelector('.msg.assistant.streaming .content');
        if (el && el.textContent && window.__seen.at(-1) !== el.textContent) window.__seen.push(el.textContent);
      }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    });
    await page.click('#settings summary');   // the settings are folded away at first
    await page.fill('#max-tokens', '64');
    await page.fill('#temperature', '0');
    const requestSeen = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions') && r.method() === 'POST');
    const responseSeen = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
    await page.fill('#input', 'Tell me a story about a dog.');
    await page.click('#send');

    const request = JSON.parse((await requestSeen).postData());
    assert.equal(request.stream, true);
    assert.equal(request.model, modelId);
    assert.equal(request.max_tokens, 64);
    assert.equal(request.temperature, 0);
    assert.deepEqual(request.messages, [{ role: 'user', content: 'Tell me a story about a dog.' }]);
    assert.equal((await requestSeen).headers().authorization, 'Bearer sk-web');
    const response = await responseSeen;
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-type'] ?? '', /text\/event-stream/);

    // Done when the bubble stops streaming and the Send button is back.
    await page.waitForSelector('.msg.assistant:not(.streaming)', { timeout: 30000 });
    await page.waitForSelector('#send:not([disabled])');
    const reply = await page.textContent('.msg.assistant .content');
    assert.ok(reply.trim().length > 0, 'the assistant bubble shows a non-empty reply');
    const seen = await page.evaluate(() => window.__seen);
    assert.ok(seen.length >= 1 && reply.startsWith(seen[0]), `text appeared while streaming: ${JSON.stringify(seen.slice(0, 3))}`);
    assert.equal(await page.textContent('.msg.user .content'), 'Tell me a story about a dog.');
    assert.equal(await page.getAttribute('#messages', 'aria-live'), 'polite');

    // The second turn sends the whole conversation.
    const second = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    await page.fill('#input', 'And then?');
    await page.press('#input', 'Enter');
    const messages = JSON.parse((await second).postData()).messages;
    assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant', 'user']);
    assert.equal(messages[1].content.trim(), reply.trim());
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant:not(.streaming)').length === 2, null, { timeout: 30000 });
    assert.deepEqual(errors, [], 'no errors in the page');
  } finally {
    await context.close();
  }
});

test('Shift+Enter adds a newline; a wrong API key shows the server\'s error message', { skip }, async () => {
  const { page, context } = await openPage('sk-wrong');
  try {
    await page.fill('#input', 'line one');
    await page.press('#input', 'Shift+Enter');
    await page.type('#input', 'line two');
    assert.equal(await page.inputValue('#input'), 'line one\nline two');
    assert.equal(await page.locator('.msg').count(), 0, 'Shift+Enter did not send');
    await page.press('#input', 'Enter');
    const error = await page.waitForSelector('.msg.error .content', { timeout: 15000 });
    const text = await error.textContent();
    assert.match(text, /401/, `the error bubble shows the status: ${text}`);
    assert.ok(text.length > 5, text);
  } finally {
    await context.close();
  }
});
