// Gemini and Vertex AI through the official OpenAI SDK, unchanged: the gateway speaks Google's APIs to their
// stand-ins (as strict as the real ones), minting Vertex's access tokens from a service-account key the test
// makes, and the SDK gets OpenAI answers, streams with and without usage, tool calls, embeddings, and answers
// through the Responses API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startGateway, startStandIn } from './gateway.mjs';

let gemini;
let vertex;
let gateway;
let client;
let dir;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nemo-e2e-sa-'));
  const vertexPort = await freePort();
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const keyFile = path.join(dir, 'sa.json');
  writeFileSync(keyFile, JSON.stringify({
    type: 'service_account', project_id: 'e2e-project', private_key_id: 'k1', private_key: privateKey,
    client_email: 'gateway@e2e-project.iam.gserviceaccount.com', token_uri: `http://127.0.0.1:${vertexPort}/token`,
  }));
  gemini = await startStandIn('gemini', ['--key', 'gemini-e2e-key', '--chunk-delay-ms', '10']);
  vertex = await startStandIn('vertex', ['--port', String(vertexPort), '--key', keyFile]); // the key file's token_uri
  gateway = await startGateway({
    config: `
nemo {
  cache.enabled = false
  models = [
    { name = "gemini", provider = gemini, model = "gemini-2.5-flash", api_base = "${gemini.baseURL}", api_key = "gemini-e2e-key" }
    { name = "gemini-embed", provider = gemini, model = "gemini-embedding-001", api_base = "${gemini.baseURL}", api_key = "gemini-e2e-key" }
    { name = "vertex", provider = vertex, model = "gemini-2.5-pro", project = "e2e-project", location = "us-central1",
      api_base = "${vertex.baseURL}", credentials = "${keyFile}" }
  ]
}
`,
  });
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'sk-nemo-e2e', maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  await gateway?.stop();
  await gemini?.stop();
  await vertex?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const model of ['gemini', 'vertex']) {
  test(`${model}: a chat answer and its stream, with and without usage`, async () => {
    const answer = await client.chat.completions.create({
      model,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Hello ${model}` }],
    });
    assert.match(answer.choices[0].message.content, new RegExp(`Hello ${model}`));
    assert.equal(answer.choices[0].finish_reason, 'stop');
    assert.ok(answer.usage.prompt_tokens > 0 && answer.usage.completion_tokens > 0);
    for (const includeUsage of [false, true]) {
      const stream = await client.chat.completions.create({
        model, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: 'user', content: 'Stream it' }],
      });
      let content = '';
      let usage = null;
      let finish = null;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          content += c.delta?.content ?? '';
          finish = c.finish_reason ?? finish;
        }
      }
      assert.match(content, /Stream it/);
      assert.equal(finish, 'stop');
      assert.equal(usage !== null, includeUsage, 'the usage chunk exactly when asked');
    }
  });

  test(`${model}: tool calls and the Responses API`, async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const answer = await client.chat.completions.create({ model, tools, messages: [{ role: 'user', content: 'Weather in Kyiv?' }] });
    const call = answer.choices[0].message.tool_calls[0];
    assert.equal(answer.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.function.name, 'get_weather');
    assert.ok(JSON.parse(call.function.arguments).city);

    const response = await client.responses.create({ model, input: 'Hello through Responses' });
    assert.equal(response.status, 'completed');
    assert.match(response.output_text, /Hello through Responses/);
    const stream = await client.responses.create({ model, input: 'Stream a response', stream: true });
    let text = '';
    let completed = null;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.match(text, /Stream a response/);
    assert.ok(completed.usage.output_tokens > 0);
  });
}

test('gemini: embeddings, as the SDK asks for them (base64) and as floats', async () => {
  const viaSdk = await client.embeddings.create({ model: 'gemini-embed', input: ['one', 'two'] });
  assert.equal(viaSdk.data.length, 2);
  assert.ok(viaSdk.data[0].embedding.length > 10 && typeof viaSdk.data[0].embedding[0] === 'number');
  const floats = await client.embeddings.create({ model: 'gemini-embed', input: 'one', encoding_format: 'float' });
  assert.deepEqual(floats.data[0].embedding.map((x) => Math.fround(x)), viaSdk.data[0].embedding.map((x) => Math.fround(x)));
});
