// Starts the real gateway jar through the launcher (its JVM flags) on a free port with the default config
// (mock models only, provider keys removed from its environment so no traffic leaves the machine) and a
// data directory of its own, or uses NEMO_BASE_URL. masterKey turns virtual keys on; config (HOCON text) replaces
// the default config.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function startGateway({ masterKey, config } = {}) {
  if (process.env.NEMO_BASE_URL) {
    return { baseURL: process.env.NEMO_BASE_URL, stop: async () => {} };
  }
  const jar = path.join(root, 'server/target/nemo-router.jar');
  if (!existsSync(jar)) {
    throw new Error(`${jar} is missing: build it with "mvn -B -DskipTests package" first`);
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nemo-e2e-'));
  const env = { ...process.env, NEMO_JAR: jar, NEMO_DATA_DIR: dataDir };
  delete env.OPENAI_API_KEY;
  delete env.GEMINI_API_KEY;
  delete env.NEMO_MASTER_KEY;
  if (masterKey) env.NEMO_MASTER_KEY = masterKey;
  let configFile = path.join(root, 'conf/nemo-router.conf');
  if (config) {
    configFile = path.join(dataDir, 'nemo-router.conf');
    writeFileSync(configFile, config);
  }
  const child = spawn(path.join(root, 'scripts/nemo-router'), ['--config', configFile, '--port', '0'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const baseURL = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway did not start in 30s:\n' + log)), 30_000);
    const onData = (d) => {
      log += d;
      const m = /ready on (http:\/\/[^\s]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${log}`)));
  });
  const stop = () => new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    });
    child.kill('SIGTERM');
  });
  return { baseURL, stop };
}

// Starts a provider stand-in (io.nemorouter.providers.standin.StandInServer) from the gateway's jar on a free
// loopback port: api is "anthropic", "azure", ...; extra are more arguments (--key K, --chunk-delay-ms N).
export async function startStandIn(api, extra = []) {
  const jar = path.join(root, 'server/target/nemo-router.jar');
  const child = spawn('java', ['-cp', jar, 'io.nemorouter.providers.standin.StandInServer', '--api', api, '--port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${api} stand-in did not start in 20s:\n` + log)), 20_000);
    const onData = (d) => {
      log += d;
      const m = /listening on [^:\s]+:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${api} stand-in exited with ${code}:\n${log}`)));
  });
  const stop = () => new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return { port, baseURL: `http://127.0.0.1:${port}`, stop };
}
