/**
 * Object-seconds in memory, measured without a hook in the product: heap snapshots through the
 * runtime's inspector (lib/inspector.mjs) count the live instances of one marker class per kind of
 * object (every UserSession has one SessionClock; every KaleyraConnector one HandshakeGate), and
 * the counts are integrated over time (each sample's count held until the next sample). V8 keeps an
 * object's snapshot id across snapshots, so new ids are constructions (wake-ups from hibernation).
 * A snapshot runs a full GC first: an evicted object is not counted.
 */
import { nowMs, sleep } from "./proc.mjs";

export const KINDS = { sessions: "SessionClock", connectors: "HandshakeGate" };

export class AwakeMeter {
  constructor(inspector) {
    this.inspector = inspector;
  }

  /** One sample: the live ids of each kind, and when (the snapshot's midpoint, ms). */
  async sample() {
    const t0 = nowMs();
    const found = await this.inspector.liveObjects(Object.values(KINDS));
    const t1 = nowMs();
    const out = { t: (t0 + t1) / 2, snapshotMs: t1 - t0 };
    for (const [kind, marker] of Object.entries(KINDS)) out[kind] = new Set(found[marker]);
    return out;
  }

  /**
   * Samples for `windowMs` (at least every `everyMs`, as fast as snapshots allow), or until
   * `stop(sample)` says so after `minMs`; returns object-seconds per kind, the series and the
   * constructions seen (ids not live at the first sample).
   */
  async measure(windowMs, { everyMs = 4_000, minMs = 0, stop } = {}) {
    const start = nowMs();
    const samples = [await this.sample()];
    while (nowMs() - start < windowMs) {
      const last = samples[samples.length - 1];
      if (stop && nowMs() - start >= minMs && stop(last)) break;
      await sleep(Math.max(0, Math.min(everyMs - last.snapshotMs, start + windowMs - nowMs())));
      samples.push(await this.sample());
    }
    const end = nowMs();
    const objectSeconds = {};
    const constructions = {};
    for (const kind of Object.keys(KINDS)) {
      let sum = 0;
      for (let i = 0; i < samples.length; i++) {
        const until = i + 1 < samples.length ? samples[i + 1].t : end;
        const from = i === 0 ? start : samples[i].t;
        sum += samples[i][kind].size * Math.max(0, until - from);
      }
      objectSeconds[kind] = sum / 1000;
      const first = samples[0][kind];
      const seen = new Set();
      for (const s of samples) for (const id of s[kind]) if (!first.has(id)) seen.add(id);
      constructions[kind] = seen.size;
    }
    return {
      seconds: (end - start) / 1000,
      objectSeconds,
      constructions,
      series: samples.map((s) => ({ t: Math.round((s.t - start) / 100) / 10, sessions: s.sessions.size, connectors: s.connectors.size })),
      snapshotMs: Math.round(samples.reduce((a, s) => a + s.snapshotMs, 0) / samples.length),
    };
  }
}
