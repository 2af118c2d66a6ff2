// The official openai SDK against kt: chat, streaming, models, embeddings, and kt's 502 as an APIError.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStack, HAVE_KT, KEYS, header } from './stack.mjs';

let stack;
let client;
const opts = { skip: HAVE_KT ? false : 'kt binary not built (set KT_BIN)' };

before(async () => {
  if (!HAVE_KT) return;
  stack = await startStack();
  client = new OpenAI({ apiKey: KEYS.client, baseURL: `${stack.baseURL}/v1`, maxRetries: 0, timeout: 15000 });
});

after(async () => {
  if (!stack) return;
  const r = await stack.stop();
  const err = stack.stderr();
  assert.ok(r && r.code === 0, `kt exit ${JSON.stringify(r)}\n${err.slice(-3000)}`);
  assert.ok(!/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(err), err.slice(-6000));
  for (const k of Object.values(KEYS)) assert.ok(!err.includes(k), 'a key appears in kt stderr');
});

test('chat completion', opts, async () => {
  await stack.mockReset();
  const r = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Hello from mock upstream!');
  assert.equal(r.usage.total_tokens, 14);
  const [rec] = await stack.mockRequests();
  assert.equal(rec.path, '/v1/chat/completions');
  assert.equal(header(rec, 'authorization'), `Bearer ${KEYS.openai}`);
  assert.ok(!JSON.stringify(rec.headers).includes(KEYS.client), 'client key forwarded');
});

test('chat completion with raw response headers', opts, async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  assert.equal(response.status, 200);
  assert.equal(data.choices.length, 1);
  assert.equal(response.headers.get('openai-processing-ms'), '7');
});

test('streaming chat completion', opts, async () => {
  const t0 = Date.now();
  const stream = await client.chat.completions.create(
    { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream please' }] },
    { headers: { 'x-mock-events': '5', 'x-mock-interval': '0.3' } },
  );
  let text = '';
  let n = 0;
  let firstAt = null;
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (firstAt === null) firstAt = Date.now() - t0;
    n += 1;
    const c = chunk.choices[0];
    if (c) {
      text += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  const total = Date.now() - t0;
  assert.equal(text, 'w0 w1 w2 w3 w4');
  assert.equal(finish, 'stop');
  assert.equal(n, 7);
  assert.ok(firstAt < total - 1000, `first chunk at ${firstAt} ms of ${total} ms: stream was buffered`);
});

test('streaming with include_usage', opts, async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'x' }],
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.equal(usage?.total_tokens, 14);
});

test('models.list', opts, async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small']);
});

test('embeddings', opts, async () => {
  const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'float' });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, 4);
});

test('responses API', opts, async () => {
  const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
  assert.equal(r.object, 'response');
  assert.equal(r.output_text, 'Hello from mock upstream!');
});

test('502 from kt is an APIError with status 502', opts, async () => {
  await assert.rejects(
    client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-keeptrusts-target': 'down' } },
    ),
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
      assert.equal(err.status, 502);
      assert.equal(err.type, 'upstream_error');
      assert.equal(err.code, 'upstream_connect');
      assert.ok(err.message.length > 0);
      return true;
    },
  );
});

test('502 on a stream request is an APIError too', opts, async () => {
  await assert.rejects(
    client.chat.completions.create(
      { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-keeptrusts-target': 'down' } },
    ),
    (err) => err instanceof OpenAI.APIError && err.status === 502,
  );
});

test('upstream 500 surfaces as InternalServerError', opts, async () => {
  await assert.rejects(
    client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-mock-mode': 'fail' } },
    ),
    (err) => err instanceof OpenAI.InternalServerError && err.status === 500 && err.code === 'mock_fail',
  );
});

test('unknown target is a 400 BadRequestError', opts, async () => {
  await assert.rejects(
    client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-keeptrusts-target': 'nope' } },
    ),
    (err) => err instanceof OpenAI.BadRequestError && err.type === 'validation_error' && err.code === 'unknown_target',
  );
});
