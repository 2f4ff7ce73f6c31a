import { GatewayStats, MAX_LATENCY_SAMPLES } from '../../src/activities/gateway-stats';

function setup(windowMs = 60_000) {
  let now = 5_000_000;
  const stats = new GatewayStats(windowMs, () => now);
  return {
    stats,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('GatewayStats', () => {
  it('reports an empty window as no calls, nothing failed and no latency', () => {
    expect(setup().stats.summary()).toEqual({
      calls: 0,
      successes: 0,
      failures: 0,
      declines: 0,
      successRate: 1,
      avgLatencyMs: 0,
      p50LatencyMs: 0,
      p95LatencyMs: 0,
    });
  });

  it('counts infrastructure failures against the success rate', () => {
    const { stats } = setup();
    for (let i = 0; i < 3; i++) stats.record('succeeded', 100);
    stats.record('failed');
    expect(stats.summary()).toMatchObject({ calls: 4, successes: 3, failures: 1, successRate: 0.75 });
  });

  it('reports declines separately without lowering the success rate', () => {
    const { stats } = setup();
    stats.record('succeeded', 100);
    stats.record('declined', 80);
    stats.record('declined', 90);
    stats.record('failed');
    expect(stats.summary()).toMatchObject({
      calls: 4,
      successes: 1,
      declines: 2,
      failures: 1,
      successRate: 0.75,
    });
  });

  it('drops outcomes and latencies once they are older than the window', () => {
    const { stats, advance } = setup(60_000);
    stats.record('failed');
    stats.record('succeeded', 900);
    advance(30_000);
    stats.record('succeeded', 100);
    advance(31_000); // the first two are now 61 s old, past the window and its one-second bucket
    expect(stats.summary()).toMatchObject({
      calls: 1,
      successes: 1,
      failures: 0,
      successRate: 1,
      p50LatencyMs: 100,
    });
    advance(30_000);
    expect(stats.summary()).toMatchObject({ calls: 0, avgLatencyMs: 0 });
  });

  it('keeps outcomes until the window has passed', () => {
    const { stats, advance } = setup(60_000);
    stats.record('failed');
    advance(59_999);
    expect(stats.summary().failures).toBe(1);
  });

  it('computes the average and nearest-rank p50 and p95 of answered calls', () => {
    const { stats } = setup();
    // 1..100 ms in scrambled order: p50 is the 50th value, p95 the 95th.
    for (let i = 0; i < 100; i++) stats.record(i % 2 ? 'succeeded' : 'declined', ((i * 37) % 100) + 1);
    expect(stats.summary()).toMatchObject({ avgLatencyMs: 50.5, p50LatencyMs: 50, p95LatencyMs: 95 });
  });

  it('takes the upper middle sample as p50 of an odd set and the maximum as p95 of a small one', () => {
    const { stats } = setup();
    for (const ms of [300, 100, 200]) stats.record('succeeded', ms);
    expect(stats.summary()).toMatchObject({ p50LatencyMs: 200, p95LatencyMs: 300, avgLatencyMs: 200 });
  });

  it("ignores failures' latency, so fast connection errors cannot make a gateway look quick", () => {
    const { stats } = setup();
    stats.record('succeeded', 400);
    stats.record('failed', 1);
    stats.record('failed', 2);
    expect(stats.summary()).toMatchObject({ p50LatencyMs: 400, avgLatencyMs: 400 });
  });

  it('keeps memory bounded: at most MAX_LATENCY_SAMPLES latencies, the newest ones', () => {
    const { stats } = setup();
    for (let i = 0; i < MAX_LATENCY_SAMPLES; i++) stats.record('succeeded', 10_000);
    for (let i = 0; i < MAX_LATENCY_SAMPLES; i++) stats.record('succeeded', 10);
    expect(stats.summary()).toMatchObject({
      calls: 2 * MAX_LATENCY_SAMPLES,
      p95LatencyMs: 10,
      avgLatencyMs: 10,
    });
  });

  it('keeps counting correctly over a long run with a moving clock', () => {
    const { stats, advance } = setup(10_000);
    for (let i = 0; i < 100_000; i++) {
      stats.record(i % 10 === 0 ? 'failed' : 'succeeded', 50);
      advance(7);
    }
    // The window holds the last ~10 s (one bucket more at most): about 1430 calls of 7 ms each.
    const { calls, failures } = stats.summary();
    expect(calls).toBeGreaterThanOrEqual(1428);
    expect(calls).toBeLessThanOrEqual(1572);
    expect(failures / calls).toBeCloseTo(0.1, 2);
  });
});
