// `make bench`: measures the release binary and writes docs/PERFORMANCE.md. Not part of
// `make test` (the figures depend on the machine; the budgets that are deterministic, such as
// sizes, are tests).
//
// For SQLite, and for PostgreSQL when it answers on 127.0.0.1:5432:
// - fixed-rate (open-loop) reads of the results list at 100 to 1600 a second: p50, p99, errors;
//   latency counts from when each request was due, so a stalled server cannot hide its queue;
// - sign-ins a second (right password, 4 at a time) against the machine's cores divided by
//   the time of one sign-in alone;
// - a distributed flood of unknown-account sign-ins (200 a second from 1,000 loopback
//   addresses) with the results list's p99 beside it, against the same list when quiet.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';

const PORT = Number(process.env.BENCH_PORT ?? 3400);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RATES = (process.env.BENCH_RATES ?? '100,200,400,800,1600').split(',').map(Number);
const PASSWORD = 'Maple-Lantern-Harbor-42';

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** One request; resolves with its status (0 when the connection failed). */
function request(method, path, { cookie, body, localAddress } = {}) {
  return new Promise((resolve) => {
    const headers = { accept: 'application/json', host: `127.0.0.1:${PORT}` };
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(
      { host: '127.0.0.1', port: PORT, method, path, headers, agent: localAddress ? undefined : agent, localAddress },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0) }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function startServer(env) {
  const dir = mkdtempSync(join(os.tmpdir(), 'mhc-bench-'));
  const server = spawn('./target/release/mhc', ['serve'], {
    env: { ...process.env, PORTAL_DATA_DIR: dir, PORTAL_DEMO: '1', PORTAL_ADDR: `127.0.0.1:${PORT}`, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    async up() {
      for (let i = 0; i < 240; i++) {
        if ((await request('GET', '/healthz')).status === 200) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error('the portal did not start');
    },
    stop() {
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function signIn() {
  const r = await request('POST', '/api/auth/sign_in', { body: `login=dara.dummett&password=${PASSWORD}` });
  const cookie = String(r.headers['set-cookie'] ?? '').split(';')[0];
  if (r.status !== 200 || !cookie.includes('mhc_session=')) throw new Error(`sign-in failed: ${r.status}`);
  return cookie;
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

/** Sends `make()` at `rate` a second for `seconds`, on schedule whatever the answers do. */
async function openLoop(rate, seconds, make) {
  const total = Math.round(rate * seconds);
  const times = [];
  const statuses = {};
  const pending = [];
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const scheduled = start + (sent / rate) * 1000;
      const i = sent;
      pending.push(
        make(i).then((r) => {
          times.push(performance.now() - scheduled);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  times.sort((a, b) => a - b);
  return { n: total, p50: pct(times, 50), p99: pct(times, 99), max: times[times.length - 1], statuses };
}

const errors = (s, ok) => Object.entries(s).filter(([k]) => !ok.includes(Number(k))).reduce((n, [, v]) => n + v, 0);
const ms = (x) => `${x.toFixed(1)} ms`;

async function benchDatabase(label, env) {
  const server = startServer(env);
  const lines = [];
  try {
    await server.up();
    const cookie = await signIn();
    const list = () => request('POST', '/api/results/list', { cookie, body: '' });
    for (let i = 0; i < 50; i++) await list();

    lines.push(`### ${label}`, '', '**Results list, fixed rate** (`POST /api/results/list`, every read audited):', '');
    lines.push('| rate (/s) | requests | p50 | p99 | max | errors |', '|---:|---:|---:|---:|---:|---:|');
    let quiet;
    for (const rate of RATES) {
      const r = await openLoop(rate, SECONDS, list);
      if (rate === 100) quiet = r;
      lines.push(`| ${rate} | ${r.n} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${errors(r.statuses, [200])} |`);
    }

    // One sign-in alone, then four at a time for the throughput.
    const one = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await request('POST', '/api/auth/sign_in', { body: `login=dara.dummett&password=${PASSWORD}` });
      one.push(performance.now() - t0);
    }
    one.sort((a, b) => a - b);
    const single = one[2];
    let done = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (performance.now() < until) {
          const r = await request('POST', '/api/auth/sign_in', { body: `login=dara.dummett&password=${PASSWORD}` });
          if (r.status === 200) done++;
        }
      }),
    );
    const perSecond = done / SECONDS;
    const ceiling = os.cpus().length / (single / 1000);
    lines.push('', `**Sign-ins:** one alone takes ${ms(single)}; ${perSecond.toFixed(1)} a second four at a time, against ${ceiling.toFixed(1)} for all ${os.cpus().length} cores hashing (ratio ${(perSecond / ceiling).toFixed(2)}; the hashing pool leaves a core to the reads).`);

    // The flood: unknown accounts from many loopback addresses, with reads beside it.
    const flood = openLoop(200, SECONDS, (i) =>
      request('POST', '/api/auth/sign_in', {
        body: `login=nobody.${label.length}.${i}&password=Wrong-password-${i}`,
        localAddress: `127.0.${1 + Math.floor((i % 1000) / 250)}.${1 + (i % 250)}`,
      }),
    );
    const reads = openLoop(100, SECONDS, list);
    const [f, r] = await Promise.all([flood, reads]);
    lines.push('', `**Sign-in flood** (200 a second, each from another of 1,000 loopback addresses, each for an unknown account): answers ${JSON.stringify(f.statuses)}, sign-in p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)}. Results list at 100/s meanwhile: p99 ${ms(r.p99)} against ${ms(quiet.p99)} quiet (ratio ${(r.p99 / quiet.p99).toFixed(2)}), errors ${errors(r.statuses, [200])}.`, '');
  } finally {
    server.stop();
  }
  return lines;
}

function pgUrl() {
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', 'DROP DATABASE IF EXISTS mhc_bench'], { stdio: 'ignore' });
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', 'CREATE DATABASE mhc_bench'], { stdio: 'ignore' });
    return 'postgres://postgres@127.0.0.1:5432/mhc_bench';
  } catch {
    return null;
  }
}

const out = [
  '# Performance',
  '',
  'Written by `make bench` (scripts/bench.mjs) against the release binary; the load comes from the same machine.',
  '',
  `- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
  `- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${SECONDS} s a step`,
  '',
  '## First visit (Chromium, cold cache)',
  '',
];
const firstLoad = 'target/first-load.json';
if (existsSync(firstLoad)) {
  for (const [page, bytes] of Object.entries(JSON.parse(readFileSync(firstLoad, 'utf8')))) {
    out.push(`- ${page}: ${bytes.toLocaleString('en')} bytes on the wire`);
  }
  out.push('', 'From the last `end2end/tests/first-load.spec.ts` run (part of `make test`).', '');
} else {
  out.push('Not measured: run `make test` (the first-load spec writes target/first-load.json) first.', '');
}
out.push('## Reads and sign-ins', '');
out.push(...(await benchDatabase('SQLite (embedded)', {})));
const pg = pgUrl();
if (pg) out.push(...(await benchDatabase('PostgreSQL', { DATABASE_URL: pg })));
else out.push('PostgreSQL was not answering on 127.0.0.1:5432: not measured.', '');
writeFileSync('docs/PERFORMANCE.md', out.join('\n'));
console.log(out.join('\n'));
process.exit(0);
