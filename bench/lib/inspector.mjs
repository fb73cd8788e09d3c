/**
 * Counts live session objects in the local runtime without a hook in the product: a V8 heap
 * snapshot of the Worker's isolate, taken through wrangler's inspector (the --inspector-port the
 * bench chose), in which every live UserSession instance has exactly one `SessionClock` (its
 * `clock` field, made in the constructor). V8 keeps an object's snapshot id across snapshots of one
 * inspector session, so the distinct ids seen over a run are the distinct instances, i.e. how many
 * times an object was constructed (woken from hibernation, or first made).
 * A snapshot runs a full garbage collection first, so an evicted object is not counted.
 * Calls of a method are counted with conditional breakpoints that never pause (`countCalls`).
 */
export const MARKERS = ["SessionClock", "AttachGate", "FrameRateLimit"];
const COUNT_TAG = "kaleyra-bench-count";

export class Inspector {
  static async connect(stack) {
    const list = await (await fetch(`http://127.0.0.1:${stack.inspectorPort}/json`, { signal: AbortSignal.timeout(5_000) })).json();
    const target = list.find((t) => t.title === "Cloudflare Worker") ?? list[0];
    if (!target) throw new Error("no inspector target");
    // wrangler's inspector proxy wants a local Origin from a client that sends a User-Agent.
    const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } });
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", () => reject(new Error("inspector connection failed")));
      setTimeout(() => reject(new Error("inspector connection timed out")), 10_000);
    });
    return new Inspector(ws);
  }

  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.chunks = [];
    ws.addEventListener("message", (ev) => {
      const m = JSON.parse(ev.data);
      if (m.method === "HeapProfiler.addHeapSnapshotChunk") this.chunks.push(m.params.chunk);
      // workerd answers takeHeapSnapshot (after the last chunk) with a message that carries the
      // request's id but no result, so any message with a pending id settles the call.
      else if (m.id !== undefined && this.pending.has(m.id)) {
        this.pending.get(m.id)(m);
        this.pending.delete(m.id);
      }
    });
  }

  call(method, params = {}, timeoutMs = 60_000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m.result);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Snapshot ids of the live objects named by each marker. */
  async liveObjects(markers = MARKERS) {
    this.chunks = [];
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const snap = JSON.parse(this.chunks.join(""));
    this.chunks = [];
    const fields = snap.snapshot.meta.node_fields;
    const width = fields.length;
    const typeAt = fields.indexOf("type");
    const nameAt = fields.indexOf("name");
    const idAt = fields.indexOf("id");
    const sizeAt = fields.indexOf("self_size");
    const objectType = snap.snapshot.meta.node_types[0].indexOf("object");
    const wanted = new Map();
    snap.strings.forEach((s, i) => {
      if (markers.includes(s)) wanted.set(i, s);
    });
    const out = Object.fromEntries(markers.map((m) => [m, []]));
    const nodes = snap.nodes;
    let bytes = 0;
    for (let i = sizeAt; i < nodes.length; i += width) bytes += nodes[i];
    /** The isolate's live JS heap at this snapshot (after its GC), in bytes. */
    this.lastHeapBytes = bytes;
    for (let i = 0; i < nodes.length; i += width) {
      if (nodes[i + typeAt] !== objectType) continue;
      const name = wanted.get(nodes[i + nameAt]);
      if (name !== undefined) out[name].push(nodes[i + idAt]);
    }
    return out;
  }

  /** The isolate's live JS heap in bytes (a snapshot, so after a full GC). */
  async heapBytes() {
    await this.liveObjects();
    return this.lastHeapBytes;
  }

  /** Ids of live UserSession instances (by the first marker that has any), or [] . */
  async liveSessions() {
    const found = await this.liveObjects();
    for (const m of MARKERS) if (found[m].length > 0) return found[m];
    return [];
  }

  /**
   * Counts calls of `method` of the bundled class `className` without a hook in the product: a
   * conditional breakpoint on the method's first line whose condition logs `label` and the
   * object's id, then answers false (it never pauses). Returns a Map object id -> call times (ms,
   * the runtime's console timestamps), filled as the console events arrive; `stopCounting()`
   * removes every breakpoint.
   */
  async countCalls(label, className, method) {
    if (!this.scripts) {
      this.scripts = [];
      this.counters = new Map();
      this.ws.addEventListener("message", (ev) => {
        const m = JSON.parse(ev.data);
        if (m.method === "Debugger.scriptParsed") this.scripts.push(m.params);
        else if (m.method === "Runtime.consoleAPICalled" && m.params.args[0]?.value === COUNT_TAG) {
          const calls = this.counters.get(m.params.args[1]?.value);
          const id = m.params.args[2]?.value;
          if (calls) calls.set(id, [...(calls.get(id) ?? []), m.params.timestamp]);
        }
      });
      await this.call("Runtime.enable");
      await this.call("Debugger.enable");
      this.breakpoints = [];
    }
    const script = this.scripts.find((s) => /\.wrangler\/tmp\/[^/]+\/index\.js$/.test(s.url));
    if (!script) throw new Error("the Worker's bundle is not among the inspector's scripts");
    this.source ??= (await this.call("Debugger.getScriptSource", { scriptId: script.scriptId })).scriptSource;
    const cls = Math.max(this.source.indexOf(`${className} = class `), this.source.indexOf(`class ${className} `));
    const at = cls < 0 ? -1 : this.source.indexOf(`  async ${method}(`, cls);
    if (at < 0) throw new Error(`${className}.${method} not found in the bundle`);
    const line = this.source.slice(0, at).split("\n").length; // 0-based: the line after the signature
    const id = `(() => { try { return String(this.ctx.id); } catch { return "?"; } })()`;
    const condition = `console.log(${JSON.stringify(COUNT_TAG)}, ${JSON.stringify(label)}, ${id}), false`;
    const bp = await this.call("Debugger.setBreakpoint", { location: { scriptId: script.scriptId, lineNumber: line }, condition });
    this.breakpoints.push(bp.breakpointId);
    const counts = new Map();
    this.counters.set(label, counts);
    return counts;
  }

  async stopCounting() {
    for (const id of this.breakpoints ?? []) await this.call("Debugger.removeBreakpoint", { breakpointId: id }).catch(() => {});
    this.breakpoints = [];
  }

  close() {
    try {
      this.ws.close();
    } catch {
      // Closing.
    }
  }
}
