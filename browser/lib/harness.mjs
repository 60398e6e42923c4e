// The browser tests' world: a real `patron serve` and a real `patron listrak-sim`, each its own process on
// a free port with its own temporary folder, and headless Chromium driven by playwright-core.
//
// The Patron binary comes from PATRON_BIN, or target/debug/patron (scripts/test builds it first).
// Chromium comes from CHROMIUM, or /usr/bin/chromium (Debian's package); Playwright never downloads one.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const ADMIN_TOKEN = 'browser-tests-admin-token';
export const LISTRAK_CLIENT_ID = 'browser-client';
export const LISTRAK_CLIENT_SECRET = 'browser-secret-do-not-leak';
export const ARTIFACTS =
  process.env.PATRON_BROWSER_ARTIFACTS || path.join(ROOT, 'test-artifacts', 'browser');

const patronBin = () => process.env.PATRON_BIN || path.join(ROOT, 'target', 'debug', 'patron');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url, child, log) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${url}: the process exited with ${child.exitCode}:\n${readFileSync(log, 'utf8')}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up:\n${readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(args, env, dir, name) {
  const log = path.join(dir, `${name}.log`);
  const out = openSync(log, 'a');
  const child = spawn(patronBin(), args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  return { child, log };
}

/**
 * Starts the Listrak emulator (with one integration whose credentials the tests type into the console)
 * and `patron serve` pointed at it, on SQLite in a temporary folder. `env` adds or overrides PATRON_*
 * settings. Call `stop()` when done.
 */
export async function startPatron(env = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'patron-browser-'));
  const simPort = await freePort();
  const sim = start(
    [
      'listrak-sim',
      '--listen',
      `127.0.0.1:${simPort}`,
      '--client-id',
      LISTRAK_CLIENT_ID,
      '--client-secret',
      LISTRAK_CLIENT_SECRET,
    ],
    {},
    dir,
    'listrak-sim',
  );
  const simBase = `http://127.0.0.1:${simPort}`;
  await waitFor(`${simBase}/_sim/state`, sim.child, sim.log);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serve = start(
    ['serve'],
    {
      PATRON_DATABASE_URL: `sqlite://${path.join(dir, 'patron.db')}`,
      PATRON_LISTEN: `127.0.0.1:${port}`,
      PATRON_PUBLIC_URL: base,
      PATRON_ADMIN_TOKEN: ADMIN_TOKEN,
      PATRON_SECRET_KEY: '33'.repeat(32),
      PATRON_MAIL_DIR: path.join(dir, 'mail'),
      PATRON_LISTRAK_AUTH_URL: simBase,
      PATRON_LISTRAK_API_URL: `${simBase}/email`,
      PATRON_RETRY_BASE_MS: '50',
      PATRON_RETRY_MAX_MS: '200',
      PATRON_RETRY_ATTEMPTS: '2',
      PATRON_LOG: 'info',
      ...env,
    },
    dir,
    'patron',
  );
  await waitFor(`${base}/healthz`, serve.child, serve.log);

  return {
    base,
    simBase,
    dir,
    log: serve.log,
    async stop() {
      for (const p of [serve.child, sim.child]) {
        if (p.exitCode === null) {
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          await exited;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Calls Patron's (or the emulator's) JSON API and returns `{status, body}`; throws on no answer. */
export async function api(base, method, route, { token, body, headers = {} } = {}) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Creates a program through the instance-admin API: `{id, api_key, member_token_secret}`. */
export async function createProgram(base, name = 'Acme Outdoors') {
  const res = await api(base, 'POST', '/v1/programs', { token: ADMIN_TOKEN, body: { name } });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`creating a program answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/** Signs a member token exactly as the README tells store developers to (JWT HS256, `sub`, `exp`). */
export function memberToken(secret, externalId, ttlSeconds = 3600) {
  const b64 = (buf) => Buffer.from(buf).toString('base64url');
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64(
    JSON.stringify({ sub: externalId, exp: Math.floor(Date.now() / 1000) + ttlSeconds }),
  );
  const signature = crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${b64(signature)}`;
}

/** Headless Chromium from the system, with the flags a closed network needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves a full-page screenshot as a test artifact: test-artifacts/browser/<suite>/<name>.png. */
export async function screenshot(page, suite, name) {
  const dir = path.join(ARTIFACTS, suite);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** Polls `check` until it returns a truthy value (no fixed sleeps); fails with `what` after 30 s. */
export async function eventually(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
