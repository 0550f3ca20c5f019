// Virtual keys through the official OpenAI SDK: the key is the SDK's apiKey, and the gateway's refusals
// arrive as the SDK's own error classes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway } from './gateway.mjs';

const MASTER = 'sk-master-e2e-0123456789abcdef';
let gateway;

async function admin(route, body) {
  const r = await fetch(gateway.baseURL.replace(/\/v1$/, '') + route, {
    method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}

const sdk = (apiKey) => new OpenAI({ baseURL: gateway.baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const ask = (client) => client.chat.completions.create({ model: 'gemini-2.5-flash', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] });

before(async () => {
  gateway = await startGateway({ masterKey: MASTER });
});

after(async () => {
  const code = await gateway.stop();
  if (code !== undefined) assert.equal(code, 0, 'the gateway exits 0 on SIGTERM');
});

test('a virtual key works as the api key, with rate-limit headers', async () => {
  const { key } = await admin('/key/generate', { key_alias: 'e2e', rpm_limit: 100, tpm_limit: 100000 });
  assert.match(key, /^sk-nemo-[0-9A-Za-z]{40}$/);
  const { data, response } = await ask(sdk(key)).withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(response.headers.get('x-ratelimit-limit-requests'), '100');
  assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '99');
  assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '100000');
  const models = await sdk(key).models.list();
  assert.ok(models.data.length > 0);
});

test('no key or a wrong one is an AuthenticationError', async () => {
  await assert.rejects(ask(sdk('sk-nemo-wrong000000000000000000000000000000')), (e) =>
    e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key');
});

test('a model off the key\'s list is a PermissionDeniedError', async () => {
  const { key } = await admin('/key/generate', { models: ['gemini-2.5-pro'] });
  await assert.rejects(ask(sdk(key)), (e) => e instanceof OpenAI.PermissionDeniedError && e.code === 'model_not_allowed');
});

test('a spent budget is a 402 naming the level, and a runaway loop gets RateLimitError with Retry-After', async () => {
  const { key } = await admin('/key/generate', { max_budget: 0.000001 }); // less than any request's worst case
  await assert.rejects(ask(sdk(key)), (e) => e instanceof OpenAI.APIError && e.status === 402
    && e.type === 'budget_exceeded' && e.code === 'key_budget_exceeded' && /budget/.test(e.message));

  const limited = await admin('/key/generate', { rpm_limit: 2 });
  await ask(sdk(limited.key));
  await ask(sdk(limited.key));
  await assert.rejects(ask(sdk(limited.key)), (e) => e instanceof OpenAI.RateLimitError
    && e.code === 'rate_limit_exceeded' && Number(e.headers.get('retry-after')) >= 1);
});

test('a key reads its own spend', async () => {
  const { key } = await admin('/key/generate', { key_alias: 'reader', max_budget: 5 });
  await ask(sdk(key));
  const r = await fetch(gateway.baseURL.replace(/\/v1$/, '') + '/key/info', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(r.status, 200);
  const { info } = await r.json();
  assert.equal(info.key_alias, 'reader');
  assert.ok(info.spend > 0 && info.spend < 5);
});

test('the SDK\'s calls, tagged with metadata, are logged and summed per stage; the key reads its own', async () => {
  const { key } = await admin('/key/generate', { key_alias: 'rag-e2e' });
  const client = sdk(key);
  // the SDK sends unknown params as they are: metadata and tags reach the gateway in the body
  await client.embeddings.create({ model: 'text-embedding-004', input: ['a chunk', 'another'], metadata: { job_id: 'e2e-job', stage: 'embed' } });
  const { data, response } = await client.chat.completions.create({ model: 'gemini-2.5-flash', max_tokens: 16,
    messages: [{ role: 'user', content: 'Answer from the chunks' }], metadata: { job_id: 'e2e-job', stage: 'synthesise' }, tags: ['rag'] }).withResponse();
  assert.equal(data.object, 'chat.completion');
  const cost = Number(response.headers.get('x-nemo-response-cost'));
  assert.ok(cost > 0, 'priced from the table');
  assert.equal(Number(response.headers.get('x-nemo-key-spend')) > cost, true, 'the key spent on the embedding and this call');
  const stream = await client.chat.completions.create({ model: 'gemini-2.5-flash', stream: true, messages: [{ role: 'user', content: 'Hi' }],
    metadata: { job_id: 'e2e-job', stage: 'synthesise' } });
  let chunks = 0;
  for await (const c of stream) { chunks += 1; assert.ok(!('usage' in c) || c.usage == null, 'no usage the client did not ask for'); }
  assert.ok(chunks > 1);

  const base = gateway.baseURL.replace(/\/v1$/, '');
  let report;
  for (let i = 0; i < 100; i++) { // the writer thread logs within milliseconds
    report = await (await fetch(`${base}/spend/report?group_by=stage&job_id=e2e-job`, { headers: { authorization: `Bearer ${MASTER}` } })).json();
    if (report.totals.requests === 3) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(report.totals.requests, 3, JSON.stringify(report));
  const byStage = Object.fromEntries(report.data.map((r) => [r.group, r]));
  assert.equal(byStage.embed.requests, 1);
  assert.equal(byStage.synthesise.requests, 2);
  assert.ok(byStage.synthesise.output_tokens > 0 && byStage.synthesise.cost > 0, 'the stream was costed too');
  const own = await (await fetch(`${base}/spend/logs?job_id=e2e-job`, { headers: { authorization: `Bearer ${key}` } })).json();
  assert.equal(own.data.length, 3);
  assert.ok(own.data.every((r) => r.key_alias === 'rag-e2e' && !JSON.stringify(r).includes(key)));
});
