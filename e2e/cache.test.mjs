// The response cache through the official OpenAI SDK: a repeat is a hit that costs nothing, and a stored
// answer replays in the other form (whole <-> stream) with SSE framing the SDK parses as it parses OpenAI's.
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

const settle = () => new Promise((r) => setTimeout(r, 150)); // the cache's writer thread stores the answer

async function streamed(params) {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  let content = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      content += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { content, finish, usage, chunks };
}

test('a repeated chat request is a hit: the same answer, at no cost', async () => {
  const params = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Cache me once' }] };
  const first = await client.chat.completions.create(params).withResponse();
  assert.equal(first.response.headers.get('x-nemo-cache'), 'miss');
  await settle();
  const second = await client.chat.completions.create({ ...params, metadata: { job_id: 'e2e' } }).withResponse();
  assert.equal(second.response.headers.get('x-nemo-cache'), 'hit');
  assert.equal(Number(second.response.headers.get('x-nemo-response-cost')), 0);
  assert.deepEqual(second.data, first.data);
  const fresh = await client.chat.completions.create({ ...params, nemo_cache: false }).withResponse();
  assert.equal(fresh.response.headers.get('x-nemo-cache'), 'bypass');
});

test('a stored whole answer replays as a stream, and a stored stream as a whole answer', async () => {
  const asked = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Stream me from the cache' }] };
  const whole = await client.chat.completions.create(asked);
  await settle();
  const replay = await streamed({ ...asked, stream_options: { include_usage: true } });
  assert.equal(replay.content, whole.choices[0].message.content);
  assert.equal(replay.finish, 'stop');
  assert.deepEqual(replay.usage, whole.usage, 'the usage chunk the client asked for');
  const noUsage = await streamed(asked);
  assert.equal(noUsage.usage, null, 'no usage chunk when not asked');

  const other = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Stream me first' }] };
  const live = await streamed({ ...other, stream_options: { include_usage: true } });
  await settle();
  const { data, response } = await client.chat.completions.create(other).withResponse();
  assert.equal(response.headers.get('x-nemo-cache'), 'hit');
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.content, live.content);
  assert.deepEqual(data.usage, live.usage);
  const again = await streamed(other);
  assert.equal(again.content, live.content);
  assert.equal(again.chunks, live.chunks - 1, 'the same chunks, without the usage chunk');
});

test('embeddings are cached', async () => {
  const params = { model: 'text-embedding-004', input: ['a chunk the pipeline embeds twice'] };
  const first = await client.embeddings.create(params).withResponse();
  await settle();
  const second = await client.embeddings.create(params).withResponse();
  assert.equal(second.response.headers.get('x-nemo-cache'), 'hit');
  assert.deepEqual(second.data.data[0].embedding, first.data.data[0].embedding);
});
