#!/usr/bin/env node
// The attach-security attacks (docs/security.md "Attach security") tried against `npm start` as a
// hostile client would: raw sockets, no credential. Starts `npm start` on a free port, runs each
// attack with a bounded wait, stops it. Exits 1 when any attack gets through.
// Needs Node 22 (global WebSocket): run it with `npm run attack-smoke`.
import { spawn } from "node:child_process";
import { freePort, sleep, waitUntil } from "./lib/proc.mjs";

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn("npm", ["start"], { env: { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: "false" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
let log = "";
server.stdout.on("data", (d) => (log += d));
server.stderr.on("data", (d) => (log += d));
const stop = () => {
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {}
};
process.on("exit", stop);

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures += 1;
}

/** A raw socket that records frames; every wait is bounded. */
function open(query) {
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/apps/mAppId_demo/socket?${query}`);
  const frames = [];
  let closed;
  ws.addEventListener("message", (e) => frames.push(JSON.parse(e.data)));
  ws.addEventListener("close", (e) => (closed = e.code));
  const frame = (pred, what, ms = 3_000) => waitUntil(() => frames.find(pred), what, ms);
  return { ws, frames, frame, closed: () => closed, send: (f) => ws.send(JSON.stringify(f)) };
}

try {
  await waitUntil(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, "npm start serving /healthz", 60_000, 250);
  const victim = `victim-${Math.random().toString(36).slice(2, 8)}`;

  // 1-3. The reported attack: connect, a token for the next request id, a failure for the current one.
  const attacker = open(`environment=sandbox&region=eu&userId=${victim}`);
  await attacker.frame((f) => f.type === "auth_required", "auth_required");
  attacker.send({ type: "connect", userId: victim });
  attacker.send({ type: "token", requestId: "0000000.2", token: "junk" });
  attacker.send({ type: "token_failed", requestId: "0000000.1" });
  await waitUntil(() => attacker.frames.filter((f) => f.type === "error").length >= 3, "three answers", 3_000);
  await sleep(1_500); // room for anything the server-side token source could have started
  const codes = attacker.frames.filter((f) => f.type === "error").map((f) => f.code);
  check(codes.every((c) => c === "auth_required"), `unproven connect/token/token_failed are auth_required (${codes.join(", ")})`);
  check(!attacker.frames.some((f) => ["state", "resume", "token_request"].includes(f.type)), "the attacker learned nothing: no state, resume or token request");

  // 2. A junk token as the proof: Kaleyra refuses it (a failed attempt of the attacker's own proof,
  // which asks the attacker again), and the attacker learns nothing but its own proof's states.
  attacker.send({ type: "auth", token: "junk.token.value" });
  const asked = await attacker.frame((f) => f.type === "token_request", "its own proof's attempt 2", 10_000).catch(() => undefined);
  const own = attacker.frames.filter((f) => f.type === "state");
  check(asked?.attempt === 2 && own.every((f) => f.proof === true) && own.some((f) => f.state.lastError === "token_invalid"), `a junk token does not prove the victim (its own proof: ${own.map((f) => f.state.lastError ?? f.state.status).join(", ")})`);
  check(!attacker.frames.some((f) => (f.type === "state" && f.proof !== true) || f.type === "resume"), "no state of the session and no resume for the attacker");
  // One proof in flight per socket: more proofs on the same socket are auth_pending.
  const before = attacker.frames.length;
  for (let i = 0; i < 5; i++) attacker.send({ type: "auth", token: "junk.token.value" });
  await waitUntil(() => attacker.frames.slice(before).filter((f) => f.type === "error").length >= 5, "five answers", 3_000).catch(() => {});
  const pending = attacker.frames.slice(before).filter((f) => f.type === "error").map((f) => f.code);
  check(pending.length === 5 && pending.every((c) => c === "auth_pending"), `five more proofs on one socket: ${pending.join(", ")}`);
  attacker.ws.close();

  // 5. The close handshake is answered at once.
  const quick = open(`environment=sandbox&region=eu&userId=${victim}`);
  await quick.frame((f) => f.type === "auth_required", "auth_required");
  const started = Date.now();
  quick.ws.close();
  await waitUntil(() => quick.closed() !== undefined, "the close completed", 5_000).catch(() => {});
  check(quick.closed() !== undefined && Date.now() - started < 2_000, `a client's close completes in ${Date.now() - started} ms`);

  // 6. An oversized binary frame closes the socket with 1009.
  const big = open(`environment=sandbox&region=eu&userId=${victim}`);
  await big.frame((f) => f.type === "auth_required", "auth_required");
  big.ws.send(new Uint8Array(1 << 20));
  await waitUntil(() => big.closed() !== undefined, "close", 5_000).catch(() => {});
  check(big.closed() === 1009, `a 1 MiB binary frame closes with ${big.closed()}`);

  // 7. An access link in the URL is refused.
  const link = open(`environment=sandbox&region=eu&accessLink=${encodeURIComponent("https://sandbox.bandyer.com/eu/direct-rest-call-handler/abc")}`);
  const refused = await link.frame((f) => f.type === "error", "refusal").catch(() => undefined);
  check(refused?.code === "link_in_url", `an access link in the URL: ${refused?.code}`);

  // 8. A token webhook aimed at internal addresses cannot be registered.
  for (const webhookUrl of ["https://169.254.169.254/latest/meta-data", "https://10.0.0.1/t", "http://tenant.example/t"]) {
    const res = await fetch(`${base}/v1/apps/mAppId_attack`, {
      method: "PUT",
      headers: { authorization: "Bearer dev-admin-token" },
      body: JSON.stringify({ environment: "sandbox", region: "eu", serverTokens: { source: "webhook", order: "first", webhookUrl }, tokenWebhookSecret: "whsec_0123456789abcdef" }),
    });
    check(res.status === 400, `token webhook ${webhookUrl}: ${res.status}`);
  }
} catch (err) {
  check(false, String(err));
  console.error(log.slice(-4_000));
}
stop();
console.log(failures === 0 ? "attack smoke: every attack refused" : `attack smoke: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
