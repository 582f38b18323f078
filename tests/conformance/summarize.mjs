// summarize.mjs - judges one run of the MCP conformance suite for run.sh.
//
//   node summarize.mjs RUN_ID TITLE LOG OUTDIR EXPECTED RESULTS SECONDS
//
// LOG is the suite's stdout+stderr, OUTDIR its -o directory (one server-<scenario>-<time>/checks.json
// per scenario that ran; a scenario that threw has none, its error is in LOG). EXPECTED is
// expected-failures.txt: "scenario [run-id...]" per line, '#' comments; with no run id the entry
// holds for every run. Prints a compact summary, every warning, and the failing checks of every
// failure that is not expected; writes every failing check of every failed scenario (expected or
// not) to OUTDIR/failures.txt; appends one line to RESULTS:
//   run-id|title|scenarios passed|scenarios|checks passed|checks failed|warnings|expected|unexpected|stale|seconds
// Exit 0 if no unexpected failure, 1 if some, 2 if the log has no summary (the suite itself broke).
import fs from 'node:fs';
import path from 'node:path';

const [runId, title, logFile, outDir, expectedFile, resultsFile, seconds] = process.argv.slice(2);
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const log = strip(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
const clip = (s, n = 400) => {
  s = String(s ?? '').replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n) + '...' : s;
};

// Suite summary: "✓ name: P passed, F failed" per scenario, then "Total: P passed, F failed".
const scen = [];
let inSummary = false;
let total = null;
for (const line of log.split('\n')) {
  if (line.startsWith('=== SUMMARY ===')) { inSummary = true; continue; }
  let m;
  if (inSummary && (m = /^([✓✗]) (\S+): (\d+) passed, (\d+) failed\s*$/.exec(line))) {
    scen.push({ name: m[2], ok: m[1] === '✓', passed: +m[3], failed: +m[4] });
  } else if ((m = /^Total: (\d+) passed, (\d+) failed/.exec(line))) {
    total = { passed: +m[1], failed: +m[2] };
  }
}
const thrown = new Map();
for (const m of log.matchAll(/^Failed to run scenario (\S+?): (.*)$/gm)) thrown.set(m[1], m[2]);

// checks.json per scenario (directory server-<name>-<ISO timestamp>).
const checks = new Map();
if (fs.existsSync(outDir)) {
  for (const d of fs.readdirSync(outDir).sort()) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(d);
    const f = path.join(outDir, d, 'checks.json');
    if (!m || !fs.existsSync(f)) continue;
    try { checks.set(m[1], JSON.parse(fs.readFileSync(f, 'utf8'))); } catch (e) {
      checks.set(m[1], [{ id: 'checks-json-unreadable', status: 'FAILURE', errorMessage: String(e) }]);
    }
  }
}

// Expected failures.
const expected = new Map(); // name -> Set of run ids (empty = every run)
if (fs.existsSync(expectedFile)) {
  for (let line of fs.readFileSync(expectedFile, 'utf8').split('\n')) {
    line = line.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, ...runs] = line.split(/\s+/);
    expected.set(name, new Set(runs));
  }
}
const isExpected = (name) => expected.has(name) && (expected.get(name).size === 0 || expected.get(name).has(runId));

const out = [];
const say = (s = '') => out.push(s);
const failLines = [];
let warnings = 0;
const unexpected = [];
const expectedFailed = [];
const stale = [];
const vacuous = [];

if (!total || scen.length === 0) {
  say(`[${runId}] ${title}: NO SUMMARY in the suite output (the suite crashed or was killed); last lines:`);
  for (const l of log.trimEnd().split('\n').slice(-15)) say(`    ${l}`);
  fs.appendFileSync(resultsFile, [runId, title, 0, 0, 0, 0, 0, 0, 'NO-SUMMARY', 0, seconds].join('|') + '\n');
  console.log(out.join('\n'));
  process.exit(2);
}

const warnLines = [];
for (const s of scen) {
  const cs = checks.get(s.name) || [];
  const fails = cs.filter((c) => c.status === 'FAILURE');
  const warns = cs.filter((c) => c.status === 'WARNING');
  warnings += warns.length;
  for (const w of warns) warnLines.push(`    W ${s.name}: ${w.id}: ${clip(w.errorMessage || w.description, 300)}`);
  if (!s.ok) {
    failLines.push(`== ${s.name} (${s.passed} passed, ${s.failed} failed)${isExpected(s.name) ? ' [expected]' : ''}`);
    if (thrown.has(s.name)) failLines.push(`   THREW: ${thrown.get(s.name)}`);
    for (const c of fails) failLines.push(`   F ${c.id}: ${String(c.errorMessage || c.description).replace(/\n/g, ' ')}`);
    if (isExpected(s.name)) { expectedFailed.push(s.name); continue; }
    unexpected.push(s.name);
    continue;
  }
  if (isExpected(s.name)) {
    // A pass that checked nothing (every check SKIPPED, or only the wire-schema check) is not a
    // reason to trim the list: say so quietly.
    const real = cs.filter((c) => c.status === 'SUCCESS' && c.id !== 'wire-schema-valid');
    if (real.length === 0) vacuous.push(s.name); else stale.push(s.name);
  }
}
const scenOk = scen.filter((s) => s.ok).length;
say(`[${runId}] ${title}: ${scenOk}/${scen.length} scenarios passed; checks ${total.passed} passed, ` +
    `${total.failed} failed; ${warnings} warnings; ${expectedFailed.length} expected failures; ` +
    `${unexpected.length} unexpected failures; ${seconds} s`);
if (warnLines.length) { say(`  warnings (do not fail):`); out.push(...warnLines); }
if (expectedFailed.length) say(`  expected failures: ${expectedFailed.join(' ')}`);
if (vacuous.length) say(`  listed as expected failures, passed vacuously (all checks skipped): ${vacuous.join(' ')}`);
for (const n of stale) {
  say(`  !!!!! UNEXPECTED PASS: ${n} is in expected-failures.txt but passed: trim the list !!!!!`);
}
// Details of the unexpected failures, capped so that a wholesale breakage stays readable
// (everything is in failures.txt).
const MAX_SCEN = 40, MAX_CHECKS = 8;
for (const [i, n] of unexpected.entries()) {
  const s = scen.find((x) => x.name === n);
  if (i === MAX_SCEN) { say(`  ... ${unexpected.length - MAX_SCEN} more failed scenarios: ${unexpected.slice(MAX_SCEN).join(' ')}`); break; }
  say(`  FAIL ${n}: ${s.passed} passed, ${s.failed} failed`);
  if (thrown.has(n)) say(`    threw: ${clip(thrown.get(n))}`);
  const fails = (checks.get(n) || []).filter((c) => c.status === 'FAILURE');
  for (const c of fails.slice(0, MAX_CHECKS)) say(`    F ${c.id}: ${clip(c.errorMessage || c.description)}`);
  if (fails.length > MAX_CHECKS) say(`    ... ${fails.length - MAX_CHECKS} more failed checks`);
}
fs.writeFileSync(path.join(outDir, 'failures.txt'), failLines.join('\n') + (failLines.length ? '\n' : ''));
fs.appendFileSync(resultsFile, [runId, title, scenOk, scen.length, total.passed, total.failed, warnings,
  expectedFailed.length, unexpected.length, stale.length, seconds].join('|') + '\n');
console.log(out.join('\n'));
process.exit(unexpected.length ? 1 : 0);
