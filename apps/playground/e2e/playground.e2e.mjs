// End-to-end test of the BUILT playground in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser download). Serves dist/ with `vite preview` on 127.0.0.1, trains a few steps on
// wasm, pauses and resumes, decodes a prompt, checks the refinement grid, exercises save / quota error / load,
// and writes screenshots/playground.png.
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preview } from 'vite';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STEPS = Number(process.env.E2E_STEPS ?? 150);
const deadline = Date.now() + 150_000;

function check(cond, what) {
  if (!cond) throw new Error(`e2e check failed: ${what}`);
  console.log(`  ok  ${what}`);
}

if (!existsSync(join(root, 'dist/index.html')))
  throw new Error('dist/ is missing: run `npm run build -w @tarm/playground` first');
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run apps/playground/scripts/install-e2e.sh`);

const server = await preview({
  root,
  logLevel: 'warn',
  preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
});
const url = server.resolvedUrls.local[0];
const profile = mkdtempSync(join(tmpdir(), 'tarm-e2e-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: false, // the flag below selects Chromium's new headless mode explicitly
  args: [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  viewport: { width: 1320, height: 1000 },
});
const errors = [];
let failed = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const t0 = Date.now();
  const left = () => Math.max(deadline - Date.now(), 1000);
  const attr = (sel, name) => page.locator(sel).getAttribute(name);
  const num = async (sel, name) => Number(await attr(sel, name));

  console.log(`playground e2e at ${url}`);
  await page.goto(url);
  await page.locator('#backend-status[data-state="ready"]').waitFor({ timeout: left() });
  check(
    (await page.locator('#backend-status').textContent()).includes('WebAssembly'),
    'wasm backend ready in the worker',
  );
  await page.locator('#webgpu-note[data-webgpu]').waitFor({ timeout: left() });
  const gpu = await attr('#webgpu-note', 'data-webgpu');
  const gpuText = await page.locator('#webgpu-note').textContent();
  check(
    gpu === 'yes' ? /WebGPU available/.test(gpuText) : /WebGPU unavailable: /.test(gpuText),
    `webgpu reported (${gpuText.trim()})`,
  );

  // budget 8: dual-ut runs 4 ACT steps, so the grid shows 4 refinement rows.
  await page.locator('input[name="budget"]').fill('8');
  await page.locator('#summary strong').first().filter({ hasText: '8' }).waitFor({ timeout: left() });
  await page.locator('input[name="steps"]').fill(String(STEPS));
  await page.locator('#train').click();
  await page.locator('#progress[data-state="training"]').waitFor({ timeout: left() });
  await page.waitForFunction(() => Number(document.querySelector('#acc-chart')?.dataset.evals) >= 2, null, {
    timeout: left(),
  });
  const pointsEarly = await num('#acc-chart svg', 'data-points');
  const lossEarly = await num('#loss-chart svg', 'data-points');

  await page.locator('#pause').click();
  await page.locator('#progress[data-state="paused"]').waitFor({ timeout: left() });
  const pausedAt = await num('#loss-chart', 'data-steps');
  await page.waitForTimeout(700);
  check((await num('#loss-chart', 'data-steps')) === pausedAt, `pause holds at step ${pausedAt}`);
  await page.waitForFunction(() => document.querySelector('#train')?.textContent === 'Resume', null, {
    timeout: left(),
  });
  check(true, 'the train button offers Resume');

  async function decode(prompt) {
    await page.locator('#prompt').fill(prompt);
    await page.locator('#decode').click();
    await page.locator('#grid[data-state="done"]').waitFor({ timeout: left() });
  }
  await page.locator('#train').click();
  await page.locator('#progress[data-state="training"]').waitFor({ timeout: left() });
  // A decode request while training runs between two optimizer steps.
  await decode('5555|');
  check(
    (await num('table.grid', 'data-columns')) >= 1,
    `decoding works while training (at step ${await num('#loss-chart', 'data-steps')})`,
  );
  await page.locator('#progress[data-state="done"]').waitFor({ timeout: left() });
  const pointsDone = await num('#acc-chart svg', 'data-points');
  const lossDone = await num('#loss-chart svg', 'data-points');
  check(lossDone === STEPS && lossDone > lossEarly, `loss chart grew to ${lossDone} points`);
  check(pointsDone > pointsEarly, `accuracy chart grew from ${pointsEarly} to ${pointsDone} points`);
  console.log(
    `      trained ${STEPS} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${await page.locator('#progress').textContent()}`,
  );

  // More steps after the end: the same model and optimizer continue.
  await page.locator('input[name="steps"]').fill(String(STEPS + 20));
  await page.waitForFunction(() => document.querySelector('#train')?.textContent === 'Train more', null, {
    timeout: left(),
  });
  check(true, 'raising the step count offers Train more');
  await page.locator('#train').click();
  await page.waitForFunction(
    (n) =>
      document.querySelector('#progress')?.dataset.state === 'done' &&
      Number(document.querySelector('#loss-chart')?.dataset.steps) === n,
    STEPS + 20,
    { timeout: left() },
  );
  check(true, `training continued to step ${STEPS + 20}`);

  await decode('3071|');
  const rows = await num('table.grid', 'data-rows');
  const cols = await num('table.grid', 'data-columns');
  check(
    rows === 4 && (await page.locator('table.grid tbody tr').count()) === 4,
    'refinement grid has one row per y pass (dual-ut, budget 8: 4 steps)',
  );
  check(cols >= 1 && cols <= 5, `refinement grid has ${cols} answer columns`);
  check(
    (await page.locator('#answer .generated').textContent()).length >= 1,
    `decoded "${await page.locator('#answer').textContent()}"`,
  );

  // Save with a tiny quota (Chromium's DevTools protocol): a clear "storage full" message, nothing saved.
  const cdp = await context.newCDPSession(page);
  const origin = new URL(url).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 });
  await page.locator('#save-name').fill('e2e-model');
  await page.locator('#save').click();
  await page.locator('#storage-message[data-kind="error"]').waitFor({ timeout: left() });
  const quotaMsg = await page.locator('#storage-message').textContent();
  check(
    /Browser storage is full: the model needs/.test(quotaMsg),
    `quota error is explained ("${quotaMsg.slice(0, 70)}…")`,
  );
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });

  await page.locator('#save').click();
  await page.locator('#storage-message[data-kind="ok"]').waitFor({ timeout: left() });
  await page.locator('#saved-list li[data-name="e2e-model"]').waitFor({ timeout: left() });
  check(true, 'saved to IndexedDB and listed');

  await page.locator('#reset').click();
  await page.locator('#progress[data-state="empty"]').waitFor({ timeout: left() });
  check((await page.locator('#grid').getAttribute('data-state')) === 'empty', 'reset clears the model');
  await page.locator('#saved-list li[data-name="e2e-model"] button[data-action="load"]').click();
  await page.locator('#progress[data-state="done"]').waitFor({ timeout: left() });
  check((await num('#loss-chart', 'data-steps')) === STEPS + 20, 'load restores the model and its charts');

  await decode('8264|');
  check((await num('table.grid', 'data-rows')) === 4, 'the loaded model decodes with its refinement grid');
  check(errors.length === 0, `no page errors${errors.length ? `: ${errors.join(' | ')}` : ''}`);

  mkdirSync(join(root, 'screenshots'), { recursive: true });
  await page.screenshot({ path: join(root, 'screenshots/playground.png'), fullPage: true });
  console.log(
    `  screenshot: apps/playground/screenshots/playground.png (${((Date.now() - t0) / 1000).toFixed(1)} s in all)`,
  );
} catch (e) {
  failed = true;
  console.error(e);
  if (errors.length) console.error('page errors:', errors);
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
