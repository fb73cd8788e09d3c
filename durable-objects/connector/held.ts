/**
 * The connections one connector holds: which session owns each (storage, so that a restarted
 * connector knows whom to tell their connections are gone) and the upstream adapter's id for each
 * (memory: the sockets themselves live in memory only).
 * Invariant: an entry in storage without one in memory is an orphan: its socket died with an
 * earlier instance of the connector.
 */
export interface Holding {
  session: string;
  purpose: "session" | "check";
}

const PREFIX = "conn:";

export class HeldConnections {
  private readonly byId = new Map<string, Holding & { upstream: string }>();
  private readonly byUpstream = new Map<string, string>();

  constructor(private readonly kv: SyncKvStorage) {}

  /** Everything in storage; called before this instance holds anything, these are the orphans. */
  stored(): [string, Holding][] {
    return [...this.kv.list<Holding>({ prefix: PREFIX })].map(([key, holding]) => [key.slice(PREFIX.length), holding]);
  }

  add(connectionId: string, holding: Holding, upstream: string): void {
    this.kv.put(PREFIX + connectionId, holding);
    this.byId.set(connectionId, { ...holding, upstream });
    this.byUpstream.set(upstream, connectionId);
  }

  /** Forgets a connection (closed, lost, or an orphan reported). */
  remove(connectionId: string): void {
    const held = this.byId.get(connectionId);
    if (held) this.byUpstream.delete(held.upstream);
    this.byId.delete(connectionId);
    this.kv.delete(PREFIX + connectionId);
  }

  get(connectionId: string): (Holding & { upstream: string }) | undefined {
    return this.byId.get(connectionId);
  }

  connectionOf(upstream: string): string | undefined {
    return this.byUpstream.get(upstream);
  }

  /** The session connections a session holds here. */
  sessionConnections(session: string): string[] {
    const out: string[] = [];
    for (const [id, h] of this.byId) if (h.session === session && h.purpose === "session") out.push(id);
    return out;
  }

  get size(): number {
    return this.byId.size;
  }
}
