// The emulator's faults as the demo page shows them (docs/demo.md, "Emulator faults"), and the
// note that says what an outage will do to this tab's session. Never polled: the faults are read
// when the page loads, when it gets focus or becomes visible, when the session's status or
// lastError changes (an outage shows there first), and when another tab of the demo changes them
// (it says so on a BroadcastChannel). Only `curl` or a test changing them from outside waits for
// one of those moments.
import { clock, duration } from "./format.js";

const CHANNEL = "kaleyra-demo-faults";

/**
 * `onChange(faults)` is called with every new reading. Returns `{ current, load(), set(change) }`;
 * `set` writes the change over the current faults and tells the other tabs.
 */
export function emulatorFaults(onChange) {
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : undefined;
  const state = { current: undefined };
  const take = (faults) => {
    state.current = faults;
    onChange(faults);
  };
  channel?.addEventListener("message", (e) => take(e.data));
  return {
    get current() {
      return state.current;
    },
    async load() {
      try {
        const res = await fetch("/emulator/control/faults");
        if (res.ok) take(await res.json());
      } catch {
        // The emulator answers once npm start is up; the next moment above reads again.
      }
    },
    async set(change) {
      const current = await (await fetch("/emulator/control/faults")).json();
      const res = await fetch("/emulator/control/faults", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...current, ...change }) });
      const answer = await res.json();
      if (!res.ok) throw new Error(answer.message ?? `HTTP ${res.status}`);
      take(answer);
      channel?.postMessage(answer);
      return answer;
    },
  };
}

/**
 * During an outage, what it will do to this tab's session and when: only token attempts
 * (refreshes) and reconnects reach the emulator, so a connected session shows nothing until its
 * next refresh. `savedUser`: the user of the session another tab saved, when this tab has none.
 */
export function outageEffect(s, now, { refreshDue, savedUser }) {
  const then = "its token attempts will fail, then the session goes reconnecting and retries on its schedule until the outage ends";
  // A first connect is a connect like any other: the server runs the seed's schedule for it, shown
  // in this tab's state (its proof's attempts and waits) before the session is really there.
  const first = "a first connect runs the seed's schedule on the server like any session: its token attempts fail while the outage lasts, then it reconnects on its schedule until the outage ends";
  if (s.status === "disconnected") {
    // This tab knows only its own client: a session started in another tab may well be running.
    const other = savedUser ? ` "${savedUser}"'s session, saved by another tab, may be running on the server: that tab's note says what the outage does to it.` : "";
    return `Outage: this tab has no session.${other} A connect from here will not get through yet: ${first}.`;
  }
  if (s.status === "connecting" && s.transport !== "open") {
    return `Outage: the connect's socket is not open${s.nextOpenAt ? ` (next socket at ${clock(s.nextOpenAt)}, in ${duration(s.nextOpenAt - now)})` : ""}; once it is, ${first}.`;
  }
  if (s.nextAttemptAt) {
    const what = s.tokenAttempt > 0 ? `token attempt ${s.tokenAttempt + 1}` : `reconnect attempt ${s.reconnectAttempt + 1}`;
    return `Outage: ${what} is due at ${clock(s.nextAttemptAt)} (in ${duration(s.nextAttemptAt - now)}); it will fail while the outage lasts.`;
  }
  if (s.status !== "connected") return `Outage: the session is ${s.status}; ${then}.`;
  if (s.refreshing) return `Outage: a token refresh is running now; ${then}.`;
  if (s.mode !== "token" || !s.expiresAt) return "Outage: this session has no token to refresh, so it stays connected; it reaches the emulator again only if it must reconnect.";
  const due = s.refreshAt ?? refreshDue(s.expiresAt);
  return `Outage: the session stays connected until its next token refresh, due at ${clock(due)} (in ${duration(due - now)}; the token expires at ${clock(s.expiresAt)}). Only refreshes and reconnects reach the emulator: then ${then}.`;
}
