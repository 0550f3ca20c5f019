// Native providers through the official OpenAI SDK, unchanged: the gateway speaks Anthropic's Messages API to
// an Anthropic stand-in (as strict as the real API) and the SDK gets OpenAI answers, streams (with and without
// usage) and tool calls, through chat completions and the Responses API; a deployment that is overloaded fails
// over to the next one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, startStandIn } from './gateway.mjs';

let anthropic;
let gateway;
let client;

before(async () => {
  anthropic = await startStandIn('anthropic', ['--key', 'sk-ant-e2e', '--chunk-delay-ms', '20']);
  const entry = (name, model, extra = '') =>
    `{ name = "${name}", provider = anthropic, model = "${model}", api_base = "${anthropic.baseURL}", api_key = "sk-ant-e2e" ${extra} }`;
  gateway = await startGateway({
    config: `
nemo {
  cache.enabled = false
  models = [
    ${entry('claude', 'claude-sonnet-4-5')}
    ${entry('claude-chain', 'claude-fail-529', ', id = "anthropic/overloaded"')}
    ${entry('claude-chain', 'claude-haiku-4-5', ', id = "anthropic/haiku", weight = 0')}
    ${entry('claude-limited', 'claude-fail-429')}
  ]
  router { strategy = weighted, num_retries = 1 }
}
`,
  });
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'sk-nemo-e2e', maxRetries: 0, timeout: 20_000 });
});

after(async () => {
  await gateway?.stop();
  await anthropic?.stop();
});

test('a chat answer from Anthropic reads as OpenAI\'s', async () => {
  const answer = await client.chat.completions.create({
    model: 'claude',
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello from the SDK' }],
  });
  assert.equal(answer.object, 'chat.completion');
  assert.equal(answer.choices[0].message.role, 'assistant');
  assert.match(answer.choices[0].message.content, /You said: Hello from the SDK/);
  assert.equal(answer.choices[0].finish_reason, 'stop');
  assert.ok(answer.usage.prompt_tokens > 0 && answer.usage.completion_tokens > 0);
});

for (const includeUsage of [false, true]) {
  test(`a stream from Anthropic, usage ${includeUsage ? 'asked for' : 'not asked for'}`, async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      stream: true,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      messages: [{ role: 'user', content: 'Stream me some words' }],
    });
    let content = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        content += c.delta?.content ?? '';
        finish = c.finish_reason ?? finish;
      }
    }
    assert.match(content, /You said: Stream me some words$/);
    assert.equal(finish, 'stop');
    assert.ok(chunks > 5, 'one chunk per delta');
    if (includeUsage) {
      assert.ok(usage && usage.completion_tokens > 0, 'the usage chunk');
    } else {
      assert.equal(usage, null, 'no usage chunk');
    }
  });
}

test('tool calls go to Anthropic and come back as OpenAI tool_calls, whole and streamed', async () => {
  const tools = [{
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  }];
  const messages = [{ role: 'user', content: 'Weather in Oslo?' }];
  const answer = await client.chat.completions.create({ model: 'claude', tools, messages });
  const call = answer.choices[0].message.tool_calls[0];
  assert.equal(answer.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'mock city' });

  const stream = await client.chat.completions.create({ model: 'claude', tools, messages, stream: true });
  let args = '';
  let name = null;
  for await (const chunk of stream) {
    for (const t of chunk.choices[0]?.delta?.tool_calls ?? []) {
      name = t.function?.name ?? name;
      args += t.function?.arguments ?? '';
    }
  }
  assert.equal(name, 'get_weather');
  assert.deepEqual(JSON.parse(args), { city: 'mock city' });

  const followUp = await client.chat.completions.create({
    model: 'claude',
    tools,
    messages: [...messages, answer.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '-3C, snow' }],
  });
  assert.match(followUp.choices[0].message.content, /The tool said: -3C, snow/);
});

test('an overloaded Anthropic deployment fails over to the next in its group', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'claude-chain', messages: [{ role: 'user', content: 'Survive an overload' }] })
    .withResponse();
  assert.match(data.choices[0].message.content, /claude-haiku-4-5/);
  assert.equal(response.headers.get('x-nemo-model'), 'anthropic/haiku');
  assert.equal(response.headers.get('x-nemo-fallbacks'), '1');
});

test('Anthropic\'s errors reach the SDK as its typed errors', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'claude-limited', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof OpenAI.RateLimitError && e.code === 'rate_limit_error',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'claude', messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages',
  );
});

test('the Responses API reaches Anthropic through the gateway: a response, its stream and a function call', async () => {
  const response = await client.responses.create({ model: 'claude', instructions: 'Be brief.', input: 'Hello, Responses' });
  assert.equal(response.status, 'completed');
  assert.match(response.output_text, /You said: Hello, Responses/);
  assert.ok(response.usage.input_tokens > 0 && response.usage.output_tokens > 0);

  const stream = await client.responses.create({ model: 'claude', input: 'Stream a response', stream: true });
  let text = '';
  let completed = null;
  for await (const event of stream) {
    if (event.type === 'response.output_text.delta') text += event.delta;
    if (event.type === 'response.completed') completed = event.response;
  }
  assert.match(text, /You said: Stream a response$/);
  assert.equal(completed.output[0].content[0].text, text);
  assert.ok(completed.usage.output_tokens > 0);

  const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
  const called = await client.responses.create({ model: 'claude', tools, input: 'Weather in Lima?' });
  const call = called.output.find((o) => o.type === 'function_call');
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'mock city' });
  const answered = await client.responses.create({
    model: 'claude',
    tools,
    input: [{ role: 'user', content: 'Weather in Lima?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '20C' }],
  });
  assert.match(answered.output_text, /The tool said: 20C/);
});
