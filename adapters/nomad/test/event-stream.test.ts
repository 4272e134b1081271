import { afterEach, describe, expect, it } from 'vitest';
import { TokenBucket } from '@isthmus/core';
import { NomadSimulator } from '../../../test/sim/nomad/src/index.js';
import { EventStreamWatch, type DisconnectReason } from '../src/event-stream.js';
import { NomadClient } from '../src/nomad-client.js';
import { FAST, eventually } from './helpers.js';

let sim: NomadSimulator;
let client: NomadClient;
let watch: EventStreamWatch | undefined;

afterEach(async () => {
  await watch?.stop();
  client?.close();
  await sim?.stop();
  watch = undefined;
});

interface Seen {
  connects: boolean[];
  frames: number[];
  ports: number[];
  disconnects: DisconnectReason[];
}

function follow(resumeFrom: () => number = () => 1, tuning = FAST): Seen {
  const seen: Seen = { connects: [], frames: [], ports: [], disconnects: [] };
  client = new NomadClient({ address: sim.url });
  watch = new EventStreamWatch({
    client,
    namespace: 'default',
    tuning,
    bucket: new TokenBucket(tuning.streamRate),
    resumeFrom,
    events: {
      onConnect: (relist) => seen.connects.push(relist),
      onFrame: (index, events) => {
        seen.frames.push(index);
        seen.ports.push(...events.map((e) => e.Service.Port));
      },
      onDisconnect: (reason) => seen.disconnects.push(reason),
    },
  });
  watch.start();
  return seen;
}

const streamQueries = () => sim.requests('/v1/event/stream').map((r) => new URLSearchParams(r.query));

describe('EventStreamWatch against the simulator', () => {
  it('asks for the Service topic from the resume index, and delivers each raft index once, in order', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 50 });
    sim.registerService({ service: 'web', port: 1 });
    const listed = sim.index();
    const seen = follow(() => listed + 1);
    await eventually('connected', () => seen.connects.length === 1);
    expect(streamQueries()[0]!.get('topic')).toBe('Service');
    expect(streamQueries()[0]!.get('index')).toBe(String(listed + 1));
    expect(seen.connects).toEqual([false]);
    sim.registerService({ service: 'web', port: 2 });
    sim.registerService({ service: 'web', port: 3 });
    await eventually('two frames', () => seen.frames.length === 2);
    expect(seen.ports).toEqual([2, 3]);
    expect(seen.frames[1]).toBeGreaterThan(seen.frames[0]!);
  });

  it('reconnects after a drop from the next index, skipping what it has seen, and asks for a re-list', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 50 });
    // A resume index that lags (the list was read long ago): the server replays, the watch dedupes.
    const seen = follow(() => 1);
    await eventually('connected', () => seen.connects.length === 1);
    sim.registerService({ service: 'web', port: 1 });
    await eventually('the first frame', () => seen.frames.length === 1);
    sim.dropStreams();
    await eventually('a reconnect', () => seen.connects.length === 2);
    expect(seen.connects).toEqual([false, true]);
    expect(seen.disconnects).toEqual(['ended']);
    expect(Number(streamQueries()[1]!.get('index'))).toBe(seen.frames[0]! + 1);
    sim.registerService({ service: 'web', port: 2 });
    await eventually('the next frame', () => seen.frames.length === 2);
    expect(seen.ports).toEqual([1, 2]);
  });

  it('takes a stream silent past the idle timeout (no heartbeat) for dead and reopens it', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 30 });
    const seen = follow(() => 1, { ...FAST, streamIdleTimeoutMs: 200 });
    await eventually('connected', () => seen.connects.length === 1);
    const clear = sim.inject({ kind: 'silent' });
    await eventually('an idle disconnect', () => seen.disconnects.includes('idle'));
    clear();
    await eventually('a reconnect', () => seen.connects.length >= 2 && seen.connects.at(-1) === true);
    sim.registerService({ service: 'web', port: 7 });
    await eventually('events again', () => seen.ports.includes(7));
  });

  it('retries a stream Nomad refuses with backoff, and asks for a re-list once it opens', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 50 });
    const clear = sim.inject({ kind: 'error', status: 500, path: '/v1/event/stream' });
    const seen = follow();
    await eventually('failures', () => seen.disconnects.filter((d) => d === 'error').length >= 3);
    expect(seen.connects).toEqual([]);
    clear();
    await eventually('connected', () => seen.connects.length === 1);
    expect(seen.connects).toEqual([true]);
  });

  it('starts over from the resume index after reset() (indexes went backwards)', async () => {
    sim = await NomadSimulator.start({ jitter: false, heartbeatMs: 50 });
    for (let i = 0; i < 5; i++) sim.registerService({ service: 'web', port: 100 + i });
    const seen = follow(() => 1);
    await eventually('the replay', () => seen.frames.length === 5);
    sim.restoreSnapshot(2);
    watch!.reset();
    await eventually('a reconnect', () => seen.connects.length >= 2);
    // After the restore the next write has a lower index than what was seen: it still arrives.
    sim.registerService({ service: 'web', port: 200 });
    await eventually('the write after the restore', () => seen.ports.includes(200));
    expect(seen.frames.at(-1)).toBeLessThan(6);
  });
});
