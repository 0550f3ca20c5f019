// The dashboard's activity pages in headless Chromium against the real gateway: the request log (filters, one
// record, the live tail), deployment health updating live, and the playground streaming an answer and giving the
// same request as Python, Node and curl; a virtual key sees only its own requests and no deployments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from './gateway.mjs';
import { openBrowser, signIn, screenshot } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MASTER = 'sk-master-e2e-activity-0123456789abcdef';
const JOB = 'invoices-0418';
// the shipped config, its flash mock streaming slower (12 chunks, 80 ms apart) so the answer is seen growing, and a
// group of two whose first deployment always answers 503 with a Retry-After: a retry moves to the second, the
// first cools down
const SHIPPED = readFileSync(path.join(here, '..', 'conf/nemo-router.conf'), 'utf8');
const CONFIG = `${SHIPPED.replace('mock { chunks = 12, chunk_delay = 15ms }', 'mock { chunks = 12, chunk_delay = 80ms }')}
nemo.models += { name = "flaky-chat", provider = mock, id = "mock/flaky-a",
                 mock { error_rate = 1.0, error_status = 503, error_retry_after = 120s } }
nemo.models += { name = "flaky-chat", provider = mock, id = "mock/flaky-b" }
nemo.router.groups."flaky-chat" { num_retries = 1 }
`;

let gateway;
let root;
let browser;
let bot; // the virtual key the traffic is sent with: {key, key_id}

async function call(route, key, body) {
  const r = await fetch(root + route, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, json: await r.json(), headers: r.headers };
}

const chat = (key, content, extra = {}) => call('/v1/chat/completions', key,
  { model: 'gemini-2.5-flash', max_tokens: 32, messages: [{ role: 'user', content }], ...extra });

/** Waits until fn() returns something truthy (or throws its last failure). */
async function until(fn, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The request log as the API gives it to the master key. */
async function logged(params = '') {
  return (await call(`/spend/logs?limit=1000${params}`, MASTER)).json.data;
}

const rows = (page) => page.locator('#logs-table tbody tr');

// Chromium logs every answer of 400 and up as a console error ("Failed to load resource"); the ones a test
// provokes on purpose (a refused request, the shell asking whether a virtual key is the master key) are allowed by
// status and path, anything else fails the test.
const loadFailures = [];
function watchLoads(page) {
  page.on('console', (m) => {
    const s = /Failed to load resource: .*status of (\d+)/.exec(m.text());
    if (s) loadFailures.push(`${s[1]} ${new URL(m.location().url).pathname}`);
  });
  return page;
}
function assertNoProblems(problems, allowed = []) {
  assert.deepEqual(loadFailures.filter((f) => !allowed.includes(f)), [], 'no request failed but the expected ones');
  assert.deepEqual(problems.filter((p) => !p.startsWith('console: Failed to load resource')), []);
  problems.length = 0;
  loadFailures.length = 0;
}

before(async () => {
  assert.notEqual(CONFIG, SHIPPED, 'the flash mock\'s chunk delay was found in conf/nemo-router.conf');
  gateway = await startGateway({ masterKey: MASTER, config: CONFIG });
  root = gateway.baseURL.replace(/\/v1$/, '');
  const made = await call('/key/generate', MASTER, { key_alias: 'invoice-bot' });
  assert.equal(made.status, 200);
  bot = made.json;
  // a tagged job in two stages, a plain call, one that fails, and one by the master key the bot must not see
  assert.equal((await chat(bot.key, 'page 1', { metadata: { job_id: JOB, stage: 'extract' }, tags: ['batch'] })).status, 200);
  assert.equal((await chat(bot.key, 'page 1 summary', { metadata: { job_id: JOB, stage: 'summarise' }, tags: ['batch'] })).status, 200);
  assert.equal((await chat(bot.key, 'hello')).status, 200);
  assert.equal((await call('/v1/chat/completions', bot.key, { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })).status, 404);
  assert.equal((await chat(MASTER, 'admin only', { metadata: { job_id: 'admin-job', stage: 'extract' } })).status, 200);
  // two to the flaky group: round-robin sends one of them to the failing deployment first, then to the other
  const flaky = [await chat(bot.key, 'flaky 1', { model: 'flaky-chat' }), await chat(bot.key, 'flaky 2', { model: 'flaky-chat' })];
  assert.deepEqual(flaky.map((r) => r.status), [200, 200]);
  assert.deepEqual(flaky.map((r) => r.headers.get('x-nemo-fallbacks')).sort(), ['0', '1']);
  await until(async () => (await logged()).length >= 7, 'the seven records in the log');
  browser = await openBrowser();
  watchLoads(browser.page);
});

after(async () => {
  await browser?.close();
  if (gateway) assert.equal(await gateway.stop(), 0);
});

test('Requests: the log with filters, one record in a dialog, and a live tail', async () => {
  const { page, problems } = browser;
  await signIn(page, gateway.baseURL, MASTER);
  await page.getByRole('link', { name: 'Requests' }).click();
  await until(async () => (await rows(page).count()) >= 5, 'five rows');
  const table = await page.locator('#logs-table').innerText();
  assert.match(table, /invoice-bot/);
  assert.match(table, new RegExp(`${JOB} / extract`));
  assert.match(table, /no-such-model/);
  assert.match(table, /admin-job/, 'the master key sees every key\'s requests');
  await screenshot(page, 'logs');

  // by job id: the job's two calls, nothing else
  await page.getByLabel('Job id').fill(JOB);
  await page.getByLabel('Job id').press('Enter');
  await until(async () => (await rows(page).count()) === 2, 'the job\'s two rows');
  const jobRows = await rows(page).allInnerTexts();
  assert.ok(jobRows.every((t) => t.includes(JOB)), jobRows.join('\n'));
  assert.ok(jobRows.some((t) => t.includes('summarise')) && jobRows.some((t) => t.includes('extract')));

  // one record, opened with the keyboard: every field, nested values as JSON
  await rows(page).filter({ hasText: 'extract' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('dialog.record');
  await dialog.waitFor({ state: 'visible' });
  const text = await dialog.innerText();
  const record = (await logged(`&job_id=${JOB}&stage=extract`))[0];
  assert.ok(text.includes(record.id), 'the record\'s id');
  for (const label of ['Endpoint', 'Deployment', 'Total', 'Time to first byte', 'Gateway overhead', 'Input tokens',
    'Output tokens', 'Cost', 'Cache', 'Attempts', 'Metadata', 'Tags']) {
    assert.ok(text.includes(label), `the dialog shows ${label}`);
  }
  assert.ok(text.includes('"job_id": "invoices-0418"') && text.includes('"stage": "extract"'), 'metadata as formatted JSON');
  assert.ok(text.includes('mock/gemini-2.5-flash') && text.includes('invoice-bot') && text.includes('batch'));
  assert.ok(text.includes(`${record.input_tokens}`) && text.includes(`(${record.cost} USD)`), 'tokens and the exact cost');
  await screenshot(page, 'logs-record');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'TR', 'focus back on the row');

  // the request that failed over: its attempts, the failed one first
  await page.getByLabel('Job id').fill('');
  await page.getByLabel('Model').fill('flaky-chat');
  await page.getByRole('button', { name: 'Apply' }).click();
  await until(async () => (await rows(page).count()) === 2, 'the flaky group\'s two rows');
  await rows(page).filter({ hasText: '1 fallback' }).click();
  await dialog.waitFor({ state: 'visible' });
  const attempts = await dialog.locator('table.attempts tbody tr').allInnerTexts();
  assert.equal(attempts.length, 2, attempts.join('\n'));
  assert.match(attempts[0], /mock\/flaky-a\s+503[\s\S]*/);
  assert.match(attempts[1], /mock\/flaky-b\s+200/);
  assert.match(await dialog.innerText(), /Fallbacks \(failed attempts first\)\s+1/);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });

  // by status: the one failure
  await page.getByRole('button', { name: 'Clear' }).click();
  await until(async () => (await rows(page).count()) >= 5, 'the rows back');
  await page.getByLabel('Status').selectOption('error');
  await until(async () => (await rows(page).count()) === 1, 'one failed row');
  assert.match(await rows(page).first().innerText(), /404[\s\S]*|no-such-model/);
  assert.match(await rows(page).first().innerText(), /no-such-model/);
  await page.getByLabel('Status').selectOption('');
  await until(async () => (await rows(page).count()) >= 5, 'the rows back');

  // live: a new request appears at the top without a reload, once
  await page.evaluate(() => { window.notReloaded = true; });
  await page.getByRole('switch', { name: 'Live' }).check();
  const before = await rows(page).count();
  assert.equal((await chat(bot.key, 'one more', { metadata: { job_id: 'live-tail', stage: 'extract' } })).status, 200);
  await until(async () => (await rows(page).first().innerText()).includes('live-tail'), 'the new request on top');
  await new Promise((r) => setTimeout(r, 2500)); // another tail or two: nothing twice
  const ids = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
  assert.equal(ids.length, before + 1);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  await page.getByRole('switch', { name: 'Live' }).uncheck();

  // narrow
  await page.setViewportSize({ width: 375, height: 800 });
  await screenshot(page, 'logs-375');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page does not scroll sideways at 375 px (${overflow} px)`);
  await page.setViewportSize({ width: 1280, height: 800 });
  assertNoProblems(problems);
});

test('Deployments: each deployment\'s state and counts, updating live, and the catalog', async () => {
  const { page, problems } = browser;
  await page.getByRole('link', { name: 'Deployments' }).click();
  const flash = page.locator('tr[data-deployment="mock/gemini-2.5-flash"]');
  await flash.waitFor();
  for (const id of ['mock/gemini-2.5-flash', 'mock/gemini-2.5-pro', 'mock/text-embedding-004']) {
    assert.match(await page.locator(`tr[data-deployment="${id}"]`).innerText(), /healthy/);
  }
  const requests = async () => Number((await flash.locator('td').nth(4).innerText()).replace(/,/g, ''));
  const was = await requests();
  assert.ok(was >= 5, `the flash deployment counted the traffic so far (${was})`);
  assert.equal((await chat(MASTER, 'deployments 1')).status, 200);
  assert.equal((await chat(MASTER, 'deployments 2')).status, 200);
  await until(async () => (await requests()) >= was + 2, 'the requests count to rise without a reload');
  assert.match(await flash.innerText(), /ms/, 'a latency average');
  // the deployment that answered 503 with Retry-After is cooling down, its failure counted
  const cooling = await page.locator('tr[data-deployment="mock/flaky-a"]').innerText();
  assert.match(cooling, /cooling down/);
  assert.match(cooling, /\d+(\.\d)? s/, 'its cooldown left');
  assert.match(cooling, /100\.0%/, 'its error rate');
  assert.match(await page.locator('tr[data-deployment="mock/flaky-b"]').innerText(), /healthy/);
  assert.equal(await page.locator('#dep-cooling').innerText(), '1');
  const catalog = await page.locator('#deployments-catalog').innerText();
  for (const m of ['gemini-2.5-flash', 'gemini-2.5-pro', 'text-embedding-004']) assert.ok(catalog.includes(m), m);
  await screenshot(page, 'deployments');
  assertNoProblems(problems);
});

test('Playground: a streamed answer token by token, its cost and route, and the same request as code', async () => {
  const { page, problems } = browser;
  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByLabel('Model').selectOption('gemini-2.5-flash');
  const question = `Summarise invoice ${Date.now()}`; // new, so not answered from the cache
  await page.getByLabel('user message').fill(question);
  await page.getByLabel('Max tokens').fill('64');
  await page.getByLabel('Temperature').fill('0.2');
  assert.equal(await page.getByLabel('Stream').isChecked(), true, 'streaming by default');

  await page.getByRole('button', { name: 'Send' }).click();
  const seen = [];
  await until(async () => {
    seen.push((await page.locator('#pg-answer').textContent()).length);
    return (await page.locator('#pg-state').textContent()).startsWith('Done');
  }, 'the answer to end', 15_000);
  const answer = await page.locator('#pg-answer').textContent();
  assert.match(answer, /^This is a mock answer from gemini-2\.5-flash\./);
  const growing = new Set(seen.filter((n) => n > 0 && n < answer.length));
  assert.ok(growing.size >= 2, `the answer grew chunk by chunk (lengths seen: ${seen.join(', ')})`);

  assert.equal(await page.locator('#pg-deployment').innerText(), 'mock/gemini-2.5-flash');
  assert.equal(await page.locator('#pg-cache-decision').innerText(), 'miss');
  assert.match(await page.locator('#pg-ttft').innerText(), /\d+(\.\d+)? (ms|s)/);
  assert.match(await page.locator('#pg-total').innerText(), /\d+(\.\d+)? (ms|s)/);
  assert.match(await page.locator('#pg-tokens').innerText(), /\d+ → \d+/);
  await until(async () => (await page.locator('#pg-cost').innerText()).includes('from the request log'), 'the stream\'s cost');
  const id = (await page.locator('#pg-request-id').innerText()).trim();
  const rec = (await logged('&model=gemini-2.5-flash')).find((r) => r.id === id);
  assert.ok(rec, `the record of ${id}`);
  assert.ok(rec.stream && rec.cost > 0);
  assert.match(await page.locator('#pg-cost').innerText(), new RegExp(`\\$${rec.cost.toFixed(8).replace(/0+$/, '')}`));
  await screenshot(page, 'playground');

  // the snippets: the request shown, without the key; Node's and curl's run as they are, Python's parses
  const copied = {};
  for (const kind of ['python', 'node', 'curl']) {
    await page.locator(`#pg-copy-${kind}`).click();
    copied[kind] = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied[kind], await page.locator(`#pg-snippet-${kind}`).textContent());
    for (const part of ['gemini-2.5-flash', question, 'You are a helpful assistant.', 'include_usage', '0.2', '64', 'NEMO_API_KEY']) {
      assert.ok(copied[kind].includes(part), `${kind} has ${part}`);
    }
    assert.ok(!copied[kind].includes(MASTER), `${kind} does not hold the key`);
  }
  const env = { ...process.env, NEMO_API_KEY: MASTER };
  const curl = execFileSync('bash', ['-c', copied.curl], { env, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] });
  assert.match(curl, /"content":" answer"/);
  assert.match(curl, /data: \[DONE\]/);
  assert.match(curl, /"usage":\{"prompt_tokens"/);
  const nodeFile = path.join(here, `.snippet-${process.pid}.mjs`);
  writeFileSync(nodeFile, copied.node);
  try {
    const out = execFileSync('node', [nodeFile], { env, encoding: 'utf8', timeout: 20_000 });
    assert.match(out, /This is a mock answer from gemini-2\.5-flash\./);
  } finally {
    rmSync(nodeFile, { force: true });
  }
  try {
    execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: copied.python, timeout: 20_000 });
  } catch (e) {
    if (e.code !== 'ENOENT') throw new Error(`the Python snippet does not parse: ${e.stderr}`);
  }

  // the answer kept as a message of the conversation, and the snippets follow
  await page.getByRole('button', { name: 'Add the answer to the messages' }).click();
  assert.equal(await page.locator('.pg-message').count(), 4);
  assert.equal(await page.locator('.pg-content').nth(2).inputValue(), answer);
  await page.locator('.pg-content').nth(3).fill('And in one line?');
  assert.match(await page.locator('#pg-snippet-curl').textContent(), /"role": "assistant", "content": "This is a mock answer[\s\S]*And in one line\?/);

  // Stop ends a stream half way
  await page.locator('.pg-content').nth(3).fill(`Another question ${Date.now()}`);
  await page.getByRole('button', { name: 'Send' }).click();
  await until(async () => (await page.locator('#pg-answer').textContent()).length > 0, 'the first token');
  await page.getByRole('button', { name: 'Stop' }).click();
  await until(async () => (await page.locator('#pg-state').textContent()).startsWith('Stopped'), 'the stream to stop');
  assert.ok(!(await page.locator('#pg-answer').textContent()).includes('Another question'), 'the answer cut short');
  assert.equal(await page.getByRole('button', { name: 'Send' }).isEnabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Stop' }).isDisabled(), true);

  // a refusal shown as such: auto with a capability no deployment has
  await page.getByLabel('Model').selectOption('auto');
  await page.getByLabel('audio').check();
  await page.getByRole('button', { name: 'Send' }).click();
  const error = page.locator('#pg-error');
  await error.waitFor();
  assert.match(await error.innerText(), /400 Bad request[\s\S]*audio[\s\S]*model_capability_mismatch/);
  assertNoProblems(problems, ['400 /v1/chat/completions']);
});

test('a virtual key sees only its own requests, no key filter and no Deployments page; a spent budget is shown as such', async () => {
  const { problems } = browser;
  const page = watchLoads(await browser.newSession());
  await signIn(page, gateway.baseURL, bot.key);
  assert.equal(await page.locator('#nav-deployments').count(), 0, 'no Deployments link');
  await page.getByRole('link', { name: 'Requests' }).click();
  const own = await logged(`&key=${bot.key_id}`);
  await until(async () => (await rows(page).count()) === own.length, `its ${own.length} rows`);
  const table = await page.locator('#logs-table').innerText();
  assert.ok(!table.includes('admin-job'), 'not the master key\'s requests');
  assert.equal(await page.locator('#logs-key').count(), 0, 'no key filter');
  const shown = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
  assert.deepEqual(shown.sort(), own.map((r) => r.id).sort());
  await screenshot(page, 'logs-key');

  // the address of the Deployments page leads elsewhere
  await page.goto(`${root}/ui/#/deployments`);
  await page.locator('#nav').waitFor();
  await until(async () => (await page.locator('#page-deployments').count()) === 0 && (await page.locator('.page').count()) === 1,
    'another page');

  // a key over its budget: the playground shows the 402
  const broke = (await call('/key/generate', MASTER, { key_alias: 'broke', max_budget: 0.000001 })).json;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Key').fill(broke.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Playground' }).click();
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('#pg-error').waitFor();
  assert.match(await page.locator('#pg-error').innerText(), /402 Budget exceeded[\s\S]*budget/);
  await screenshot(page, 'playground-key');
  await page.context().close();
  assertNoProblems(problems, ['403 /key/list', '402 /v1/chat/completions']);
});
