/**
 * The page: form, buttons, charts, decode box and refinement grid. All tfjs work happens in worker.ts; this file
 * only sends requests and draws the events that come back.
 */
import './style.css';
import { RUNGS, RUNG_NAMES, type RungName } from '@tarm/recursion';
import { renderChart } from './chart.js';
import { buildGrid } from './grid.js';
import { probeWebGpu } from './gpu.js';
import { checkPrompt, examplePrompt } from './prompt.js';
import { formatBytes } from './storage-errors.js';
import { esc, renderGrid } from './view.js';
import {
  DEFAULT_CONFIG,
  EVAL_PROBLEMS,
  type BackendChoice,
  type EvalPoint,
  type ModelSummary,
  type PlaygroundConfig,
  type PositionTrace,
  type Request,
  type TaskName,
  type TrainState,
  type WorkerEvent,
} from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('config');
const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string) => form.elements.namedItem(name) as T;

/** Milliseconds between decoded tokens, so the answer visibly appears token by token (`?fast` turns it off). */
const TOKEN_DELAY_MS = new URLSearchParams(location.search).has('fast') ? 0 : 90;
const MODEL_FIELDS = ['task', 'model', 'dModel', 'nHeads', 'budget', 'length', 'batchSize', 'lr', 'seed'] as const;

const ui = {
  state: 'empty' as TrainState,
  backendReady: false,
  summary: undefined as ModelSummary | undefined,
  loss: [] as { x: number; y: number }[],
  evals: [] as EvalPoint[],
  step: 0,
  lastLoss: NaN,
  tokensPerSecond: 0,
  traces: [] as PositionTrace[],
  decodeSummary: undefined as ModelSummary | undefined,
  expected: undefined as string | undefined,
  decodePrompt: '',
  decoding: false,
};

// ---- worker ------------------------------------------------------------------------------------------------

let worker: Worker;
const send = (r: Request) => worker.postMessage(r);

function startWorker(backend: BackendChoice): void {
  worker?.terminate();
  ui.backendReady = false;
  setBackendStatus('starting', `starting ${backend}…`);
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<WorkerEvent>) => onEvent(e.data);
  worker.onerror = (e) => {
    setBackendStatus('error', 'worker failed');
    showProgress(`The worker failed to start: ${e.message || 'see the browser console'}`, true);
  };
  send({ type: 'init', backend });
  send({ type: 'list' });
  describe();
  clearModelView();
}

function onEvent(ev: WorkerEvent): void {
  switch (ev.type) {
    case 'ready':
      ui.backendReady = true;
      setBackendStatus('ready', ev.detail);
      break;
    case 'error':
      if (ev.where === 'backend') setBackendStatus('error', `${field<HTMLSelectElement>('backend').value} unavailable`);
      if (ev.where === 'storage' || ev.where === 'delete') showStorageMessage(ev.message);
      else showProgress(`${ev.where}: ${ev.message}`, true);
      if (ev.where === 'decode') ui.decoding = false;
      break;
    case 'described':
      if (ev.error) $('summary').innerHTML = `<span class="bad">${esc(ev.error)}</span>`;
      else if (ev.summary && ui.state === 'empty') showSummary(ev.summary);
      break;
    case 'model':
      ui.summary = ev.summary;
      showSummary(ev.summary);
      break;
    case 'state':
      ui.state = ev.state;
      ui.step = ev.step;
      if (ev.state === 'empty') clearModelView();
      break;
    case 'step':
      ui.step = ev.step;
      ui.lastLoss = ev.loss;
      ui.tokensPerSecond = ev.tokensPerSecond;
      ui.loss.push({ x: ev.step, y: ev.loss });
      break;
    case 'eval':
      ui.evals.push(ev.point);
      showExamples(ev.examples);
      break;
    case 'decode-start':
      ui.traces = [];
      ui.decodeSummary = ev.summary;
      $('grid').dataset.state = 'decoding';
      break;
    case 'token':
      ui.traces.push(ev.trace);
      drawDecode();
      break;
    case 'decode-end':
      ui.decoding = false;
      $('grid').dataset.state = 'done';
      drawDecode();
      break;
    case 'saved':
      showStorageMessage(`Saved "${ev.info.name}" (${formatBytes(ev.info.bytes)}, step ${ev.info.step}).`, false);
      break;
    case 'storage-error':
      showStorageMessage(ev.message);
      break;
    case 'models':
      drawSavedList(ev.list);
      $('storage-usage').textContent =
        ev.usage !== undefined && ev.quota !== undefined
          ? `This site uses ${formatBytes(ev.usage)} of ${formatBytes(ev.quota)} allowed.`
          : '';
      break;
    case 'loaded':
      setForm(ev.info.config);
      ui.summary = ev.summary;
      ui.loss = ev.history.loss.map((p) => ({ x: p.step, y: p.value }));
      ui.evals = [...ev.history.evals];
      ui.step = ev.info.step;
      ui.lastLoss = ev.history.loss.at(-1)?.value ?? NaN;
      showSummary(ev.summary);
      showStorageMessage(`Loaded "${ev.info.name}" at step ${ev.info.step}.`, false);
      resetPrompt();
      break;
  }
  scheduleDraw();
}

// ---- form --------------------------------------------------------------------------------------------------

function readForm(): PlaygroundConfig {
  const num = (name: string) => Number(field<HTMLInputElement>(name).value);
  return {
    task: field<HTMLSelectElement>('task').value as TaskName,
    model: field<HTMLSelectElement>('model').value as RungName,
    dModel: num('dModel'),
    nHeads: num('nHeads'),
    budget: num('budget'),
    length: num('length'),
    steps: num('steps'),
    batchSize: num('batchSize'),
    lr: num('lr'),
    evalEvery: num('evalEvery'),
    seed: num('seed'),
  };
}

function setForm(c: PlaygroundConfig): void {
  for (const [k, v] of Object.entries(c)) {
    const el = field<HTMLInputElement>(k);
    if (el) el.value = String(v);
  }
  showRungChange();
}

function showRungChange(): void {
  const r = RUNGS[field<HTMLSelectElement>('model').value as RungName];
  $('rung-change').textContent = r ? `${r.paperName}: ${r.change}.` : '';
}

function describe(): void {
  if (ui.state === 'empty') send({ type: 'describe', config: readForm() });
}

function showSummary(s: ModelSummary): void {
  const { steps, H, L, passesPerStep, blockPasses } = s.schedule;
  const shape = !s.rung.tied
    ? `${steps} distinct blocks`
    : s.rung.nested
      ? `${steps} step${steps === 1 ? '' : 's'} × ${H} cycle${H === 1 ? '' : 's'} × (${L} z + 1 y)`
      : s.rung.dualStream
        ? `${steps} step${steps === 1 ? '' : 's'} × (z, y)`
        : `1 shared block × ${steps}`;
  void passesPerStep;
  $('summary').innerHTML =
    `<strong>${blockPasses}</strong> block passes: ${esc(shape)} · <strong>${s.params.toLocaleString('en-US')}</strong> parameters`;
}

// ---- drawing -----------------------------------------------------------------------------------------------

let drawQueued = false;
function scheduleDraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function draw(): void {
  const c = readForm();
  const steps = Math.max(c.steps, ui.step);
  $('loss-chart').innerHTML = renderChart({
    width: 420,
    height: 190,
    label: 'training loss per step',
    series: [{ name: 'loss', color: '#2563eb', points: ui.loss }],
    xMax: steps,
    yFormat: (y) => y.toFixed(y >= 10 ? 0 : 1),
  });
  $('acc-chart').innerHTML = renderChart({
    width: 420,
    height: 190,
    label: 'evaluation accuracy',
    series: [
      { name: 'characters', color: '#059669', points: ui.evals.map((e) => ({ x: e.step, y: e.charAcc })), dots: true },
      {
        name: 'whole answers',
        color: '#d97706',
        points: ui.evals.map((e) => ({ x: e.step, y: e.exactMatch })),
        dots: true,
      },
    ],
    yDomain: [0, 1],
    xMax: steps,
    yFormat: (y) => `${Math.round(y * 100)}%`,
    reference: { y: 0.1, label: 'chance ≈ 10%' },
  });
  $('acc-chart').dataset.evals = String(ui.evals.length);
  $('loss-chart').dataset.steps = String(ui.loss.length);

  const last = ui.evals.at(-1);
  if (ui.state !== 'empty') {
    const parts = [`step ${ui.step} / ${c.steps}`];
    if (Number.isFinite(ui.lastLoss)) parts.push(`loss ${ui.lastLoss.toFixed(3)}`);
    if (ui.tokensPerSecond > 0 && ui.state === 'training')
      parts.push(`${Math.round(ui.tokensPerSecond).toLocaleString('en-US')} tokens/s`);
    if (last)
      parts.push(
        `accuracy ${(last.charAcc * 100).toFixed(0)}% of characters, ${(last.exactMatch * 100).toFixed(0)}% of answers`,
      );
    const word = { training: 'Training', paused: 'Paused', done: 'Done', empty: '' }[ui.state];
    showProgress(`${word} · ${parts.join(' · ')}`);
  }
  $('progress').dataset.state = ui.state;

  const training = ui.state === 'training';
  const more = ui.state === 'done' && c.steps > ui.step;
  $<HTMLButtonElement>('train').disabled = !ui.backendReady || training || (ui.state === 'done' && !more);
  $<HTMLButtonElement>('train').textContent = ui.state === 'paused' ? 'Resume' : more ? 'Train more' : 'Train';
  $<HTMLButtonElement>('pause').disabled = !training;
  $<HTMLButtonElement>('reset').disabled = ui.state === 'empty';
  $<HTMLButtonElement>('save').disabled = ui.state === 'empty';
  $<HTMLButtonElement>('decode').disabled = ui.state === 'empty' || ui.decoding;
  const locked = ui.state !== 'empty';
  for (const name of MODEL_FIELDS) field<HTMLInputElement>(name).disabled = locked;
  $('locked-note').hidden = !locked;
  if (!$<HTMLInputElement>('save-name').value || $('save-name').dataset.auto === '1') {
    $<HTMLInputElement>('save-name').value = `${c.model}-${c.task}-L${c.length}-step${ui.step}`;
    $('save-name').dataset.auto = '1';
  }
}

function drawDecode(): void {
  const s = ui.decodeSummary;
  if (!s) return;
  const answer = ui.traces
    .filter((t) => t.char !== '\n')
    .map((t) => t.char)
    .join('');
  const ended = ui.traces.at(-1)?.char === '\n';
  const expected = ui.expected;
  let verdict = '';
  if (!ui.decoding && expected !== undefined) {
    verdict =
      answer === expected
        ? `<span class="right">✓ correct</span>`
        : `<span class="wrong">✗ expected ${esc(expected)}</span>`;
  }
  $('answer').innerHTML =
    `<span class="prompt-echo">${esc(ui.decodePrompt)}</span><span class="generated">${esc(answer)}</span>` +
    `${ui.decoding ? '<span class="caret">▍</span>' : ended ? '<span class="eos" title="end of answer">⏎</span>' : ''} ${verdict}`;
  const grid = buildGrid(s, ui.traces, expected);
  $('grid').innerHTML = renderGrid(grid);
  $('grid-legend').hidden = false;
  const halting = s.rung.halting;
  const notes = [
    'Each cell: what the readout head would answer at that position after that pass (green: equals the emitted answer).',
    !s.rung.tied ? 'Dense rows are distinct blocks read out by the final head (a logit lens).' : '',
    halting === 'act'
      ? 'ACT: the emitted answer is the ACT-weighted sum of y over the steps up to where the position halted, so it can differ from every row; the loop stops once every position has halted.'
      : '',
    halting === 'binary'
      ? 'Binary halting head: the answer is read from the terminal y, the y of the step where q > 0 first (or the last step); the loop stops once every position has halted.'
      : '',
    halting === 'none' && s.rung.tied ? 'No halting: every step runs.' : '',
  ];
  $('grid-note').textContent = notes.filter(Boolean).join(' ');
}

function clearModelView(): void {
  ui.summary = undefined;
  ui.loss = [];
  ui.evals = [];
  ui.step = 0;
  ui.lastLoss = NaN;
  ui.tokensPerSecond = 0;
  ui.traces = [];
  ui.decodeSummary = undefined;
  $('answer').innerHTML = '';
  $('grid').innerHTML = '';
  $('grid').dataset.state = 'empty';
  $('grid-note').textContent = '';
  $('grid-legend').hidden = true;
  $('examples').hidden = true;
  showProgress('Pick a task and a rung, then press Train.');
  describe();
}

function showProgress(text: string, error = false): void {
  const p = $('progress');
  p.textContent = text;
  p.classList.toggle('bad', error);
}

function showExamples(examples: readonly { prompt: string; answer: string; prediction: string }[]): void {
  const table = $<HTMLTableElement>('examples');
  table.hidden = examples.length === 0;
  table.tBodies[0]!.innerHTML = examples
    .map((e) => {
      const marked = [...e.prediction]
        .map((ch, i) => (ch === e.answer[i] ? esc(ch) : `<mark>${esc(ch)}</mark>`))
        .join('');
      return `<tr><td>${esc(e.prompt)}</td><td>${esc(e.answer)}</td><td class="${e.prediction === e.answer ? 'right' : 'wrong'}">${marked || '∅'}</td></tr>`;
    })
    .join('');
}

function setBackendStatus(state: 'starting' | 'ready' | 'error', text: string): void {
  const el = $('backend-status');
  el.dataset.state = state;
  el.textContent = text;
}

function showStorageMessage(text: string, error = true): void {
  const el = $('storage-message');
  el.hidden = false;
  el.textContent = text;
  el.classList.toggle('bad', error);
  el.dataset.kind = error ? 'error' : 'ok';
}

function drawSavedList(
  list: readonly { name: string; savedAt: string; bytes: number; step: number; config: PlaygroundConfig }[],
): void {
  const ul = $('saved-list');
  ul.innerHTML = list.length
    ? list
        .map(
          (m) =>
            `<li data-name="${esc(m.name)}"><span class="name">${esc(m.name)}</span>` +
            `<span class="meta">${esc(m.config.model)} · ${esc(m.config.task)} · step ${m.step} · ${formatBytes(m.bytes)}</span>` +
            `<button type="button" data-action="load">Load</button><button type="button" data-action="delete" class="quiet">Delete</button></li>`,
        )
        .join('')
    : '<li class="empty">Nothing saved yet.</li>';
}

// ---- decode box --------------------------------------------------------------------------------------------

function checkPromptBox(): ReturnType<typeof checkPrompt> {
  const res = checkPrompt(field<HTMLSelectElement>('task').value as TaskName, $<HTMLInputElement>('prompt').value);
  const msg = $('prompt-message');
  msg.textContent = res.message ?? (res.expected !== undefined ? `expected answer: ${res.expected}` : '');
  msg.classList.toggle('bad', !res.ok);
  return res;
}

function resetPrompt(): void {
  const c = readForm();
  $<HTMLInputElement>('prompt').value = examplePrompt(c.task, c.length);
  checkPromptBox();
}

function randomPrompt(): void {
  const c = readForm();
  const digits = Array.from({ length: 20 }, () => String(Math.floor(Math.random() * 10))).join('');
  $<HTMLInputElement>('prompt').value = examplePrompt(c.task, c.length, digits);
  checkPromptBox();
}

// ---- wiring ------------------------------------------------------------------------------------------------

function init(): void {
  $<HTMLSelectElement>('rung').innerHTML = RUNG_NAMES.map(
    (n) => `<option value="${n}">${n} · ${esc(RUNGS[n].paperName)}</option>`,
  ).join('');
  $('eval-n').textContent = String(EVAL_PROBLEMS);
  setForm(DEFAULT_CONFIG);
  resetPrompt();

  form.addEventListener('input', (e) => {
    const name = (e.target as HTMLInputElement).name;
    if (name === 'backend') return;
    if (name === 'model') showRungChange();
    if (name === 'task' || name === 'length') resetPrompt();
    describe();
    scheduleDraw();
  });
  field<HTMLSelectElement>('backend').addEventListener('change', () =>
    startWorker(field<HTMLSelectElement>('backend').value as BackendChoice),
  );
  form.addEventListener('submit', (e) => e.preventDefault());

  $('train').addEventListener('click', () => {
    if (ui.state === 'training') return;
    if (ui.state === 'empty') {
      ui.loss = [];
      ui.evals = [];
    }
    send({ type: 'train', config: readForm() });
    ui.state = 'training';
    scheduleDraw();
  });
  $('pause').addEventListener('click', () => send({ type: 'pause' }));
  $('reset').addEventListener('click', () => send({ type: 'reset' }));

  $('save-name').addEventListener('input', () => ($('save-name').dataset.auto = '0'));
  $('save').addEventListener('click', () => {
    const name = $<HTMLInputElement>('save-name').value.trim();
    if (!name) return showStorageMessage('Give the model a name first.');
    $('storage-message').hidden = true;
    send({ type: 'save', name });
  });
  $('saved-list').addEventListener('click', (e) => {
    const btn = (e.target as HTMLElement).closest('button');
    const name = btn?.closest('li')?.dataset.name;
    if (!btn || name === undefined) return;
    if (btn.dataset.action === 'load') send({ type: 'load', name });
    if (btn.dataset.action === 'delete') send({ type: 'delete', name });
  });

  $('prompt').addEventListener('input', checkPromptBox);
  $('random').addEventListener('click', randomPrompt);
  $<HTMLFormElement>('decode-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const check = checkPromptBox();
    if (!check.ok || ui.state === 'empty' || ui.decoding) return;
    ui.decoding = true;
    ui.expected = check.expected;
    ui.decodePrompt = $<HTMLInputElement>('prompt').value;
    $('grid').dataset.state = 'decoding';
    send({ type: 'decode', prompt: ui.decodePrompt, maxTokens: check.maxTokens, delayMs: TOKEN_DELAY_MS });
    scheduleDraw();
  });

  void probeWebGpu().then((probe) => {
    const opt = field<HTMLSelectElement>('backend').querySelector<HTMLOptionElement>('option[value="webgpu"]')!;
    const note = $('webgpu-note');
    note.hidden = false;
    if (probe.ok) {
      note.textContent = `WebGPU available: ${probe.description}.`;
    } else {
      opt.disabled = true;
      opt.textContent = 'webgpu (unavailable)';
      note.textContent = `WebGPU unavailable: ${probe.reason}.`;
      note.classList.add('warn');
    }
    note.dataset.webgpu = probe.ok ? 'yes' : 'no';
  });

  startWorker('wasm');
  scheduleDraw();
}

init();
