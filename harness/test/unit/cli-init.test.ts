/** `zerodrop init`: a commented scenario that validates, written once, never over a file. */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { initScenario, renderInitScenario, scenarioName, splitCommand } from '../../src/cli/init.js';
import { parseScenarioText } from '../../src/scenario/load.js';

const roots: string[] = [];
/** A fresh directory named like a service (init derives the scenario's name from it). */
function tempDir(name = 'my-service'): string {
  const root = mkdtempSync(join(tmpdir(), 'zd-init-'));
  roots.push(root);
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function usageError(fn: () => unknown): ZerodropError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ZerodropError);
    expect((err as ZerodropError).exitCode).toBe(2);
    expect((err as ZerodropError).fix).toBeTruthy();
    return err as ZerodropError;
  }
  throw new Error('expected a usage error');
}

describe('splitCommand', () => {
  it.each([
    ['node server.js', ['node', 'server.js']],
    ['  node   "my server.js" --x=\'a b\'', ['node', 'my server.js', '--x=a b']],
    ['python3 -m http.server', ['python3', '-m', 'http.server']],
    ['a\\ b ""', ['a b', '']],
  ])('%j', (text, argv) => expect(splitCommand(text)).toEqual(argv));
  it('an unclosed quote is a usage error', () => expect(usageError(() => splitCommand('node "x')).message).toMatch(/unclosed/));
});

describe('zerodrop init', () => {
  it('--command: a commented scenario that the loader accepts, and the next command', () => {
    const dir = tempDir('My Service');
    const out = initScenario({ command: 'node server.js', image: null, url: null }, 'zerodrop.yaml', dir);
    expect(out.next).toBe('zerodrop run zerodrop.yaml');
    const text = readFileSync(join(dir, 'zerodrop.yaml'), 'utf8');
    expect(text).toBe(out.text);
    expect(text).toMatch(/^# zerodrop scenario/);
    expect(text.match(/#/g)!.length).toBeGreaterThan(10);
    const { scenario } = parseScenarioText(text, 'zerodrop.yaml');
    expect(scenario.name).toBe('my-service');
    expect(scenario.target.command).toEqual(['node', 'server.js']);
    expect(scenario.timeline.map((s) => s.action)).toEqual(['rollout', 'crash-zone', 'recover-zone']);
  });

  it('--image: the docker runtime, the image rolled out again as v2', () => {
    const dir = tempDir();
    initScenario({ command: null, image: 'registry.local/myapp:v1', url: null }, 'app.yaml', dir);
    const { scenario } = parseScenarioText(readFileSync(join(dir, 'app.yaml'), 'utf8'));
    expect(scenario.runtime).toBe('docker');
    expect(scenario.target.image).toBe('registry.local/myapp:v1');
    expect(scenario.timeline[0]).toMatchObject({ action: 'rollout', version: 'v2', image: 'registry.local/myapp:v1' });
  });

  it('--url writes target mode (target: { url }) or, where the schema has no target mode, refuses and writes nothing', () => {
    const text = renderInitScenario({ kind: 'url', url: 'http://127.0.0.1:8080/' }, 'svc');
    expect(text).toMatch(/target:\n {2}url: "http:\/\/127\.0\.0\.1:8080\/"/);
    const dir = tempDir();
    let written = false;
    try {
      initScenario({ command: null, image: null, url: 'http://127.0.0.1:8080/' }, 'u.yaml', dir);
      written = true;
    } catch (err) {
      expect((err as ZerodropError).code).toBe('ZD_BAD_USAGE');
      expect((err as ZerodropError).message).toMatch(/target mode/);
    }
    expect(readdirSync(dir)).toEqual(written ? ['u.yaml'] : []);
  });

  it('never overwrites a file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'zerodrop.yaml'), 'mine\n');
    const err = usageError(() => initScenario({ command: 'node s.js', image: null, url: null }, 'zerodrop.yaml', dir));
    expect(err.message).toMatch(/already exists/);
    expect(readFileSync(join(dir, 'zerodrop.yaml'), 'utf8')).toBe('mine\n');
  });

  it('needs exactly one of --command, --image, --url; writes nothing otherwise', () => {
    const dir = tempDir();
    expect(usageError(() => initScenario({ command: null, image: null, url: null }, 'a.yaml', dir)).message).toMatch(/how your service starts/);
    expect(usageError(() => initScenario({ command: 'x', image: 'y:1', url: null }, 'a.yaml', dir)).message).toMatch(/--command, --image/);
    expect(usageError(() => initScenario({ command: null, image: null, url: 'ftp://x' }, 'a.yaml', dir)).message).toMatch(/http/);
    expect(usageError(() => initScenario({ command: '   ', image: null, url: null }, 'a.yaml', dir)).message).toMatch(/empty/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('derives a valid scenario name from any directory name', () => {
    expect(scenarioName('/x/My Service')).toBe('my-service');
    expect(scenarioName('/x/42')).toBe('svc-42');
    expect(scenarioName('/x/___')).toBe('svc-service');
  });
});
