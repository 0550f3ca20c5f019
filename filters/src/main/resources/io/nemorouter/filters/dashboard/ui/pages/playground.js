// Playground: one chat completion through this gateway with the signed-in key, streamed token by token (the page
// reads the SSE itself), then what it cost and where it went: x-nemo-model, x-nemo-cache, the usage event, and the
// request's record in /spend/logs (found by its x-request-id; a stream's cost is known only once it is logged).
// "Copy as" gives the same request as Python, Node and curl, with the key as an environment variable.
import { api, query, session } from '../api.js';
import { el, usd, ms, num, copyText } from '../util.js';
import { cacheBadge, statusBadge } from './activity-util.js';

/** Capabilities `auto` can ask for (README, Routing: capability tags); embedding is not a chat capability. */
const CAPABILITIES = ['vision', 'long-context', 'code', 'reasoning', 'tools', 'json', 'audio'];
const ROLES = ['system', 'user', 'assistant'];
const KEY_ENV = 'NEMO_API_KEY';
/** How long to look for the request's record: the log is written just after the answer. */
const RECORD_TRIES = 12;
const RECORD_EVERY_MS = 400;

// ---- snippets ------------------------------------------------------------------------------------

/** A JSON value as a Python literal (JSON strings are valid Python strings). */
function py(v, indent = '') {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => py(x, indent)).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${py(x, indent)}`).join(', ')}}`;
}

/** Members the OpenAI SDK for Python has no parameter for: sent through extra_body. */
const EXTRA = new Set(['tags', 'nemo_cache', 'metadata']);

export function pythonSnippet(base, body) {
  const lines = ['import os', 'from openai import OpenAI', '',
    `client = OpenAI(base_url=${JSON.stringify(base)}, api_key=os.environ["${KEY_ENV}"])`, ''];
  const name = body.stream ? 'stream' : 'completion';
  lines.push(`${name} = client.chat.completions.create(`);
  const extra = {};
  for (const [k, v] of Object.entries(body)) {
    if (EXTRA.has(k)) { extra[k] = v; continue; }
    if (k === 'messages') {
      lines.push('    messages=[', ...v.map((m) => `        ${py(m)},`), '    ],');
    } else {
      lines.push(`    ${k}=${py(v)},`);
    }
  }
  if (Object.keys(extra).length) lines.push(`    extra_body=${py(extra)},`);
  lines.push(')');
  if (body.stream) {
    lines.push(`for chunk in stream:`,
      '    if chunk.choices and chunk.choices[0].delta.content:',
      '        print(chunk.choices[0].delta.content, end="", flush=True)',
      '    if chunk.usage:',
      '        print("\\n", chunk.usage)');
  } else {
    lines.push('print(completion.choices[0].message.content)', 'print(completion.usage)');
  }
  return lines.join('\n');
}

/** JSON with spaces after ':' and ',' on one line: {"role": "user", "content": "Hi"}. */
function compactJson(v) {
  if (Array.isArray(v)) return `[${v.map(compactJson).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${compactJson(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

/** A JavaScript object literal: identifier keys unquoted, values as compactJson (which JavaScript reads too). */
function jsLiteral(v) {
  if (Array.isArray(v)) return `[${v.map(jsLiteral).join(', ')}]`;
  if (v && typeof v === 'object') {
    return `{ ${Object.entries(v).map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${jsLiteral(x)}`).join(', ')} }`;
  }
  return JSON.stringify(v);
}

/** The body's members one a line (the messages one a line too), each written by fmtKey/fmtValue. */
function lines(body, fmtKey, fmtValue, indent) {
  const inner = `${indent}  `;
  return Object.entries(body).map(([k, v]) => (k === 'messages'
    ? `${inner}${fmtKey(k)}: [\n${v.map((m) => `${inner}  ${fmtValue(m)}`).join(',\n')}\n${inner}]`
    : `${inner}${fmtKey(k)}: ${fmtValue(v)}`)).join(',\n');
}

export function nodeSnippet(base, body) {
  const args = `{\n${lines(body, (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)), jsLiteral, '')},\n}`;
  const head = [`import OpenAI from 'openai';`, '',
    `const client = new OpenAI({ baseURL: ${JSON.stringify(base)}, apiKey: process.env.${KEY_ENV} });`, ''];
  if (body.stream) {
    return [...head, `const stream = await client.chat.completions.create(${args});`,
      'for await (const chunk of stream) {',
      "  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');",
      "  if (chunk.usage) console.log('\\n', chunk.usage);",
      '}'].join('\n');
  }
  return [...head, `const completion = await client.chat.completions.create(${args});`,
    'console.log(completion.choices[0].message.content, completion.usage);'].join('\n');
}

export function curlSnippet(base, body) {
  const json = `{\n${lines(body, JSON.stringify, compactJson, '')}\n}`.replaceAll("'", "'\\''");
  return [`curl${body.stream ? ' -N' : ''} ${base}/chat/completions \\`,
    `  -H "authorization: Bearer $${KEY_ENV}" \\`,
    `  -H 'content-type: application/json' \\`,
    `  -d '${json}'`].join('\n');
}

// ---- errors --------------------------------------------------------------------------------------

const WHAT = {
  400: 'Bad request', 401: 'Key refused', 402: 'Budget exceeded', 403: 'Not allowed', 404: 'Not found',
  408: 'Timed out', 413: 'Request too large', 422: 'Not processable', 429: 'Rate limited', 500: 'Gateway error',
  502: 'Upstream error', 503: 'No deployment available', 504: 'Upstream timed out',
};

function errorPanel(status, error, headers) {
  const retry = headers?.get('retry-after');
  const heading = status ? `${status} ${WHAT[status] ?? 'Error'}` : 'Error';
  return el('div', { class: 'pg-error', role: 'alert', id: 'pg-error' },
    el('strong', {}, heading),
    el('p', {}, error?.message ?? 'The gateway answered with an error.'),
    el('p', { class: 'muted' }, [error?.type, error?.code, error?.param ? `param: ${error.param}` : null,
      retry ? `retry after ${retry} s` : null].filter(Boolean).join(' · ')));
}

// ---- the page ------------------------------------------------------------------------------------

export default {
  id: 'playground',
  title: 'Playground',
  roles: ['admin', 'key'],
  async render(host, ctx) {
    const base = `${location.origin}/v1`;
    let seq = 0;
    let running = null; // the AbortController of the request in flight

    // the request
    const model = el('select', { id: 'pg-model' });
    const capsBox = el('fieldset', { class: 'pg-caps', id: 'pg-caps' },
      el('legend', {}, 'Capabilities the deployment must have'),
      CAPABILITIES.map((t) => el('label', { class: 'check' }, el('input', { type: 'checkbox', value: t, name: 'cap' }), ` ${t}`)));
    const tags = el('input', { id: 'pg-tags', type: 'text', placeholder: 'e.g. demo, rag', spellcheck: 'false' });
    const messages = el('div', { class: 'pg-messages', id: 'pg-messages' });
    const addMessage = el('button', { type: 'button', class: 'secondary', id: 'pg-add' }, 'Add message');
    const temperature = el('input', { id: 'pg-temperature', type: 'number', min: 0, max: 2, step: 0.1, placeholder: 'default', inputmode: 'decimal' });
    const maxTokens = el('input', { id: 'pg-max-tokens', type: 'number', min: 1, step: 1, placeholder: 'default', inputmode: 'numeric' });
    const stream = el('input', { id: 'pg-stream', type: 'checkbox', checked: true });
    const useCache = el('input', { id: 'pg-cache', type: 'checkbox', checked: true });
    const send = el('button', { type: 'submit', id: 'pg-send' }, 'Send');
    const stop = el('button', { type: 'button', class: 'danger', id: 'pg-stop', disabled: true }, 'Stop');
    const form = el('form', { class: 'card pg-form', id: 'pg-form', 'aria-label': 'Request' },
      el('div', { class: 'toolbar' },
        el('span', { class: 'field model' }, el('label', { for: 'pg-model' }, 'Model'), model),
        el('span', { class: 'field grow' }, el('label', { for: 'pg-tags' }, 'Tags (labels for spend reports; capability names route)'), tags)),
      capsBox,
      el('h2', {}, 'Messages'),
      messages,
      el('p', {}, addMessage),
      el('div', { class: 'toolbar' },
        el('span', { class: 'field' }, el('label', { for: 'pg-temperature' }, 'Temperature'), temperature),
        el('span', { class: 'field' }, el('label', { for: 'pg-max-tokens' }, 'Max tokens'), maxTokens),
        el('label', { class: 'check', for: 'pg-stream' }, stream, ' Stream'),
        el('label', { class: 'check', for: 'pg-cache' }, useCache, ' Use the response cache')),
      el('div', { class: 'buttons' }, send, stop));

    // the answer
    const answer = el('div', { class: 'pg-answer', id: 'pg-answer', 'aria-live': 'polite' });
    const state = el('p', { class: 'muted', id: 'pg-state', role: 'status' }, 'Write a message and press Send.');
    const errorHost = el('div', {});
    const dd = (id) => el('dd', { id }, '—');
    const out = {
      status: dd('pg-status'), deployment: dd('pg-deployment'), cache: dd('pg-cache-decision'), ttft: dd('pg-ttft'),
      total: dd('pg-total'), tokens: dd('pg-tokens'), cost: dd('pg-cost'), fallbacks: dd('pg-fallbacks'), id: dd('pg-request-id'),
    };
    const result = el('dl', { class: 'fields pg-result', id: 'pg-result' },
      [['Status', out.status], ['Deployment that answered', out.deployment], ['Cache', out.cache],
        ['Time to first token', out.ttft], ['Total time', out.total], ['Tokens in → out', out.tokens], ['Cost', out.cost],
        ['Fallbacks', out.fallbacks], ['Request id', out.id]].flatMap(([k, v]) => [el('dt', {}, k), v]));
    const keep = el('button', { type: 'button', class: 'secondary', id: 'pg-keep', hidden: true }, 'Add the answer to the messages');
    const output = el('section', { class: 'card pg-output', 'aria-labelledby': 'pg-answer-title' },
      el('h2', { id: 'pg-answer-title' }, 'Answer'), answer, state, errorHost, result, keep);

    // the snippets
    const snippets = {};
    const snippetBox = el('section', { class: 'card pg-snippets', 'aria-labelledby': 'pg-copy-title' },
      el('h2', { id: 'pg-copy-title' }, 'Copy as'),
      el('p', { class: 'muted' }, `The request above, with your key read from the ${KEY_ENV} environment variable.`),
      [['python', 'Python (openai)'], ['node', 'Node (openai)'], ['curl', 'curl']].map(([id, label]) => {
        const pre = el('pre', { id: `pg-snippet-${id}`, tabindex: 0, 'aria-label': `${label} snippet` });
        const button = el('button', { type: 'button', class: 'secondary', id: `pg-copy-${id}` }, 'Copy');
        button.addEventListener('click', () => copyText(pre.textContent, button));
        snippets[id] = pre;
        return el('div', { class: 'snippet' }, el('div', { class: 'snippet-head' }, el('h3', {}, label), button), pre);
      }));

    host.append(el('div', { class: 'pg-layout' }, form, output), snippetBox);

    // messages
    const messageEditor = (role, content) => {
      const n = ++seq;
      const roleSelect = el('select', { id: `pg-role-${n}`, class: 'pg-role' }, ROLES.map((r) => el('option', { value: r, selected: r === role }, r)));
      const text = el('textarea', { id: `pg-content-${n}`, class: 'pg-content', rows: role === 'system' ? 2 : 3, 'aria-label': `${role} message` });
      text.value = content;
      roleSelect.addEventListener('change', () => text.setAttribute('aria-label', `${roleSelect.value} message`));
      const remove = el('button', { type: 'button', class: 'quiet', 'aria-label': 'Remove this message' }, 'Remove');
      const box = el('div', { class: 'pg-message' },
        el('div', { class: 'pg-message-head' }, el('label', { for: `pg-role-${n}` }, 'Role'), roleSelect, remove), text);
      remove.addEventListener('click', () => {
        const next = box.nextElementSibling ?? box.previousElementSibling;
        box.remove();
        (next?.querySelector('textarea') ?? addMessage).focus();
        update();
      });
      messages.append(box);
      return text;
    };

    const body = () => {
      const b = { model: model.value };
      b.messages = [...messages.querySelectorAll('.pg-message')].map((m) => ({
        role: m.querySelector('select').value, content: m.querySelector('textarea').value,
      })).filter((m) => m.content.trim() !== '');
      if (temperature.value !== '') b.temperature = Number(temperature.value);
      if (maxTokens.value !== '') b.max_tokens = Number(maxTokens.value);
      if (stream.checked) {
        b.stream = true;
        b.stream_options = { include_usage: true };
      }
      const t = [];
      if (model.value === 'auto') {
        for (const c of capsBox.querySelectorAll('input:checked')) t.push(c.value);
      }
      for (const x of tags.value.split(',').map((s) => s.trim()).filter(Boolean)) if (!t.includes(x)) t.push(x);
      if (t.length) b.tags = t;
      if (!useCache.checked) b.nemo_cache = false;
      return b;
    };

    const update = () => {
      capsBox.hidden = model.value !== 'auto';
      const b = body();
      snippets.python.textContent = pythonSnippet(base, b);
      snippets.node.textContent = nodeSnippet(base, b);
      snippets.curl.textContent = curlSnippet(base, b);
    };

    const resetResult = () => {
      Object.values(out).forEach((d) => d.replaceChildren('—'));
      errorHost.replaceChildren();
      keep.hidden = true;
    };

    /** Looks the request up in /spend/logs by its id, a few times while the log catches up. */
    const findRecord = async (requestId, sentAt) => {
      for (let i = 0; i < RECORD_TRIES && !ctx.signal.aborted; i++) {
        try {
          const page = await api(`/spend/logs${query({ request_id: requestId, from: sentAt - 60_000, limit: 1 })}`);
          const r = (page.data ?? []).find((x) => x.id === requestId);
          if (r) return r;
        } catch { /* a key without log access, or the gateway busy: try again, then give up */ }
        await new Promise((res) => setTimeout(res, RECORD_EVERY_MS));
      }
      return null;
    };

    const run = async () => {
      if (running) return;
      const b = body();
      if (!b.messages.length) {
        state.textContent = 'Write at least one message.';
        messages.querySelector('textarea')?.focus();
        return;
      }
      resetResult();
      answer.replaceChildren();
      const text = document.createTextNode('');
      answer.append(text);
      const controller = new AbortController();
      running = controller;
      send.disabled = true;
      stop.disabled = false;
      answer.setAttribute('aria-busy', 'true');
      state.textContent = 'Waiting for the first token…';
      const signal = AbortSignal.any([controller.signal, ctx.signal]);
      const t0 = performance.now();
      const sentAt = Date.now();
      let ttft = null;
      let usage = null;
      let headers = null;
      let ended = 'done';
      let streamError = null;
      const gotText = (s) => {
        if (!s) return;
        if (ttft === null) {
          ttft = performance.now() - t0;
          out.ttft.textContent = ms(ttft);
          state.textContent = 'Streaming…';
        }
        text.appendData(s);
      };
      try {
        const r = await fetch('/v1/chat/completions', {
          method: 'POST', signal, cache: 'no-store',
          headers: { authorization: `Bearer ${session.key()}`, 'content-type': 'application/json' },
          body: JSON.stringify(b),
        });
        headers = r.headers;
        out.status.replaceChildren(statusBadge(r.status));
        out.id.replaceChildren(el('code', {}, headers.get('x-request-id') ?? '—'));
        const routed = headers.get('x-nemo-model');
        out.deployment.replaceChildren(routed ?? (headers.get('x-nemo-cache') === 'hit' ? 'none (answered from the cache)' : '—'),
          routed && !r.ok ? el('span', { class: 'sub' }, 'routed there; its answer is the error above') : '');
        out.cache.replaceChildren(cacheBadge(headers.get('x-nemo-cache')));
        out.fallbacks.textContent = headers.get('x-nemo-fallbacks') ?? '—';
        if (!r.ok) {
          let error = null;
          try { error = (await r.json()).error; } catch { /* not JSON */ }
          errorHost.replaceChildren(errorPanel(r.status, error, headers));
          ended = 'error';
        } else if ((headers.get('content-type') ?? '').includes('text/event-stream')) {
          const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = '';
          let finished = false;
          while (!finished) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value.replaceAll('\r\n', '\n');
            let cut;
            while ((cut = buf.indexOf('\n\n')) >= 0) {
              const event = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
              if (!data) continue;
              if (data === '[DONE]') { finished = true; break; }
              let chunk;
              try { chunk = JSON.parse(data); } catch { continue; }
              if (chunk.error) { streamError = chunk.error; continue; }
              gotText(chunk.choices?.[0]?.delta?.content);
              if (chunk.usage) usage = chunk.usage;
            }
          }
        } else {
          const whole = await r.json();
          gotText(whole.choices?.[0]?.message?.content ?? '');
          usage = whole.usage ?? null;
        }
      } catch (e) {
        if (controller.signal.aborted) ended = 'stopped';
        else if (ctx.signal.aborted) return; // left the page
        else {
          ended = 'error';
          errorHost.replaceChildren(errorPanel(null, { message: `The gateway did not answer: ${e.message}` }));
        }
      } finally {
        running = null;
        send.disabled = false;
        stop.disabled = true;
        answer.removeAttribute('aria-busy');
      }
      const total = performance.now() - t0;
      out.total.textContent = ms(total);
      if (streamError) {
        ended = 'error';
        errorHost.replaceChildren(errorPanel(null, streamError));
      }
      state.textContent = ended === 'stopped' ? `Stopped after ${ms(total)}.`
        : ended === 'error' ? 'The request failed.' : `Done in ${ms(total)}.`;
      if (usage) out.tokens.textContent = `${num(usage.prompt_tokens)} → ${num(usage.completion_tokens)}`;
      if (text.length) keep.hidden = false;
      if (!headers) return;
      // the cost: a header on a whole answer; a stream's only in its record, written just after it ends
      const costHeader = headers.get('x-nemo-response-cost');
      if (costHeader !== null && costHeader !== '') out.cost.textContent = usd(Number(costHeader));
      else out.cost.textContent = 'looking it up in the request log…';
      const requestId = headers.get('x-request-id');
      if (!requestId) return;
      const rec = await findRecord(requestId, sentAt);
      if (ctx.signal.aborted) return;
      if (!rec) {
        if (costHeader === null || costHeader === '') out.cost.textContent = 'not found in the request log';
        return;
      }
      out.cost.replaceChildren(usd(rec.cost), rec.saved_cost ? el('span', { class: 'sub' }, `saved ${usd(rec.saved_cost)}`) : '',
        el('span', { class: 'sub' }, 'from the request log'));
      out.total.replaceChildren(ms(total), el('span', { class: 'sub' }, `gateway: ${ms(rec.total_ms)}`));
      if (ttft !== null) out.ttft.replaceChildren(ms(ttft), el('span', { class: 'sub' }, `gateway's first byte: ${ms(rec.ttft_ms)}`));
      if (!usage) out.tokens.textContent = `${num(rec.input_tokens)} → ${num(rec.output_tokens)}${rec.usage_estimated ? ' (estimated)' : ''}`;
      if (rec.deployment && out.deployment.textContent === '—') out.deployment.textContent = rec.deployment;
    };

    form.addEventListener('submit', (e) => { e.preventDefault(); run(); });
    form.addEventListener('input', update);
    form.addEventListener('change', update);
    stop.addEventListener('click', () => running?.abort());
    addMessage.addEventListener('click', () => { messageEditor('user', '').focus(); update(); });
    keep.addEventListener('click', () => {
      messageEditor('assistant', answer.textContent);
      messageEditor('user', '').focus();
      keep.hidden = true;
      update();
    });

    messageEditor('system', 'You are a helpful assistant.');
    messageEditor('user', 'Hello! What can you do?');
    let ids = [];
    try {
      ids = ((await api('/v1/models')).data ?? []).map((m) => m.id);
    } catch (e) {
      state.textContent = `The catalog could not be read (${e.message}); "auto" only.`;
    }
    model.replaceChildren(...ids.map((id) => el('option', { value: id }, id)),
      el('option', { value: 'auto' }, 'auto (by capabilities)'));
    update();
    return () => running?.abort();
  },
};
