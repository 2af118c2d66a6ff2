// The official @anthropic-ai/sdk against kt: messages, streaming, auth headers, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, HAVE_KT, KEYS, header } from './stack.mjs';

let stack;
let client;
const opts = { skip: HAVE_KT ? false : 'kt binary not built (set KT_BIN)' };

before(async () => {
  if (!HAVE_KT) return;
  stack = await startStack();
  client = new Anthropic({ apiKey: KEYS.client, baseURL: stack.baseURL, maxRetries: 0, timeout: 15000 });
});

after(async () => {
  if (!stack) return;
  const r = await stack.stop();
  assert.ok(r && r.code === 0, `kt exit ${JSON.stringify(r)}`);
  const err = stack.stderr();
  assert.ok(!/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(err), err.slice(-6000));
  for (const k of Object.values(KEYS)) assert.ok(!err.includes(k), 'a key appears in kt stderr');
});

test('messages.create', opts, async () => {
  await stack.mockReset();
  const m = await client.messages.create({
    model: 'claude-3-5-sonnet', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(m.type, 'message');
  assert.equal(m.content[0].text, 'Hello from mock upstream!');
  assert.equal(m.usage.output_tokens, 5);
  const [rec] = await stack.mockRequests();
  assert.equal(rec.path, '/v1/messages');
  assert.equal(header(rec, 'x-api-key'), KEYS.anthropic);
  assert.equal(header(rec, 'authorization'), undefined);
  assert.ok(header(rec, 'anthropic-version'), 'anthropic-version missing');
  assert.ok(!JSON.stringify(rec.headers).includes(KEYS.client), 'client key forwarded');
});

test('messages streaming (create stream: true)', opts, async () => {
  const stream = await client.messages.create({
    model: 'claude-3-5-sonnet', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }],
  });
  const types = [];
  let text = '';
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'content_block_delta') text += ev.delta.text;
  }
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.equal(text, 'w0 w1 w2 w3 w4');
});

test('messages.stream helper final message', opts, async () => {
  const s = client.messages.stream({
    model: 'claude-3-5-sonnet', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }],
  });
  const final = await s.finalMessage();
  assert.equal(final.content[0].text, 'w0 w1 w2 w3 w4');
  assert.equal(final.stop_reason, 'end_turn');
});

test('502 surfaces as an Anthropic APIError', opts, async () => {
  await assert.rejects(
    client.messages.create(
      { model: 'claude-3-5-sonnet', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-keeptrusts-target': 'claude-down' } },
    ),
    (err) => err instanceof Anthropic.APIError && err.status === 502,
  );
});

test('an OpenAI target named for /v1/messages is a 400 BadRequestError', opts, async () => {
  await assert.rejects(
    client.messages.create(
      { model: 'claude-3-5-sonnet', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-keeptrusts-target': 'down' } },
    ),
    (err) => err instanceof Anthropic.BadRequestError && /does not serve \/v1\/messages/.test(err.message),
  );
});
