import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

describe('separately installable package', () => {
  it('installs @tarm/tasks from its tarball (with @tarm/core\'s) into an empty project and uses it there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarm-pack-'));
    const packs = join(dir, 'packs');
    mkdirSync(packs);
    execFileSync('npm', ['pack', '-w', '@tarm/core', '-w', '@tarm/tasks', '--pack-destination', packs, '--silent'], { cwd: ROOT, stdio: 'pipe' });
    const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(['tarm-core-0.1.0.tgz', 'tarm-tasks-0.1.0.tgz']);
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // the tarballs, plus their registry dependencies (already in npm's cache after the repo's install)
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs.map((t) => join(packs, t))], { cwd: app, stdio: 'pipe' });
    writeFileSync(
      join(app, 'use.mjs'),
      "import { getTask, encodeExamples } from '@tarm/tasks';\nimport { Rng } from '@tarm/core';\n" +
        "const ex = getTask('addition').sample(new Rng(1), 3);\nconst b = encodeExamples([ex], 12);\n" +
        'console.log(JSON.stringify({ ok: /^\\d{3}\\+\\d{3}=$/.test(ex.prompt) && ex.answer.length === 4, mask: Array.from(b.mask) }));\n',
    );
    const out = JSON.parse(execFileSync('node', ['use.mjs'], { cwd: app, encoding: 'utf8' }).trim()) as { ok: boolean; mask: number[] };
    expect(out.ok).toBe(true);
    expect(out.mask.reduce((a, b) => a + b, 0)).toBe(5); // 4 answer digits + the newline
  }, 180_000);
});
