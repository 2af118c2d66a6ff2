// Gateway keys through the official SDKs: each sends the key where it always does (openai:
// Authorization: Bearer, @anthropic-ai/sdk: x-api-key); a good key passes, a bad or missing one is
// the SDK's own AuthenticationError, and nothing reaches the provider.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, HAVE_KT, KEYS, header } from './stack.mjs';

const GOOD = 'kt_gk_compat_team_a_5e1d0c9b8a7f';
const BAD = 'kt_gk_compat_unknown_000000000000';
const sha = (k) => createHash('sha256').update(k).digest('hex');

let stack;
const opts = { skip: HAVE_KT ? false : 'kt binary not built (set KT_BIN)' };

before(async () => {
  if (!HAVE_KT) return;
  stack = await startStack({ extraYaml: `consumers:
  - name: team-a
    keys:
      - key_sha256: "${sha(GOOD)}"
` });
});

after(async () => {
  if (!stack) return;
  const r = await stack.stop();
  assert.ok(r && r.code === 0, `kt exit ${JSON.stringify(r)}`);
  const err = stack.stderr();
  assert.ok(!/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(err), err.slice(-6000));
  assert.ok(!err.includes(GOOD) && !err.includes(BAD), 'a gateway key appears in kt stderr');
});

const openai = (apiKey) => new OpenAI({ apiKey, baseURL: `${stack.baseURL}/v1`, maxRetries: 0, timeout: 15000 });
const anthropic = (apiKey) => new Anthropic({ apiKey, baseURL: stack.baseURL, maxRetries: 0, timeout: 15000 });

test('openai: a good gateway key passes, the provider key is injected', opts, async () => {
  await stack.mockReset();
  const r = await openai(GOOD).chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(r.object, 'chat.completion');
  const [rec] = await stack.mockRequests();
  assert.equal(header(rec, 'authorization'), `Bearer ${KEYS.openai}`);
  assert.ok(!JSON.stringify(rec.headers).includes(GOOD), 'gateway key forwarded');
});

test('openai: a bad gateway key is an AuthenticationError', opts, async () => {
  await stack.mockReset();
  await assert.rejects(
    openai(BAD).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401 &&
      err.code === 'invalid_gateway_key',
  );
  assert.deepEqual(await stack.mockRequests(), []);
});

test('anthropic: a good gateway key passes', opts, async () => {
  await stack.mockReset();
  const m = await anthropic(GOOD).messages.create({
    model: 'claude-3-5-sonnet', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }],
  });
  assert.equal(m.type, 'message');
  const [rec] = await stack.mockRequests();
  assert.equal(header(rec, 'x-api-key'), KEYS.anthropic);
});

test('anthropic: a bad gateway key is an AuthenticationError', opts, async () => {
  await stack.mockReset();
  await assert.rejects(
    anthropic(BAD).messages.create({
      model: 'claude-3-5-sonnet', max_tokens: 5, messages: [{ role: 'user', content: 'x' }],
    }),
    (err) => err instanceof Anthropic.AuthenticationError && err.status === 401,
  );
  assert.deepEqual(await stack.mockRequests(), []);
});
