// The router through the official OpenAI SDK (its own retries off): a deployment that fails is
// failed over within its group before the SDK sees anything, whole and streamed; a request that
// needs a capability its model lacks is a 400 the SDK raises as such; a stream that breaks after
// its first chunks is not failed over, and the SDK raises the error event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway } from './gateway.mjs';

let gateway;
let client;

before(async () => {
  gateway = await startGateway({
    config: `
nemo {
  models = [
    { name = "demo", id = "mock/flaky", provider = mock, mock { error_rate = 1.0, error_status = 503 } }
    { name = "demo", id = "mock/steady", provider = mock, weight = 0 }
    { name = "text-only", id = "mock/text-only", provider = mock, tags = [code] }
    { name = "breaks", id = "mock/breaks", provider = mock, mock { chunks = 6, fail_after_chunks = 2 } }
    { name = "breaks", id = "mock/breaks-twin", provider = mock, weight = 0 }
  ]
  router { strategy = weighted, num_retries = 1, allowed_fails = 1000 }
}
`,
  });
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'sk-nemo-e2e', maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  const code = await gateway.stop();
  if (code !== undefined) assert.equal(code, 0, 'the gateway exits 0 on SIGTERM');
});

test('a failing deployment is failed over within its group: the SDK gets the answer', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'demo', messages: [{ role: 'user', content: 'Survive a blip' }] })
    .withResponse();
  assert.ok(data.choices[0].message.content.length > 0);
  assert.equal(response.headers.get('x-nemo-model'), 'mock/steady');
  assert.equal(response.headers.get('x-nemo-fallbacks'), '1');
});

test('a stream fails over before its first byte: the SDK reads the other deployment\'s stream', async () => {
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'demo', stream: true, messages: [{ role: 'user', content: 'Stream past a blip' }] })
    .withResponse();
  assert.equal(response.headers.get('x-nemo-model'), 'mock/steady');
  let content = '';
  let finish = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      content += c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  assert.ok(content.length > 0);
  assert.equal(finish, 'stop');
});

test('an image for a text-only model is a 400 naming the missing capability', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'text-only',
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'What is in it?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ] }],
    }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.code, 'model_capability_mismatch');
      assert.match(err.message, /vision/);
      return true;
    },
  );
});

test('a stream that breaks after its first chunks is not failed over: the SDK raises its error event', async () => {
  const stream = await client.chat.completions.create({ model: 'breaks', stream: true, messages: [{ role: 'user', content: 'Break' }] });
  let chunks = 0;
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) chunks += 1;
      }
    })(),
    (err) => err instanceof OpenAI.APIError,
  );
  assert.equal(chunks, 2, 'the two chunks before the break, from the one deployment');
});
