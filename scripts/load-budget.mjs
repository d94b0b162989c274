// Latency under load, held to a budget: starts the release binary on a fresh database with the
// demo data, signs in, and sends concurrent requests to the results API and the results page.
// Prints p50/p95/p99 and throughput; exits non-zero when a p95 is over its budget.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PORT = Number(process.env.LOAD_PORT ?? 3200);
const BASE = `http://127.0.0.1:${PORT}`;
const TOTAL = Number(process.env.LOAD_REQUESTS ?? 400);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 16);
// p95 budgets in milliseconds, on a 2-core machine with every request writing its audit entry.
const BUDGETS = { 'POST /api/results/list': 250, 'GET /results': 400 };

const dir = mkdtempSync(join(tmpdir(), 'mhc-load-'));
const server = spawn('./target/release/mhc', ['serve'], {
  env: {
    ...process.env,
    PORTAL_DATA_DIR: dir,
    PORTAL_DEMO: '1',
    PORTAL_ADDR: `127.0.0.1:${PORT}`,
    RUST_LOG: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const stop = () => {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};

async function waitUp() {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the portal did not start');
}

async function signIn() {
  const res = await fetch(`${BASE}/api/auth/sign_in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: 'login=dara.dummett&password=Maple-Lantern-Harbor-42',
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  if (res.status !== 200 || !cookie.startsWith('__Host-mhc_session=')) {
    throw new Error(`sign-in failed: ${res.status}`);
  }
  return cookie;
}

async function load(name, request) {
  const times = [];
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < TOTAL) {
      next++;
      const t0 = performance.now();
      const res = await request();
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${name}: status ${res.status}`);
      times.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  return { name, n: times.length, rps: times.length / seconds, p50: pct(50), p95: pct(95), p99: pct(99) };
}

let failed = false;
try {
  await waitUp();
  const cookie = await signIn();
  const api = () =>
    fetch(`${BASE}/api/results/list`, { method: 'POST', headers: { cookie, accept: 'application/json' } });
  const page = () => fetch(`${BASE}/results`, { headers: { cookie, accept: 'text/html' } });
  for (let i = 0; i < 20; i++) await (await api()).arrayBuffer(); // warm-up
  for (const [name, req] of [
    ['POST /api/results/list', api],
    ['GET /results', page],
  ]) {
    const r = await load(name, req);
    const budget = BUDGETS[name];
    const over = r.p95 > budget;
    failed ||= over;
    console.log(
      `${name}: ${r.n} requests, ${CONCURRENCY} at a time: ${r.rps.toFixed(0)}/s, ` +
        `p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms ` +
        `(budget p95 ${budget} ms)${over ? '  OVER BUDGET' : ''}`,
    );
  }
} catch (e) {
  console.error(String(e));
  failed = true;
} finally {
  stop();
}
process.exit(failed ? 1 : 0);
