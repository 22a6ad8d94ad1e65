// Shared by the end-to-end tests of `suanli serve`: starts the server as a child process on a
// free port, waits for its "listening" line, and stops it with SIGTERM, checking that it exits 0.
//
//   SUANLI_BINARY  the suanli executable (default: build/suanli in the repository)
//   SUANLI_MODEL   the model to serve (default: models/stories260K.gguf, the bundled demo model)
//   SUANLI_THREADS passed as -t when set
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const binary = process.env.SUANLI_BINARY || path.join(repoRoot, 'build/suanli');
export const model = process.env.SUANLI_MODEL || path.join(repoRoot, 'models/stories260K.gguf');
// The id the API uses for the model: the file's stem (no --alias given).
export const modelId = path.basename(model).replace(/\.gguf$/i, '');

// The npm packages come from tests/server/js/package-lock.json; scripts/setup.sh installs them.
if (!existsSync(path.join(here, 'node_modules', 'openai')) ||
    !existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
  console.error(`\n*** ${path.join(here, 'node_modules')} is missing or incomplete: run scripts/setup.sh ` +
                `(it runs \`npm ci\` in tests/server/js) ***\n`);
  process.exit(1);
}
if (!existsSync(binary)) {
  console.error(`\n*** ${binary} does not exist: build suanli or set SUANLI_BINARY ***\n`);
  process.exit(1);
}
export const { default: OpenAI } = await import('openai');

const LISTENING = /^suanli serve: listening on (http:\/\/\S+)\s*$/;

// Starts `suanli serve -m MODEL --port 0 ...extraArgs`. Resolves to
// { url, port, process, stderr(), stop() } once the server printed its listening line.
export async function startServer(extraArgs = [], { timeoutMs = 60000 } = {}) {
  const args = ['serve', '-m', model, '--port', '0', ...extraArgs];
  if (process.env.SUANLI_THREADS && !extraArgs.includes('-t')) args.push('-t', process.env.SUANLI_THREADS);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { log = (log + d).slice(-20000); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const describe = () => `${binary} ${args.join(' ')}\n--- its stderr (last lines) ---\n${log.split('\n').slice(-30).join('\n')}`;

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "suanli serve: listening on" line within ${timeoutMs} ms: ${describe()}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = LISTENING.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${binary}: ${e.message}`)); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening: ${describe()}`));
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout.resume();

  let stopped = null;
  return {
    url,                                   // http://127.0.0.1:PORT
    port: Number(new URL(url).port),
    process: child,
    exited,
    stderr: () => log,
    // SIGTERM, then waits for the exit; resolves to { code, signal, ms }. Kills it after timeoutMs.
    stop({ timeoutMs = 20000 } = {}) {
      if (stopped) return stopped;
      const start = Date.now();
      stopped = (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        let timer;
        const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
        const result = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (!result) {
          child.kill('SIGKILL');
          await exited;
          throw new Error(`server did not exit within ${timeoutMs} ms of SIGTERM: ${describe()}`);
        }
        return { ...result, ms: Date.now() - start, log: describe() };
      })();
      return stopped;
    },
  };
}

// The openai client for a server: no retries (a 429 must reach the test, not be retried away).
export function client(server, options = {}) {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60000, ...options });
}

// POST a JSON body (a string is sent as it is); resolves to { status, headers, text, json }.
export async function post(server, route, body, { headers = {}, signal } = {}) {
  const res = await fetch(server.url + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    signal,
  });
  return readResponse(res);
}

export async function get(server, route, { headers = {} } = {}) {
  return readResponse(await fetch(server.url + route, { headers }));
}

async function readResponse(res) {
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

// Reads a streamed (SSE) completion with fetch: resolves to
// { status, text, finish_reason, usage, chunks, done, firstChunkMs, ms }.
export async function streamCompletion(server, route, body, { headers = {}, onChunk } = {}) {
  const start = performance.now();
  const res = await fetch(server.url + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (res.status !== 200) return { status: res.status, ...(await readResponse(res)), ms: performance.now() - start };
  const out = { status: 200, text: '', finish_reason: null, usage: null, chunks: 0, done: false, firstChunkMs: null };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ')) continue;
      const data = event.slice(6);
      if (data === '[DONE]') { out.done = true; continue; }
      const chunk = JSON.parse(data);
      out.chunks++;
      out.firstChunkMs ??= performance.now() - start;
      if (chunk.usage) out.usage = chunk.usage;
      for (const choice of chunk.choices ?? []) {
        out.text += choice.delta?.content ?? choice.text ?? '';
        if (choice.finish_reason) out.finish_reason = choice.finish_reason;
      }
      onChunk?.(chunk);
    }
  }
  out.ms = performance.now() - start;
  return out;
}

// Prometheus text -> Map of "name{labels}" -> number (comments dropped).
export function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) samples.set(m[1], Number(m[2]));
  }
  return samples;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Story openings for the bundled TinyStories model: different prompts, similar lengths.
export const PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'One day, a big dog went to the park.',
  'Tom had a red ball. He liked to play with it.',
  'The sun was hot and the cat was sleepy.',
  'Sara wanted to bake a cake for her mom.',
  'A little bird sat on a tree and sang a song.',
  'Ben found a shiny rock in the garden.',
  'The boat was small, but the sea was big.',
  'Mia and her friend went to the store to buy candy.',
  'There was a tall tree near the house.',
  'Max was a happy puppy who loved to run.',
  'Anna saw a butterfly and tried to catch it.',
  'The old man had a long white beard.',
  'Lucy lost her toy and she was very sad.',
  'It was raining, so Tim stayed inside.',
  'The frog jumped into the pond with a splash.',
  'Once there was a king who loved gold.',
  'The little car drove up the hill.',
];
