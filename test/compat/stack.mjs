// Starts the Python mock upstream (test/integration/mock_upstream.py, the one mock implementation)
// and kt in front of it, for the SDK compatibility tests. KT_BIN = kt binary under test.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import http from 'node:http';
import { createInterface } from 'node:readline';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
export const KT_BIN = resolve(process.env.KT_BIN || join(ROOT, "build", "san", "kt"));
export const HAVE_KT = existsSync(KT_BIN);

export const KEYS = {
  openai: 'sk-upstream-openai-compat-1f2e3d',
  anthropic: 'sk-ant-upstream-compat-4c5b6a',
  azure: 'az-upstream-compat-7d8e9f',
  client: 'sk-client-compat-never-forwarded-9z8y',
};

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function startMock(dir) {
  const p = spawn('python3', [join(ROOT, 'test', 'integration', 'mock_upstream.py'), '--port', '0',
    '--pki-dir', join(dir, 'pki')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    const rl = createInterface({ input: p.stdout });
    const timer = setTimeout(() => rej(new Error('mock did not start')), 15000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      res({ proc: p, info: JSON.parse(line) });
    });
    p.once('exit', (code) => rej(new Error(`mock exited ${code}`)));
  });
}

function get(port, path, timeoutMs = 1000) {
  return new Promise((res, rej) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode));
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

// opts.extraYaml: more top-level config (e.g. a policies: / policy: section), appended as is.
// opts.extraGateway: more gateway: keys (YAML, 2-space indent).
// opts.extraTargets(mockUrl, downPort): more entries of providers.targets (YAML, 4-space indent).
export async function startStack(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kt-compat-'));
  const mock = await startMock(dir);
  const mockUrl = `https://localhost:${mock.info.port}`;
  const downPort = await freePort();
  const yaml = `pack:
  name: compat
  version: 1.0.0
gateway:
  upstream_connect_timeout: 2s
  upstream_first_byte_timeout: 3s
  drain_period: 200ms
  shutdown_deadline: 3s
  max_header_bytes: 64KiB
${opts.extraGateway || ''}providers:
  targets:
    - id: openai-main
      provider: openai
      model: gpt-4o-mini
      base_url: ${mockUrl}/v1
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: claude
      provider: anthropic
      model: claude-3-5-sonnet
      base_url: ${mockUrl}
      secret_key_ref:
        env: ANTHROPIC_API_KEY
    - id: down
      provider: openai
      base_url: https://localhost:${downPort}/v1
      secret_key_ref:
        env: OPENAI_API_KEY
    - id: claude-down
      provider: anthropic
      base_url: https://localhost:${downPort}
      secret_key_ref:
        env: ANTHROPIC_API_KEY
${opts.extraTargets ? opts.extraTargets(mockUrl, downPort) : ''}${opts.extraYaml || ''}`;
  const cfg = join(dir, 'policy-config.yaml');
  writeFileSync(cfg, yaml);
  const port = await freePort();
  const stderrPath = join(dir, 'kt.stderr');
  const env = { ...process.env, SSL_CERT_FILE: mock.info.ca, OPENAI_API_KEY: KEYS.openai,
    ANTHROPIC_API_KEY: KEYS.anthropic, AZURE_OPENAI_KEY: KEYS.azure };
  delete env.KEEPTRUSTS_API_URL;
  delete env.OPENAI_BASE_URL;
  const { openSync } = await import('node:fs');
  const errFd = openSync(stderrPath, 'w');
  const kt = spawn(KT_BIN, ['gateway', 'run', '--listen', `127.0.0.1:${port}`, '--policy-config', cfg],
    { env, stdio: ['ignore', errFd, errFd] });
  let exited = null;
  const exitP = new Promise((res) => kt.once('exit', (code, sig) => { exited = { code, sig }; res(exited); }));
  const deadline = Date.now() + 10000;
  for (;;) {
    if (exited) throw new Error(`kt exited during startup: ${JSON.stringify(exited)}\n${readFileSync(stderrPath, 'utf8')}`);
    try {
      if ((await get(port, '/healthz')) === 200) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      kt.kill('SIGKILL');
      throw new Error('kt did not become healthy within 10 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ca = readFileSync(mock.info.ca);
  const mockCall = (method, path) => new Promise((res, rej) => {
    const req = https.request({ host: 'localhost', port: mock.info.port, path, method, ca }, (r) => {
      let b = '';
      r.setEncoding('utf8');
      r.on('data', (d) => { b += d; });
      r.on('end', () => res(JSON.parse(b)));
    });
    req.on('error', rej);
    req.end();
  });
  return {
    port,
    baseURL: `http://127.0.0.1:${port}`,
    mockRequests: () => mockCall('GET', '/__mock/requests'),
    mockReset: () => mockCall('POST', '/__mock/reset'),
    stderr: () => readFileSync(stderrPath, 'utf8'),
    async stop() {
      if (!exited) kt.kill('SIGTERM');
      const r = await Promise.race([exitP, new Promise((res) => setTimeout(() => res(null), 10000))]);
      if (!r) kt.kill('SIGKILL');
      mock.proc.stdin.end();
      mock.proc.kill('SIGTERM');
      return r;
    },
  };
}

export function header(rec, name) {
  const h = rec.headers.find(([k]) => k.toLowerCase() === name);
  return h ? h[1] : undefined;
}
