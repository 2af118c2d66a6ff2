// The official SDKs against one kt with OpenAI, Anthropic and Azure targets (issue 15): each
// request reaches a target whose provider speaks its API, with that target's credential; a
// failed target fails over to its fallback; and when kt already retried, its answer carries
// x-should-retry: false, which both SDKs obey, so their retries do not multiply kt's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, HAVE_KT, KEYS, header } from './stack.mjs';

let stack;
let openai;
let anthropic;
const opts = { skip: HAVE_KT ? false : 'kt binary not built (set KT_BIN)' };

const extraTargets = (mockUrl, downPort) => `    - id: azure
      provider: azure-openai
      model: [gpt-4o, "gpt-4o-2024-*"]
      aliases: {smart: gpt4o-prod}
      base_url: ${mockUrl}/openai/deployments
      secret_key_ref:
        env: AZURE_OPENAI_KEY
    - id: refused
      provider: openai
      model: fo-refused
      base_url: http://127.0.0.1:${downPort}/v1
      fallbacks: [openai-main]
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: fo-a
      provider: openai
      model: fo-status
      base_url: ${mockUrl}/a/v1
      fallbacks: [fo-b]
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: fo-b
      provider: openai
      base_url: ${mockUrl}/b/v1
      secret_key_ref:
        env: OPENAI_API_KEY
`;

before(async () => {
  if (!HAVE_KT) return;
  stack = await startStack({ extraTargets,
    extraGateway: '  failover: {retry_burst: 100, circuit: {failures: 0}}\n' });
  // the SDKs' defaults: 2 retries on 408/409/429/5xx unless x-should-retry says otherwise
  openai = new OpenAI({ apiKey: KEYS.client, baseURL: `${stack.baseURL}/v1`, maxRetries: 2,
    timeout: 15000 });
  anthropic = new Anthropic({ apiKey: KEYS.client, baseURL: stack.baseURL, maxRetries: 2,
    timeout: 15000 });
});

after(async () => {
  if (!stack) return;
  const r = await stack.stop();
  assert.ok(r && r.code === 0, `kt exit ${JSON.stringify(r)}`);
  const err = stack.stderr();
  assert.ok(!/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(err), err.slice(-6000));
  for (const k of Object.values(KEYS)) assert.ok(!err.includes(k), 'a key appears in kt stderr');
});

const hello = [{ role: 'user', content: 'hello' }];

test('OpenAI SDK chat goes to the OpenAI target', opts, async () => {
  await stack.mockReset();
  const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
  assert.equal(r.object, 'chat.completion');
  const [rec] = await stack.mockRequests();
  assert.equal(rec.path, '/v1/chat/completions');
  assert.equal(header(rec, 'authorization'), `Bearer ${KEYS.openai}`);
});

test('OpenAI SDK chat for an Azure model goes to the Azure deployment', opts, async () => {
  await stack.mockReset();
  const r = await openai.chat.completions.create({ model: 'gpt-4o-2024-08-06', messages: hello });
  assert.equal(r.object, 'chat.completion');
  const [rec] = await stack.mockRequests();
  assert.equal(rec.path, '/openai/deployments/gpt-4o-2024-08-06/chat/completions');
  assert.equal(header(rec, 'api-key'), KEYS.azure);
  assert.equal(header(rec, 'authorization'), undefined);
});

test('an alias names the Azure deployment and the model sent', opts, async () => {
  await stack.mockReset();
  await openai.chat.completions.create({ model: 'smart', messages: hello });
  const [rec] = await stack.mockRequests();
  assert.equal(rec.path, '/openai/deployments/gpt4o-prod/chat/completions');
  assert.equal(JSON.parse(rec.body).model, 'gpt4o-prod');
});

test('Anthropic SDK messages go to the Anthropic target, whatever the model', opts, async () => {
  for (const model of ['claude-3-5-sonnet', 'gpt-4o-mini']) {
    await stack.mockReset();
    const m = await anthropic.messages.create({ model, max_tokens: 20, messages: hello });
    assert.equal(m.type, 'message');
    const [rec] = await stack.mockRequests();
    assert.equal(rec.path, '/v1/messages');
    assert.equal(header(rec, 'x-api-key'), KEYS.anthropic);
    assert.equal(header(rec, 'authorization'), undefined);
  }
});

test('a refused target fails over to its fallback', opts, async () => {
  await stack.mockReset();
  const r = await openai.chat.completions.create({ model: 'fo-refused', messages: hello });
  assert.equal(r.object, 'chat.completion');
  const recs = await stack.mockRequests();
  assert.equal(recs.length, 1);
  assert.equal(header(recs[0], 'authorization'), `Bearer ${KEYS.openai}`);
});

test('after kt failed over, the SDK does not retry on top (x-should-retry: false)', opts, async () => {
  await stack.mockReset();
  const headers = { 'x-mock-mode': 'status', 'x-mock-status': '503' };
  await assert.rejects(
    openai.chat.completions.create({ model: 'fo-status', messages: hello }, { headers }),
    (e) => e instanceof OpenAI.APIError && e.status === 503 &&
      e.headers.get('x-should-retry') === 'false');
  const recs = await stack.mockRequests();
  // kt's two attempts (fo-a, then fo-b); without the header the SDK would make it six
  assert.deepEqual(recs.map((r) => r.path), ['/a/v1/chat/completions', '/b/v1/chat/completions']);
});

test('a single-target 503 is left to the SDK retries', opts, async () => {
  await stack.mockReset();
  const headers = { 'x-mock-mode': 'status', 'x-mock-status': '503' };
  const client = openai.withOptions({ maxRetries: 1 });
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello }, { headers }),
    (e) => e instanceof OpenAI.APIError && e.status === 503);
  assert.equal((await stack.mockRequests()).length, 2);
});
