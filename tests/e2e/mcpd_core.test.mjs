// mcpd_core.test.mjs - mcpd's core end to end: the command line (--help, --version,
// --print-default-config, --check-config, the non-loopback rule), the exec kind through the
// official TypeScript SDK clients in both eras (legacy: v1 client with a session; modern: v2
// client, 2026-07-28), and reload on SIGHUP (list_changed, a bad file keeping the old config,
// a reload under load failing no call).
//
// exec checks: arguments are single argv elements (shell syntax and injection attempts come
// back verbatim), a leading '-' is refused, bad arguments are refused by the input schema,
// stdout is capped, a non-zero exit is an isError result with the stderr tail, and a timeout
// or a cancellation kills the whole process group (the grandchild's pid is checked gone).
//
// Run: MCPD_BIN=build/asan/mcpd node --test tests/e2e/mcpd_core.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  connectClient, runMcpd, sleep, startMcpd, stopChecked, tempDir, textOf, waitFor,
} from './lib/mcpd.mjs';

const T = { timeout: 60000 };

// Tools used below; {pidfile} receives the pid of a grandchild that would outlive a sloppy kill.
const execTools = (dir) => [
  { kind: 'exec', name: 'echo', description: 'Prints its words.', command: ['echo', '{words}'],
    arguments: { words: { type: 'array', items: { type: 'string' }, description: 'words' } } },
  { kind: 'exec', name: 'say', command: ['printf', '%s', '{text}'],
    arguments: { text: { type: 'string', maxLength: 100 } } },
  { kind: 'exec', name: 'count', command: ['seq', '{n}'], arguments: { n: { type: 'integer', minimum: 1, maximum: 1000000 } },
    max_output: 1000 },
  { kind: 'exec', name: 'fail', command: ['sh', '-c', 'echo oops >&2; echo detail >&2; exit 3'] },
  { kind: 'exec', name: 'missing', command: ['/nonexistent/program'] },
  { kind: 'exec', name: 'upper', command: ['tr', 'a-z', 'A-Z'], arguments: { text: { type: 'string' } }, stdin: 'text' },
  { kind: 'exec', name: 'hang', command: ['sh', '-c', 'sleep 300 & echo $! > "$1"; wait', 'sh', `${dir}/{id}.pid`],
    arguments: { id: { type: 'string', pattern: '^[a-z0-9]+$' } }, timeout_ms: 1500, kill_grace_ms: 200 },
];

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

// The grandchild pid written by the hang tool under id, once it exists.
async function grandchild(dir, id) {
  const f = `${dir}/${id}.pid`;
  await waitFor(() => existsSync(f) && readFileSync(f, 'utf8').trim(), `${f}`);
  return Number(readFileSync(f, 'utf8').trim());
}

describe('mcpd command line', () => {
  it('--help, --version, unknown flags', T, async () => {
    const h = await runMcpd(['--help']);
    assert.equal(h.code, 0);
    for (const f of ['--config', '--stdio', '--listen', '--check-config', '--print-default-config', '--insecure-no-auth']) {
      assert.match(h.stdout, new RegExp(f));
    }
    const v = await runMcpd(['--version']);
    assert.match(v.stdout, /^mcpd \d+\.\d+\.\d+\n$/);
    const u = await runMcpd(['--bogus']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown option: --bogus/);
  });

  it('--print-default-config passes --check-config', T, async () => {
    const tmp = tempDir();
    const p = await runMcpd(['--print-default-config']);
    assert.equal(p.code, 0);
    assert.match(p.stdout, /^\/\/ /, 'the default config is commented');
    writeFileSync(tmp.path('d.jsonc'), p.stdout);
    const c = await runMcpd(['--check-config', tmp.path('d.jsonc')]);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /valid \(\d+ tools\)/);
    tmp.cleanup();
  });

  it('with no config it serves the default one: sample database, docs, exec tools, prompts', T, async () => {
    const tmp = tempDir(); // the sample database goes to $XDG_RUNTIME_DIR
    const srv = await startMcpd(null, { env: { XDG_RUNTIME_DIR: tmp.dir }, cwd: new URL('../..', import.meta.url).pathname });
    try {
      const c = await connectClient(srv.url, 'modern');
      const names = (await c.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['books_per_decade', 'disk_usage', 'find_books', 'uptime']);
      let r = await c.callTool({ name: 'find_books', arguments: { text: 'Knuth', limit: 5 } });
      assert.equal(r.structuredContent.rows[0].title, 'The Art of Computer Programming, Vol. 1');
      r = await c.callTool({ name: 'find_books', arguments: { text: "' OR 1=1 --", limit: 50 } });
      assert.equal(r.structuredContent.row_count, 0);
      r = await c.callTool({ name: 'books_per_decade', arguments: {} });
      assert.ok(r.structuredContent.rows.length >= 3);
      r = await c.callTool({ name: 'disk_usage', arguments: { path: '/' } });
      assert.match(textOf(r), /Filesystem/);
      assert.deepEqual((await c.listPrompts()).prompts.map((p) => p.name).sort(), ['code_review', 'explain_error']);
      const res = (await c.listResources()).resources.map((x) => x.uri);
      assert.ok(res.includes('file:///docs/mcpd.md'), res.join(' '));
      await c.close();
    } finally {
      await stopChecked(srv);
      tmp.cleanup();
    }
  });

  it('--check-config explains every mistake with line:column and exits 2', T, async () => {
    const tmp = tempDir();
    writeFileSync(tmp.path('bad.jsonc'), `{
  // two mistakes
  "listen": "127.0.0.1:8080",
  "limits": {"timeout_ms": -5},
  "tools": [{"kind": "exec", "name": "x", "command": ["ls", "{dir}"]}],
}`);
    const c = await runMcpd(['--check-config', tmp.path('bad.jsonc')]);
    assert.equal(c.code, 2);
    assert.match(c.stdout, /bad\.jsonc:4:28: \/limits\/timeout_ms: number must be >= 1/);
    const missing = await runMcpd(['--check-config', tmp.path('nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stdout, /nope\.json: cannot open the file: No such file or directory/);
    tmp.cleanup();
  });

  it('a non-loopback --listen without auth exits 2 unless --insecure-no-auth', T, async () => {
    const tmp = tempDir();
    writeFileSync(tmp.path('c.json'), '{}');
    const r = await runMcpd(['--config', tmp.path('c.json'), '--listen', '0.0.0.0:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to serve 0\.0\.0\.0:0 without auth/);
    const srv = await startMcpd({}, { listen: '0.0.0.0:0', args: ['--insecure-no-auth'] });
    await stopChecked(srv);
    tmp.cleanup();
  });
});

for (const era of ['legacy', 'modern']) {
  describe(`exec kind (${era})`, () => {
    it('arguments are argv elements, never shell', T, async () => {
      const tmp = tempDir();
      const srv = await startMcpd({ tools: execTools(tmp.dir) });
      try {
        const c = await connectClient(srv.url, era);
        const { tools } = await c.listTools();
        assert.deepEqual(tools.map((t) => t.name).sort(), ['count', 'echo', 'fail', 'hang', 'missing', 'say', 'upper']);
        const echo = tools.find((t) => t.name === 'echo');
        assert.equal(echo.description, 'Prints its words.');
        assert.deepEqual(echo.inputSchema.required, ['words']);
        const nasty = ['; rm -rf /tmp/x', '$(touch /tmp/pwned)', '`id`', 'a && b', '|cat', '"quoted"', "it's", '*'];
        let r = await c.callTool({ name: 'echo', arguments: { words: nasty } });
        assert.equal(r.isError, undefined);
        assert.equal(textOf(r), `${nasty.join(' ')}\n`);
        r = await c.callTool({ name: 'say', arguments: { text: '${HOME} \\n %d' } });
        assert.equal(textOf(r), '${HOME} \\n %d');
        r = await c.callTool({ name: 'say', arguments: { text: '--version' } });
        assert.equal(r.isError, true);
        assert.match(textOf(r), /argument text must not start with '-'/);
        r = await c.callTool({ name: 'echo', arguments: { words: ['ok', '-e'] } });
        assert.equal(r.isError, true);
        r = await c.callTool({ name: 'upper', arguments: { text: 'from stdin' } });
        assert.equal(textOf(r), 'FROM STDIN');
        await c.close();
      } finally {
        await stopChecked(srv);
        tmp.cleanup();
      }
    });

    it('bad arguments, output cap, exit status', T, async () => {
      const tmp = tempDir();
      const srv = await startMcpd({ tools: execTools(tmp.dir) });
      try {
        const c = await connectClient(srv.url, era);
        // the input schema refuses these before any process starts
        for (const args of [{}, { n: 'ten' }, { n: 0 }, { n: 5, extra: 1 }]) {
          const r = await c.callTool({ name: 'count', arguments: args }).catch((e) => ({ isError: true, content: [{ type: 'text', text: e.message }] }));
          assert.equal(r.isError, true, JSON.stringify(args));
        }
        let r = await c.callTool({ name: 'count', arguments: { n: 5 } });
        assert.equal(textOf(r), '1\n2\n3\n4\n5\n');
        r = await c.callTool({ name: 'count', arguments: { n: 1000000 } });
        assert.equal(r.isError, undefined);
        const t = textOf(r);
        assert.match(t, /\[mcpd: output truncated at 1000 bytes; the program was stopped\]$/);
        assert.ok(t.length < 1200, `capped output: ${t.length} bytes`);
        r = await c.callTool({ name: 'fail', arguments: {} });
        assert.equal(r.isError, true);
        assert.match(textOf(r), /^sh exited with status 3; stderr:\noops\ndetail\n$/);
        r = await c.callTool({ name: 'missing', arguments: {} });
        assert.equal(r.isError, true);
        assert.equal(textOf(r), 'cannot run /nonexistent/program: no such file or directory');
        await c.close();
      } finally {
        await stopChecked(srv);
        tmp.cleanup();
      }
    });

    it('a timeout kills the whole process group', T, async () => {
      const tmp = tempDir();
      const srv = await startMcpd({ tools: execTools(tmp.dir) });
      try {
        const c = await connectClient(srv.url, era);
        const call = c.callTool({ name: 'hang', arguments: { id: 'timeout' } });
        const pid = await grandchild(tmp.dir, 'timeout');
        assert.ok(alive(pid));
        const r = await call;
        assert.equal(r.isError, true);
        assert.equal(textOf(r), 'tool hang did not finish within 1500 ms');
        await waitFor(() => !alive(pid), `grandchild ${pid} gone`);
        assert.match(srv.stderr, /tool hang did not finish within 1500 ms; stopping it/);
        await c.close();
      } finally {
        await stopChecked(srv);
        tmp.cleanup();
      }
    });

    it('a cancelled call kills the whole process group', T, async () => {
      const tmp = tempDir();
      const tools = execTools(tmp.dir);
      tools.find((t) => t.name === 'hang').timeout_ms = 60000;
      const srv = await startMcpd({ tools });
      try {
        const c = await connectClient(srv.url, era);
        const ac = new AbortController();
        const params = { name: 'hang', arguments: { id: 'cancel' } };
        // v1: callTool(params, resultSchema, options); v2: callTool(params, options)
        const call = era === 'modern' ? c.callTool(params, { signal: ac.signal })
          : c.callTool(params, undefined, { signal: ac.signal });
        const pid = await grandchild(tmp.dir, 'cancel');
        ac.abort();
        await assert.rejects(call);
        await waitFor(() => !alive(pid), `grandchild ${pid} gone after the cancel`);
        const r = await c.callTool({ name: 'say', arguments: { text: 'still fine' } });
        assert.equal(textOf(r), 'still fine');
        await c.close();
      } finally {
        await stopChecked(srv);
        tmp.cleanup();
      }
    });
  });
}

// The program is looked up in mcpd's PATH once, at configure (not by every spawn); a spawn that
// finds the file gone searches PATH again, and a relative PATH entry (relative to the tool's
// cwd in the child) turns the lookup off.
describe('exec: the program found in PATH', () => {
  it('is found once, searched again when it has gone, and a relative PATH entry is honoured', T, async () => {
    const tmp = tempDir();
    for (const d of ['a', 'b', 'c']) mkdirSync(tmp.path(d));
    const prog = (d, out) => {
      writeFileSync(tmp.path(`${d}/mcpd-e2e-prog`), `#!/bin/sh\necho ${out}\n`);
      chmodSync(tmp.path(`${d}/mcpd-e2e-prog`), 0o755);
    };
    prog('a', 'from-a');
    const tools = [
      { kind: 'exec', name: 'p', command: ['mcpd-e2e-prog'] },
      { kind: 'exec', name: 'rel', command: ['mcpd-e2e-prog'], cwd: tmp.path('c'), env_allow: [] },
    ];
    const PATH = `${tmp.path('a')}:${tmp.path('b')}:/usr/bin:/bin`;
    const srv = await startMcpd({ tools }, { env: { PATH } });
    try {
      const c = await connectClient(srv.url, 'legacy');
      assert.equal(textOf(await c.callTool({ name: 'p', arguments: {} })), 'from-a\n');
      rmSync(tmp.path('a/mcpd-e2e-prog'));
      prog('b', 'from-b');
      assert.equal(textOf(await c.callTool({ name: 'p', arguments: {} })), 'from-b\n');
      rmSync(tmp.path('b/mcpd-e2e-prog'));
      const r = await c.callTool({ name: 'p', arguments: {} });
      assert.equal(r.isError, true);
      assert.equal(textOf(r), 'cannot run mcpd-e2e-prog: no such file or directory');
      await c.close();
    } finally {
      await stopChecked(srv);
    }
    // "." first in PATH: the program is the one in the tool's cwd (c/), as posix_spawnp finds it
    prog('a', 'from-a');
    prog('c', 'from-c');
    const srv2 = await startMcpd({ tools }, { env: { PATH: `.:${PATH}` } });
    try {
      const c = await connectClient(srv2.url, 'legacy');
      assert.equal(textOf(await c.callTool({ name: 'rel', arguments: {} })), 'from-c\n');
      await c.close();
    } finally {
      await stopChecked(srv2);
      tmp.cleanup();
    }
  });
});

describe('concurrency limit', () => {
  it('a tool at its limit answers busy at once; a cancelled call gives its slot back', T, async () => {
    const tmp = tempDir();
    const srv = await startMcpd({ tools: [
      { kind: 'exec', name: 'one', command: ['sh', '-c', 'echo $$ > "$1"; exec sleep "$2"', 'sh', `${tmp.dir}/{id}.pid`, '{s}'],
        arguments: { id: { type: 'string', pattern: '^[a-z0-9]+$' }, s: { type: 'integer', minimum: 0, maximum: 60 } },
        concurrency: 1, queue_wait_ms: 0, timeout_ms: 60000 },
    ] });
    try {
      const c = await connectClient(srv.url, 'legacy');
      const ac = new AbortController();
      const first = c.callTool({ name: 'one', arguments: { id: 'a', s: 30 } }, undefined, { signal: ac.signal });
      const pid = await grandchild(tmp.dir, 'a'); // the first call holds the only slot
      const busy = await c.callTool({ name: 'one', arguments: { id: 'b', s: 0 } });
      assert.equal(busy.isError, true);
      assert.equal(textOf(busy), 'tool one is busy: 1 calls are running (its concurrency limit) and none ended within 0 ms; try again later');
      ac.abort();
      await assert.rejects(first);
      await waitFor(() => !alive(pid), `the cancelled call's process ${pid} gone`);
      await waitFor(async () => !(await c.callTool({ name: 'one', arguments: { id: 'c', s: 0 } })).isError,
        'the slot given back after the cancel');
      await c.close();
    } finally {
      await stopChecked(srv);
      tmp.cleanup();
    }
  });
});

describe("a tool's own circuit breaker", () => {
  it('opens after failures and answers at once with when to retry', T, async () => {
    const srv = await startMcpd({ tools: [
      { kind: 'exec', name: 'broken', command: ['/nonexistent/program'],
        breaker: { min_calls: 2, failure_ratio: 0.5, cooldown_ms: 60000 } },
      { kind: 'exec', name: 'fine', command: ['echo', 'ok'] },
    ] });
    try {
      const c = await connectClient(srv.url, 'legacy');
      for (let i = 0; i < 2; i++) {
        const r = await c.callTool({ name: 'broken', arguments: {} });
        assert.equal(textOf(r), 'cannot run /nonexistent/program: no such file or directory');
      }
      const r = await c.callTool({ name: 'broken', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /^tool broken is unavailable: .*retry in \d/);
      assert.equal(textOf(await c.callTool({ name: 'fine', arguments: {} })), 'ok\n');
      await c.close();
    } finally {
      await stopChecked(srv);
    }
  });

  it('stays open across a reload that keeps its settings; changed settings start fresh', T, async () => {
    const breaker = { min_calls: 2, failure_ratio: 0.5, cooldown_ms: 600000 };
    const config = (b, extra = []) => ({ tools: [
      { kind: 'exec', name: 'broken', command: ['/nonexistent/program'], breaker: b, concurrency: 4 },
      ...extra,
    ] });
    const srv = await startMcpd(config(breaker));
    try {
      const c = await connectClient(srv.url, 'legacy');
      for (let i = 0; i < 2; i++) await c.callTool({ name: 'broken', arguments: {} });
      const open = /^tool broken is unavailable: .*retry in \d/;
      assert.match(textOf(await c.callTool({ name: 'broken', arguments: {} })), open);
      // a reload that changes another tool, not this one's breaker: still open
      srv.writeConfig(config(breaker, [{ kind: 'exec', name: 'added', command: ['echo', 'added'] }]));
      assert.equal(await srv.reload(), 'ok');
      await waitFor(async () => (await c.listTools()).tools.some((t) => t.name === 'added'), 'the reload served');
      assert.match(textOf(await c.callTool({ name: 'broken', arguments: {} })), open);
      // a changed breaker config: a fresh, closed breaker (the call reaches the backend again)
      srv.writeConfig(config({ ...breaker, min_calls: 3 }));
      assert.equal(await srv.reload(), 'ok');
      await waitFor(async () => !(await c.listTools()).tools.some((t) => t.name === 'added'), 'the second reload served');
      assert.equal(textOf(await c.callTool({ name: 'broken', arguments: {} })),
        'cannot run /nonexistent/program: no such file or directory');
      await c.close();
    } finally {
      await stopChecked(srv);
    }
  });
});

describe('health probes of exec tools', () => {
  it('a failing health command opens the tool\'s breaker, a passing one closes it', T, async () => {
    const tmp = tempDir();
    const flag = tmp.path('up');
    writeFileSync(flag, '');
    const srv = await startMcpd({ tools: [
      { kind: 'exec', name: 'backend', command: ['echo', 'served'],
        health: { command: ['test', '-e', flag], interval_ms: 200, timeout_ms: 2000, unhealthy_after: 1, healthy_after: 1 } },
      { kind: 'exec', name: 'other', command: ['echo', 'other'] },
    ] });
    try {
      const c = await connectClient(srv.url, 'legacy');
      assert.equal(textOf(await c.callTool({ name: 'backend', arguments: {} })), 'served\n');
      rmSync(flag);
      const down = await waitFor(async () => {
        const r = await c.callTool({ name: 'backend', arguments: {} });
        return r.isError ? r : null;
      }, 'the breaker to open after the failed probe');
      assert.match(textOf(down), /^tool backend is unavailable: .*health command test exited with status 1/);
      assert.equal(textOf(await c.callTool({ name: 'other', arguments: {} })), 'other\n');
      writeFileSync(flag, '');
      await waitFor(async () => !(await c.callTool({ name: 'backend', arguments: {} })).isError,
        'the breaker to close after a good probe');
      await c.close();
    } finally {
      await stopChecked(srv);
      tmp.cleanup();
    }
  });

  it('a breaker held open by probes is kept by a reload, and the next generation\'s first good probe closes it', T, async () => {
    const tmp = tempDir();
    const flag = tmp.path('up');
    // one probe at start, the next a minute later: the reload's first probe decides
    const backend = { kind: 'exec', name: 'backend', command: ['echo', 'served'],
      health: { command: ['test', '-e', flag], interval_ms: 60000, timeout_ms: 2000, unhealthy_after: 1, healthy_after: 1 } };
    const srv = await startMcpd({ tools: [backend] });
    try {
      const c = await connectClient(srv.url, 'legacy');
      await waitFor(async () => (await c.callTool({ name: 'backend', arguments: {} })).isError, 'the breaker held open');
      writeFileSync(flag, '');
      srv.writeConfig({ tools: [backend, { kind: 'exec', name: 'added', command: ['echo', 'added'] }] });
      assert.equal(await srv.reload(), 'ok');
      await waitFor(async () => (await c.listTools()).tools.some((t) => t.name === 'added'), 'the reload served');
      await waitFor(async () => !(await c.callTool({ name: 'backend', arguments: {} })).isError,
        'the kept breaker closed by the new generation\'s first good probe');
      await c.close();
    } finally {
      await stopChecked(srv);
      tmp.cleanup();
    }
  });
});

describe('reload on SIGHUP', () => {
  const base = (extra = []) => ({ tools: [
    { kind: 'exec', name: 'say', command: ['printf', '%s', '{text}'], arguments: { text: { type: 'string' } } },
    ...extra,
  ] });
  const extraTool = (name) => ({ kind: 'exec', name, command: ['echo', name] });

  for (const era of ['legacy', 'modern']) {
    it(`adds and removes tools, notifies list_changed (${era})`, T, async () => {
      const srv = await startMcpd(base());
      try {
        let changed = 0;
        const c = await connectClient(srv.url, era, { onListChanged: () => { changed++; } });
        if (era === 'modern') await sleep(300); // the listen stream opens after connect
        assert.deepEqual((await c.listTools()).tools.map((t) => t.name), ['say']);
        srv.writeConfig(base([extraTool('added')]));
        assert.equal(await srv.reload(), 'ok');
        await waitFor(async () => (await c.listTools()).tools.some((t) => t.name === 'added'), 'the new tool listed');
        assert.equal(textOf(await c.callTool({ name: 'added', arguments: {} })), 'added\n');
        if (era === 'legacy') await waitFor(() => changed > 0, 'notifications/tools/list_changed');
        srv.writeConfig(base());
        assert.equal(await srv.reload(), 'ok');
        await waitFor(async () => !(await c.listTools()).tools.some((t) => t.name === 'added'), 'the tool removed');
        await c.close();
      } finally {
        await stopChecked(srv);
      }
    });
  }

  it('a bad file is reported and the old config kept', T, async () => {
    const srv = await startMcpd(base());
    try {
      const c = await connectClient(srv.url, 'legacy');
      srv.writeConfig('{\n  "tools": [\n    {"kind": "exec", "name": "say", "command": []}\n  ]\n}');
      assert.equal(await srv.reload(), 'failed');
      assert.match(srv.stderr, /reload failed, keeping the current config/);
      assert.match(srv.stderr, /mcpd: error: \S+mcpd\.jsonc:3:48: \/tools\/0\/command: array has fewer than 1 item/);
      assert.equal(textOf(await c.callTool({ name: 'say', arguments: { text: 'kept' } })), 'kept');
      srv.writeConfig('{ "tools": [ }');
      assert.equal(await srv.reload(), 'failed');
      assert.equal(textOf(await c.callTool({ name: 'say', arguments: { text: 'kept2' } })), 'kept2');
      await c.close();
    } finally {
      await stopChecked(srv);
    }
  });

  it('a reload under load fails no call', T, async () => {
    const srv = await startMcpd(base());
    try {
      const clients = await Promise.all([connectClient(srv.url, 'legacy'), connectClient(srv.url, 'modern')]);
      let running = true;
      let ok = 0;
      const failures = [];
      const worker = async (c, w) => {
        for (let i = 0; running; i++) {
          try {
            const r = await c.callTool({ name: 'say', arguments: { text: `${w}-${i}` } });
            if (r.isError || textOf(r) !== `${w}-${i}`) failures.push(JSON.stringify(r)); else ok++;
          } catch (e) {
            failures.push(String(e));
          }
        }
      };
      const workers = [0, 1, 2, 3].map((w) => worker(clients[w % 2], w));
      for (let i = 0; i < 6; i++) {
        srv.writeConfig(base(i % 2 ? [] : [extraTool(`t${i}`)]));
        assert.equal(await srv.reload(), 'ok');
        await sleep(100);
      }
      running = false;
      await Promise.all(workers);
      assert.deepEqual(failures, []);
      assert.ok(ok > 6, `calls made during the reloads: ${ok}`);
      for (const c of clients) await c.close();
    } finally {
      await stopChecked(srv);
    }
  });
});

describe('HTTP auth: bearer tokens stored hashed, per-token tool allowlists', () => {
  const sha = (s) => createHash('sha256').update(s).digest('hex');
  const config = {
    auth: { tokens: [
      { name: 'ci', sha256: sha('ci-secret'), tools: ['say'] },
      { name: 'admin', sha256: sha('admin-secret') },
    ] },
    tools: [
      { kind: 'exec', name: 'say', command: ['printf', '%s', '{text}'], arguments: { text: { type: 'string' } } },
      { kind: 'exec', name: 'uptime', command: ['uptime'] },
    ],
  };
  const post = (url, headers = {}) => fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });

  it('no token, a wrong token or another scheme: 401 with WWW-Authenticate: Bearer', T, async () => {
    const srv = await startMcpd(config);
    try {
      for (const h of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic Y2k6Y2ktc2VjcmV0' }, { authorization: `Bearer ${sha('ci-secret')}` }]) {
        const r = await post(srv.url, h);
        assert.equal(r.status, 401, JSON.stringify(h));
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
        const body = await r.json();
        assert.match(body.error.message, /^Unauthorized: send a valid token as Authorization: Bearer <token>$/);
      }
      const ok = await post(srv.url, { authorization: 'bearer admin-secret' });
      assert.equal(ok.status, 200);
      await ok.text();
    } finally {
      await stopChecked(srv);
    }
  });

  for (const era of ['legacy', 'modern']) {
    it(`a token sees and calls only its tools (${era})`, T, async () => {
      const srv = await startMcpd(config, { listen: '0.0.0.0:0' }); // auth configured: allowed
      try {
        const url = srv.url.replace('0.0.0.0', '127.0.0.1');
        const ci = await connectClient(url, era, { headers: { Authorization: 'Bearer ci-secret' } });
        assert.deepEqual((await ci.listTools()).tools.map((t) => t.name), ['say']);
        assert.equal(textOf(await ci.callTool({ name: 'say', arguments: { text: 'hi' } })), 'hi');
        const denied = await ci.callTool({ name: 'uptime', arguments: {} }).then((r) => JSON.stringify(r), (e) => e.message);
        assert.match(denied, /Unknown tool: uptime/);
        const admin = await connectClient(url, era, { headers: { Authorization: 'Bearer admin-secret' } });
        assert.deepEqual((await admin.listTools()).tools.map((t) => t.name).sort(), ['say', 'uptime']);
        await ci.close();
        await admin.close();
      } finally {
        await stopChecked(srv);
      }
    });
  }

  it('a legacy session belongs to the token that opened it', T, async () => {
    const srv = await startMcpd(config);
    try {
      const init = await post(srv.url, { authorization: 'Bearer ci-secret' });
      assert.equal(init.status, 200);
      await init.text();
      const sid = init.headers.get('mcp-session-id');
      assert.ok(sid);
      const list = (token) => fetch(srv.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
          'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
      });
      const other = await list('admin-secret');
      assert.equal(other.status, 404, 'another token is told the session does not exist');
      assert.match((await other.json()).error.message, /Session not found/);
      const own = await list('ci-secret');
      assert.equal(own.status, 200);
      assert.match(await own.text(), /"name":"say"/);
    } finally {
      await stopChecked(srv);
    }
  });

  it('a reload that drops every token on a non-loopback address is refused', T, async () => {
    const srv = await startMcpd(config, { listen: '0.0.0.0:0' });
    try {
      srv.writeConfig({ tools: config.tools });
      assert.equal(await srv.reload(), 'failed');
      assert.match(srv.stderr, /the new config has no auth tokens, but mcpd serves a non-loopback address/);
      const r = await post(srv.url.replace('0.0.0.0', '127.0.0.1'));
      assert.equal(r.status, 401);
    } finally {
      await stopChecked(srv);
    }
  });
});
