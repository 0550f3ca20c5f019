// The official OpenAI Node SDK against Nemo Router: only baseURL and the key change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway } from './gateway.mjs';

let gateway;
let client;

before(async () => {
  gateway = await startGateway();
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'sk-nemo-e2e', maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  const code = await gateway.stop();
  if (code !== undefined) assert.equal(code, 0, 'the gateway exits 0 on SIGTERM');
});

test('chat completion', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'What is a gateway?' }] })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.match(data.choices[0].message.content, /What is a gateway\?/);
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.ok(data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
  assert.equal(response.headers.get('x-nemo-model'), 'mock/gemini-2.5-flash');
  assert.ok(Number(response.headers.get('x-nemo-response-cost')) > 0);
  assert.ok(response.headers.get('x-request-id'));
});

test('streaming with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gemini-2.5-flash',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'count to three' }],
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks > 3, `got ${chunks} chunks`);
  assert.match(text, /count to three/);
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
});

test('a stream can be abandoned part way', async () => {
  const stream = await client.chat.completions.create({
    model: 'gemini-2.5-pro', stream: true, messages: [{ role: 'user', content: 'a long answer please' }],
  });
  let seen = 0;
  for await (const chunk of stream) {
    if (++seen === 2) break; // the SDK aborts the request
  }
  assert.equal(seen, 2);
  const again = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'still there?' }] });
  assert.match(again.choices[0].message.content, /still there\?/);
});

test('embeddings (the SDK asks for base64 and decodes it)', async () => {
  const res = await client.embeddings.create({ model: 'text-embedding-004', input: ['alpha', 'beta'] });
  assert.equal(res.data.length, 2);
  const v = res.data[0].embedding;
  assert.equal(v.length, 768);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `unit vector, norm ${norm}`);
  assert.ok(res.usage.prompt_tokens > 0);
});

test('models.list()', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  for (const id of ['gemini-2.5-flash', 'gemini-2.5-pro', 'text-embedding-004']) {
    assert.ok(ids.includes(id), `${id} in ${ids}`);
  }
});

test('an unknown model surfaces as the SDK\'s NotFoundError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError, err.constructor.name);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      return true;
    });
});

test('a bad request surfaces as the SDK\'s BadRequestError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [] }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, err.constructor.name);
      assert.equal(err.status, 400);
      assert.equal(err.param, 'messages');
      return true;
    });
});

test('per-request extensions ride in the body (extra_body)', async () => {
  const res = await client.chat.completions.create({
    model: 'gemini-2.5-flash',
    messages: [{ role: 'user', content: 'tagged' }],
    nemo_cache: false,
    metadata: { job_id: 'e2e-1', stage: 'query' },
  });
  assert.match(res.choices[0].message.content, /tagged/);
});

test('streaming without include_usage: chunks as OpenAI sends them, no usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'no usage please' }],
  });
  let text = '';
  for await (const chunk of stream) {
    assert.ok(chunk.choices.length > 0, 'a chunk without choices would break clients that index choices[0]');
    assert.equal(chunk.usage, undefined, 'no usage member, not even null');
    text += chunk.choices[0].delta.content ?? '';
  }
  assert.match(text, /no usage please/);
});

test('models.retrieve()', async () => {
  const m = await client.models.retrieve('gemini-2.5-pro');
  assert.equal(m.id, 'gemini-2.5-pro');
  assert.equal(m.object, 'model');
  await assert.rejects(client.models.retrieve('gpt-nope'), (err) => err instanceof OpenAI.NotFoundError);
});

test('chat with an embedding model is the SDK\'s BadRequestError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'text-embedding-004', messages: [{ role: 'user', content: 'hi' }] }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'model');
});
