// Release hygiene of every workspace package.json, checked in CI (tools/ci/packages.sh); prints each problem.
//   public packages: license MIT, repository with its own directory, engines.node, a "./package.json" export,
//   @tensorflow/tfjs-core only as a peer (a dependency could install a second engine; the CLI, an application,
//   owns its engine), and exactly the public packages in the changesets fixed group.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
const workspaces = JSON.parse(execFileSync('npm', ['query', '.workspace'], { encoding: 'utf8' }));
const problems = [];
const pub = [];
for (const w of workspaces) {
  const p = JSON.parse(readFileSync(`${w.location}/package.json`, 'utf8'));
  if (p.private) continue;
  pub.push(p.name);
  const bad = (what) => problems.push(`${p.name} (${w.location}/package.json): ${what}`);
  if (p.license !== 'MIT') bad('license must be MIT');
  if (p.repository?.directory !== w.location || !p.repository?.url)
    bad(`repository must have a url and directory "${w.location}"`);
  if (!p.engines?.node) bad('engines.node is missing');
  if (p.exports && p.exports['./package.json'] !== './package.json') bad('exports must include "./package.json"');
  if (p.name !== '@tarm/cli' && p.dependencies?.['@tensorflow/tfjs-core'])
    bad('@tensorflow/tfjs-core must be a peer dependency only');
  if (!existsSync(`${w.location}/README.md`)) bad('README.md is missing');
}
if (!existsSync('LICENSE')) problems.push('LICENSE is missing at the repository root');
const fixed = JSON.parse(readFileSync('.changeset/config.json', 'utf8')).fixed?.[0] ?? [];
const key = (xs) => [...xs].sort().join(', ');
if (key(fixed) !== key(pub))
  problems.push(
    `.changeset/config.json fixed group must be exactly the public packages: ${key(pub)} (has ${key(fixed)})`,
  );
for (const x of problems) console.error(`check-manifests: ${x}`);
if (problems.length > 0) process.exit(1);
console.log(`check-manifests: ${pub.length} public packages ok`);
