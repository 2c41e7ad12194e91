/**
 * The endpoint table on a fake clock: round-robin, retries to a different replica, the draining
 * fallback (KEP-1669), passive and active ejection, the way back, zone ejection, no panic mode.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../common/src/clock.js';
import { type Endpoint, EndpointTable, type EndpointTableConfig } from '../../src/proxy/endpoints.js';
import type { ProxyEvent } from '../../src/proxy/types.js';

class FakeClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

const CONFIG: EndpointTableConfig = {
  ejection: { consecutiveFailures: 3, minEjectionMs: 1000, zoneEjectionThreshold: 2, zoneWindowMs: 2000 },
  healthCheck: { unhealthyThreshold: 2, healthyThreshold: 2 },
};

function table(
  ids: Array<[string, string]>,
  config: EndpointTableConfig = CONFIG,
): { t: EndpointTable; clock: FakeClock; events: ProxyEvent[]; ep: (id: string) => Endpoint } {
  const clock = new FakeClock();
  const events: ProxyEvent[] = [];
  const t = new EndpointTable(config, clock, (e) => events.push(e));
  for (const [id, zone] of ids) t.add({ id, zone, host: '127.0.0.1', port: 1, version: 'v1' });
  return { t, clock, events, ep: (id) => t.get(id) as Endpoint };
}

const picks = (t: EndpointTable, n: number): string[] => Array.from({ length: n }, () => t.pick(null)?.id ?? '-');

describe('routing', () => {
  it('round-robin over active endpoints', () => {
    const { t } = table([
      ['r1', 'a'],
      ['r2', 'a'],
      ['r3', 'b'],
    ]);
    expect(picks(t, 6)).toEqual(['r1', 'r2', 'r3', 'r1', 'r2', 'r3']);
  });
  it('a retry never goes to a replica already tried', () => {
    const { t, ep } = table([
      ['r1', 'a'],
      ['r2', 'a'],
      ['r3', 'b'],
    ]);
    for (let i = 0; i < 10; i++) {
      const p = t.pick([ep('r1'), ep('r2')]);
      expect(p?.id).toBe('r3');
    }
    expect(t.pick([ep('r1'), ep('r2'), ep('r3')])).toBeNull();
  });
  it("retries turn their own cursor: a dead replica does not become everyone's first pick", () => {
    const { t, ep } = table([
      ['dead', 'a'],
      ['r2', 'a'],
      ['r3', 'a'],
    ]);
    const first: string[] = [];
    const retried: string[] = [];
    for (let i = 0; i < 6; i++) {
      const p = t.pick(null) as Endpoint;
      first.push(p.id);
      if (p.id === 'dead') retried.push(t.pick([ep('dead')])?.id ?? '-');
    }
    expect(first).toEqual(['dead', 'r2', 'r3', 'dead', 'r2', 'r3']);
    expect(retried).toEqual(['r2', 'r3']); // spread, not all on one neighbour
  });
  it('a retry goes to a zone none of its failed tries was in, while there is one; then to the failed zone', () => {
    // Zone b holds three replicas: a retry that only avoided the replicas tried could spend all
    // three tries in a dead zone b (b1 → b2 → b3).
    const { t, ep } = table([
      ['a1', 'a'],
      ['b1', 'b'],
      ['b2', 'b'],
      ['b3', 'b'],
      ['c1', 'c'],
    ]);
    const second: string[] = [];
    for (let i = 0; i < 6; i++) second.push(t.pick([ep('b1')])?.id ?? '-');
    expect(second).toEqual(['a1', 'c1', 'a1', 'c1', 'a1', 'c1']);
    expect(t.pick([ep('b1'), ep('a1')])?.id).toBe('c1');
    // Every zone has failed this request: any replica not tried yet.
    expect(t.pick([ep('b1'), ep('a1'), ep('c1')])?.id).toMatch(/^b[23]$/);
    // One zone only: the old rule, a replica not tried yet.
    const one = table([
      ['r1', 'a'],
      ['r2', 'a'],
    ]);
    expect(one.t.pick([one.ep('r1')])?.id).toBe('r2');
  });
  it('draining endpoints leave the rotation but serve when nothing else is left (ProxyTerminatingEndpoints)', () => {
    const { t, ep } = table([
      ['r1', 'a'],
      ['r2', 'a'],
    ]);
    t.setAdmin(ep('r1'), 'draining');
    expect(picks(t, 4)).toEqual(['r2', 'r2', 'r2', 'r2']);
    t.setAdmin(ep('r2'), 'removed');
    expect(picks(t, 2)).toEqual(['r1', 'r1']);
    t.setAdmin(ep('r1'), 'removed');
    expect(t.pick(null)).toBeNull();
  });
  it('no panic mode: ejected endpoints are never picked; the last routable one is never ejected', () => {
    const { t, ep, events } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r1'));
    expect(picks(t, 3)).toEqual(['r2', 'r2', 'r2']);
    // r2 fails as much, but ejecting it would leave nothing: a starved machine makes every
    // replica look slow at once, and a total outage of 503s is worse than a slow replica.
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r2'));
    expect(ep('r2').state).toBe('active');
    expect(picks(t, 2)).toEqual(['r2', 'r2']);
    expect(events.some((e) => e.type === 'endpoint.ejection-skipped' && e.replica === 'r2')).toBe(true);
    for (let i = 0; i < 2; i++) t.recordHealthCheck(ep('r2'), false);
    expect(ep('r2').state).toBe('active');
  });
});

describe('passive ejection and the way back', () => {
  it('ejects after consecutiveFailures local-origin failures in a row; a response resets the count', () => {
    const { t, ep, events } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    t.recordFailure(ep('r1'));
    t.recordFailure(ep('r1'));
    t.recordResponse(ep('r1'));
    t.recordFailure(ep('r1'));
    t.recordFailure(ep('r1'));
    expect(ep('r1').state).toBe('active');
    t.recordFailure(ep('r1'));
    expect(ep('r1').state).toBe('ejected');
    expect(ep('r1').ejections).toBe(1);
    expect(events.filter((e) => e.type === 'endpoint.ejected')).toEqual([
      { t: 1000, type: 'endpoint.ejected', replica: 'r1', zone: 'a', reason: 'consecutive_failures' },
    ]);
  });
  it('returns only after healthyThreshold passing checks AND minEjectionMs', () => {
    const { t, ep, clock } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r1'));
    t.recordHealthCheck(ep('r1'), true);
    t.recordHealthCheck(ep('r1'), true);
    t.recordHealthCheck(ep('r1'), true);
    expect(ep('r1').state).toBe('ejected'); // passes, but too early
    clock.t += 1000;
    t.recordHealthCheck(ep('r1'), true);
    expect(ep('r1').state).toBe('active');
  });
  it('a failed check in between restarts the count of passes', () => {
    const { t, ep, clock } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r1'));
    clock.t += 5000;
    t.recordHealthCheck(ep('r1'), true);
    t.recordHealthCheck(ep('r1'), false);
    t.recordHealthCheck(ep('r1'), true);
    expect(ep('r1').state).toBe('ejected');
    t.recordHealthCheck(ep('r1'), true);
    expect(ep('r1').state).toBe('active');
  });
  it('active checks eject after unhealthyThreshold failures', () => {
    const { t, ep, events } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    t.recordHealthCheck(ep('r1'), false);
    expect(ep('r1').state).toBe('active');
    t.recordHealthCheck(ep('r1'), false);
    expect(ep('r1').state).toBe('ejected');
    expect(events.at(-1)?.reason).toBe('health_check');
  });
  it('adding an endpoint that is already serving changes nothing (it stays ejected if it was)', () => {
    const { t, ep, events } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r1'));
    const n = events.length;
    t.add({ id: 'r1', zone: 'a', host: '127.0.0.1', port: 1, version: 'v1' });
    expect(ep('r1').state).toBe('ejected');
    expect(events).toHaveLength(n);
  });
  it('a draining endpoint added again serves again, keeping its ejection', () => {
    const { t, ep } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    t.setAdmin(ep('r1'), 'draining');
    t.add({ id: 'r1', zone: 'a', host: '127.0.0.1', port: 1, version: 'v1' });
    expect(ep('r1').state).toBe('active');
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r1'));
    t.setAdmin(ep('r1'), 'draining');
    t.add({ id: 'r1', zone: 'a', host: '127.0.0.1', port: 1, version: 'v1' });
    expect(ep('r1').state).toBe('ejected');
  });
  it('a drained endpoint put back (addEndpoint again) is active with fresh counters', () => {
    const { t, ep } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('r1'));
    t.setAdmin(ep('r1'), 'removed');
    t.add({ id: 'r1', zone: 'a', host: '127.0.0.1', port: 2, version: 'v2' });
    expect(ep('r1').state).toBe('active');
    expect(ep('r1').port).toBe(2);
    expect(ep('r1').version).toBe('v2');
  });
});

describe('zone ejection', () => {
  const zones: Array<[string, string]> = [
    ['a1', 'a'],
    ['a2', 'a'],
    ['b1', 'b'],
    ['b2', 'b'],
    ['b3', 'b'],
  ];
  it('two replicas of zone b ejected within the window eject all of zone b, the healthy-looking b3 included', () => {
    const { t, ep, clock, events } = table(zones);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b1'));
    expect(ep('b3').state).toBe('active');
    clock.t += 1500;
    t.recordHealthCheck(ep('b2'), false);
    t.recordHealthCheck(ep('b2'), false);
    expect(ep('b1').state).toBe('ejected');
    expect(ep('b2').state).toBe('ejected');
    expect(ep('b3').state).toBe('ejected');
    expect(ep('b3').ejectReason).toBe('zone');
    expect(t.zoneEjections).toBe(1);
    expect(t.zoneEjectionsByZone.get('b')).toBe(1);
    expect(events.some((e) => e.type === 'zone.ejected' && e.zone === 'b')).toBe(true);
    expect(new Set(picks(t, 6))).toEqual(new Set(['a1', 'a2']));
    // b3 really is fine: it comes back like any ejected endpoint; b1/b2 stay out while they fail.
    clock.t += 1000;
    t.recordHealthCheck(ep('b3'), true);
    t.recordHealthCheck(ep('b3'), true);
    t.recordHealthCheck(ep('b1'), false);
    expect(ep('b3').state).toBe('active');
    expect(ep('b1').state).toBe('ejected');
  });
  it('ejections further apart than the window are two bad replicas, not a zone outage', () => {
    const { t, ep, clock } = table(zones);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b1'));
    clock.t += 2500;
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b2'));
    expect(ep('b3').state).toBe('active');
    expect(t.zoneEjections).toBe(0);
  });
  it('one replica in each of two zones is not a zone outage', () => {
    const { t, ep } = table(zones);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('a1'));
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b1'));
    expect(t.zoneEjections).toBe(0);
    expect(ep('a2').state).toBe('active');
    expect(ep('b2').state).toBe('active');
  });
  it('never ejects a zone when nothing routable would be left outside it', () => {
    const { t, ep, events } = table([
      ['b1', 'b'],
      ['b2', 'b'],
      ['b3', 'b'],
    ]);
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b1'));
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b2'));
    expect(ep('b3').state).toBe('active');
    expect(t.zoneEjections).toBe(0);
    expect(events.some((e) => e.type === 'zone.ejection-skipped')).toBe(true);
  });
  it('threshold 0 turns it off', () => {
    const { t, ep } = table(zones, { ...CONFIG, ejection: { ...CONFIG.ejection, zoneEjectionThreshold: 0 } });
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b1'));
    for (let i = 0; i < 3; i++) t.recordFailure(ep('b2'));
    expect(ep('b3').state).toBe('active');
  });
});

describe('slow start (Envoy slow_start_config, HAProxy slowstart)', () => {
  const SLOW: EndpointTableConfig = { ...CONFIG, slowStartMs: 1000 };
  const share = (ids: string[], id: string): number => ids.filter((x) => x === id).length / ids.length;

  it('a replica that joins gets a share growing from 10 % to its full share over the window; the others take the rest', () => {
    const { t, clock } = table(
      [
        ['r1', 'a'],
        ['r2', 'b'],
      ],
      SLOW,
    );
    clock.t += 5000; // r1 and r2 are warm
    t.add({ id: 'r3', zone: 'c', host: '127.0.0.1', port: 1, version: 'v2' });
    const at = (ms: number): number => {
      clock.t += ms;
      return share(picks(t, 3000), 'r3');
    };
    expect(at(0)).toBeCloseTo(0.1 / 2.1, 1); // 10 % of its turns: ~5 % of traffic
    expect(at(500)).toBeCloseTo(0.5 / 2.5, 1); // half its turns: 20 %
    expect(at(600)).toBeCloseTo(1 / 3, 2); // past the window: a third, round-robin again
    expect(picks(t, 3)).toEqual(expect.arrayContaining(['r1', 'r2', 'r3']));
  });

  it('retries are not held back, nor a deployment whose replicas all start together', () => {
    const { t, clock, ep } = table(
      [
        ['r1', 'a'],
        ['r2', 'b'],
      ],
      SLOW,
    );
    expect(picks(t, 4)).toEqual(['r1', 'r2', 'r1', 'r2']); // all warming: plain round-robin
    clock.t += 5000;
    t.add({ id: 'r3', zone: 'c', host: '127.0.0.1', port: 1, version: 'v2' });
    const retries = Array.from({ length: 20 }, () => t.pick([ep('r1')])?.id);
    expect(retries.filter((x) => x === 'r3').length).toBe(10); // r2, r3 alternate: no slow start on retries
  });

  it('off by default: a new replica takes its full turn at once', () => {
    const { t, clock } = table([
      ['r1', 'a'],
      ['r2', 'b'],
    ]);
    clock.t += 5000;
    t.add({ id: 'r3', zone: 'c', host: '127.0.0.1', port: 1, version: 'v2' });
    expect(share(picks(t, 300), 'r3')).toBeCloseTo(1 / 3, 2);
  });
});
