// Follow-up of the copy attribution (see README.md): the trm-faithful arm's *training* loss falls to ~0.04 on
// copy while its evaluation (EMA weights, decay 0.999) stays at chance. This reruns the all arm without the EMA
// and then leaves one of the three other fixes out, to see which combination lets ar-trm learn copy.
// Same preset as `tarm study --preset attribution --task copy`; greedy evaluation of the raw weights (--ema 0).
//   npm run build && node docs/results/attribution-copy/leave-one-out.mjs studies/attribution-copy-loo [workers]
//   npx tarm report studies/attribution-copy-loo
// Optional third argument: the task (default copy), e.g. for the addition follow-up in ../attribution:
//   node docs/results/attribution-copy/leave-one-out.mjs studies/attribution-addition-loo 2 addition
import { fileURLToPath } from 'node:url';
import { ATTRIBUTION_ARMS, attributionPreset, runAttribution, writeAttributionReport } from '@tarm/study';

const out = process.argv[2] ?? 'studies/attribution-copy-loo';
const workers = Number(process.argv[3] ?? 2);
const task = process.argv[4] ?? 'copy';
const cliEntry = fileURLToPath(new URL('../../../apps/cli/dist/main.js', import.meta.url));
const noEma = ['--ema', '0'];
const arms = [
  ATTRIBUTION_ARMS.find((a) => a.id === 'paper'),
  { id: 'all-no-ema', label: 'all fixes but EMA', model: 'trm-faithful', flags: noEma, change: 'trm-faithful evaluated on its raw weights: deep supervision, halting loss, gradient through all cycles', kind: 'all', baseline: 'paper' },
  { id: 'no-ema-no-ds', label: 'all but EMA and deep supervision', model: 'trm-faithful', flags: [...noEma, '--deep-supervision', '1'], change: 'halting loss and gradient through all cycles (one supervised segment per batch)', kind: 'fix', baseline: 'all-no-ema' },
  { id: 'no-ema-no-halt', label: 'all but EMA and halting loss', model: 'trm-faithful', flags: [...noEma, '--halt-loss', 'off'], change: 'deep supervision and gradient through all cycles', kind: 'fix', baseline: 'all-no-ema' },
  { id: 'no-ema-grad-last', label: 'all but EMA and grad through all cycles', model: 'trm-faithful', flags: [...noEma, '--grad-cycles', 'last'], change: 'deep supervision and halting loss, gradient through the last cycle only', kind: 'fix', baseline: 'all-no-ema' },
];
const ac = new AbortController();
process.once('SIGINT', () => ac.abort());
const outcome = await runAttribution({ outDir: out, cliEntry, task, preset: attributionPreset(task), arms, workers, signal: ac.signal });
const { report } = await writeAttributionReport(out);
console.log(`${out}: ${outcome.runs.length} runs, ${outcome.failed.length} failed, ${Math.round(outcome.wallSeconds)}s; report ${report}`);
process.exitCode = outcome.ok ? 0 : 1;
