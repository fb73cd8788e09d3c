#!/usr/bin/env node
// The attach-security attacks (docs/security.md "Attach security") tried against `npm start` as a
// hostile client would: raw sockets, no credential; and issue 20's three breaks (an app's deletion
// and idle sessions, sockets that ignore the server's close, the webhook route's answers), and the
// wake's (issue 21: an unproven push subscription, a wake webhook or push endpoint aimed inside, a
// wake with another app's tenant key). Starts `npm start` on a free port, runs each
// attack with a bounded wait, stops it. Exits 1 when any attack gets through.
// Needs Node 22 (global WebSocket): run it with `npm run attack-smoke`.
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { freePort, groupProcesses, sleep, waitUntil } from "./lib/proc.mjs";
import { openFds, openRaw } from "./lib/raw-socket.mjs";

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

/** An HS256 JWT, as a tenant's backend signs an attach ticket. */
function hs256(claims, secret) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures += 1;
}

/** A raw socket that records frames; every wait is bounded. */
function open(query, appId = "mAppId_demo") {
  const ws = new WebSocket(`${base.replace("http", "ws")}/v1/apps/${appId}/socket?${query}`);
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
  for (const webhookUrl of ["https://169.254.169.254/latest/meta-data", "https://10.0.0.1/t", "http://tenant.example.com/t", "https://instance-data/latest/meta-data", "https://localhost../t", "https://[2002:7f00:1::1]/t", "https://kubernetes.default.svc/t"]) {
    const res = await fetch(`${base}/v1/apps/mAppId_attack`, {
      method: "PUT",
      headers: { authorization: "Bearer dev-admin-token" },
      body: JSON.stringify({ environment: "sandbox", region: "eu", serverTokens: { source: "webhook", order: "first", webhookUrl }, tokenWebhookSecret: "whsec_0123456789abcdef" }),
    });
    check(res.status === 400, `token webhook ${webhookUrl}: ${res.status}`);
  }

  // Wakes (issue 21, docs/security.md "Wakes").
  const stranger = open(`environment=sandbox&region=eu&userId=${victim}`);
  await stranger.frame((f) => f.type === "auth_required", "auth_required");
  const keys = { p256dh: `B${"A".repeat(86)}`, auth: "A".repeat(22) };
  stranger.send({ type: "push_subscribe", subscription: { endpoint: "https://fcm.googleapis.com/fcm/send/attacker", expirationTime: null, keys }, applicationServerKey: `B${"A".repeat(86)}` });
  const unproven = await stranger.frame((f) => f.type === "push_refused", "push_refused").catch(() => undefined);
  check(unproven?.code === "push_unproven" && !stranger.frames.some((f) => f.type === "error"), `an unproven socket's push_subscribe: ${unproven?.code}`);
  stranger.ws.close();
  // (npm start allows loopback webhooks, ALLOW_LOCAL_WEBHOOKS: the workerd tests hold the production rule.)
  for (const webhookUrl of ["https://169.254.169.254/latest/meta-data", "https://10.0.0.1/w", "https://kubernetes.default.svc/w"]) {
    const res = await fetch(`${base}/v1/apps/mAppId_attack`, {
      method: "PUT",
      headers: { authorization: "Bearer dev-admin-token" },
      body: JSON.stringify({ environment: "sandbox", region: "eu", wake: { events: ["call:incoming"], webhookUrl }, wakeWebhookSecret: "wake_0123456789abcdef" }),
    });
    check(res.status === 400, `wake webhook ${webhookUrl}: ${res.status}`);
  }
  const otherKey = await (await fetch(`${base}/v1/apps/mAppId_attack/tenant-keys`, { method: "POST", headers: { authorization: "Bearer dev-admin-token" } })).json();
  const crossWake = await fetch(`${base}/v1/tenant/apps/mAppId_demo/users/${victim}/wake`, { method: "POST", headers: { authorization: `Bearer ${otherKey.key}` }, body: JSON.stringify({ event: "chat:message" }) });
  check(crossWake.status === 401, `another app's tenant key waking a user of mAppId_demo: ${crossWake.status}`);

  // Break 1 (issue 20): a proven client of an idle session is closed when its app is deleted,
  // data_cleared first, and is not back when the same appId is registered again.
  const admin = { authorization: "Bearer dev-admin-token" };
  const appId = `mAppId_smoke_${Math.random().toString(36).slice(2, 8)}`;
  const ticketSecret = "smoke-ticket-secret-0123456789";
  const registerApp = () =>
    fetch(`${base}/v1/apps/${appId}`, { method: "PUT", headers: admin, body: JSON.stringify({ environment: "sandbox", region: "eu", attachModes: ["ticket"], attachTicketSecret: ticketSecret }) });
  check((await registerApp()).status === 201, `app ${appId} registered`);
  const idle = open("environment=sandbox&region=eu&userId=idle-user", appId);
  await idle.frame((f) => f.type === "auth_required", "auth_required");
  idle.send({ type: "auth", ticket: hs256({ appId, userId: "idle-user", exp: Math.floor(Date.now() / 1000) + 300, jti: randomUUID() }, ticketSecret) });
  await idle.frame((f) => f.type === "state", "the idle client proven");
  const deleted = await fetch(`${base}/v1/apps/${appId}`, { method: "DELETE", headers: admin });
  await waitUntil(() => idle.closed() !== undefined, "the idle client's socket closed", 5_000).catch(() => {});
  const kinds = idle.frames.map((f) => f.type);
  check(deleted.status === 204 && idle.closed() === 4404 && kinds.lastIndexOf("data_cleared") > kinds.lastIndexOf("state"), `DELETE closes an idle session's client (${deleted.status}, close ${idle.closed()}, data_cleared first: ${kinds.includes("data_cleared")})`);
  await registerApp();

  // Break 3 (issue 20): the webhook route answers a registered app and an unknown one alike.
  const probe = async (id) => {
    const res = await fetch(`${base}/v1/webhooks/kaleyra/${id}`, { method: "POST", headers: { "bandyer-signature": `t=1,v0=${"0".repeat(64)}` }, body: "{}" });
    return JSON.stringify({ status: res.status, body: await res.text(), headers: [...res.headers].filter(([name]) => name !== "date") });
  };
  const [known, unknown] = [await probe("mAppId_demo"), await probe("mAppId_nobody_at_all")];
  check(known === unknown && known.includes("signature_invalid"), `a stale bad signature gets one answer for a registered and an unknown app (${JSON.parse(known).status})`);

  // Break 2 (issue 20): sockets that never answer the server's close are counted and dropped.
  const workerd = groupProcesses(server.pid).find((p) => /workerd/.test(p.cmdline[0] ?? ""))?.pid;
  const fdsBefore = workerd === undefined ? undefined : await openFds(workerd);
  const path = `/v1/apps/mAppId_demo/socket?environment=sandbox&region=eu&userId=deaf-${Math.random().toString(36).slice(2, 8)}`;
  const deaf = [];
  for (let i = 0; i < 24; i++) deaf.push(await openRaw(port, path));
  const extra = await openRaw(port, path);
  const fdsFlood = workerd === undefined ? undefined : await openFds(workerd);
  check(deaf.every((d) => d.status === 101) && extra.status === 429, `8 waiting + 16 closed-but-unanswered sockets, then a plain 429 for the next (${extra.status})`);
  const dropped = await waitUntil(() => deaf.every((d) => d.ended), "the server dropping the unanswered sockets", 50_000, 500).catch(() => false);
  // workerd closes the connections' other ends a moment later: read its files once they settle.
  if (workerd !== undefined) await waitUntil(async () => (await openFds(workerd)) <= fdsBefore + 8, "workerd's files back", 10_000, 250).catch(() => {});
  const fdsAfter = workerd === undefined ? undefined : await openFds(workerd);
  check(dropped, `the session dropped all 24 unanswered sockets while the client still held them (workerd open files ${fdsBefore} -> ${fdsFlood} -> ${fdsAfter})`);
  for (const d of [...deaf, extra]) d.destroy();
} catch (err) {
  check(false, String(err));
  console.error(log.slice(-4_000));
}
stop();
console.log(failures === 0 ? "attack smoke: every attack refused" : `attack smoke: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
