#!/usr/bin/env node
// The client package from Node (22 or later, which has a global WebSocket): configure, connect a
// token session with tokens from the local Kaleyra emulator, print every state change, disconnect.
//
//   npm start                 # in another terminal: the orchestrator and the emulator on :8787
//   npm run example:node      # builds dist/client, then runs this file
//
// It imports the package by its name, as an app that depends on it would (docs/client.md says how
// to build and install the tarball). Exits 0 once disconnected; on any failure it prints one line,
// `example failed: <code>: <sentence>`, and exits 1. An error the server sends while the connect
// is still retrying (e.g. `unavailable`: Kaleyra cannot be reached, as under `REMOTE=kaleyra npm
// start` with no network) is printed when it first comes, and is the failure if the deadline passes.
import { Environment, KaleyraVideo, Region } from "kaleyra-edge/client";

const server = process.env.KALEYRA_EDGE_URL ?? "http://127.0.0.1:8787";
const userId = process.env.KALEYRA_USER_ID ?? "node-example";
// The local composition's demo app and its emulator API key (README, "Run locally").
const appId = "mAppId_demo";
const apiKey = "ak_test_demo_key";
const DEADLINE_MS = 30_000;

/** Calls the emulator's Kaleyra REST API (v2), as a tenant's backend would. */
async function emulator(path, body) {
  const response = await fetch(`${server}/emulator/v2${path}`, {
    method: "POST",
    headers: { apikey: apiKey, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

function fail(error) {
  const code = error?.code ?? error?.cause?.code ?? error?.name ?? "error";
  // fetch() says only "fetch failed"; its cause says why (ECONNREFUSED: nothing listens there).
  const message = error?.cause?.code ? `cannot reach ${server}; is npm start running?` : error?.message ?? String(error);
  console.error(`example failed: ${code}: ${message}`);
  process.exit(1);
}

async function main() {
  // The user must exist before the emulator mints its tokens; 409 means it already does.
  const created = await emulator("/users", { user_id: userId, role: "plus" });
  if (created.status !== 201 && created.status !== 409) throw new Error(`creating ${userId}: HTTP ${created.status} ${JSON.stringify(created.body)}`);

  // The server's refusals that reject no promise (the client retries): the last one says why.
  let serverError;
  const onError = (error) => {
    if (serverError?.code !== error.code) console.log(`server: ${error.code}: ${error.message}`);
    serverError = error;
  };
  // No localStorage in Node: persist nothing (a long-lived process could pass its own StorageLike).
  const kaleyra = new KaleyraVideo({ server, storage: null, onError });
  if (!kaleyra.configure({ appId, environment: Environment.Sandbox, region: Region.Europe })) throw new Error("configure refused the demo app");

  let last = "";
  kaleyra.state.subscribe((s) => {
    const line = `state: ${s.status} (socket ${s.transport}${s.tokenAttempt ? `, token attempt ${s.tokenAttempt}` : ""}${s.reconnectAttempt ? `, reconnect ${s.reconnectAttempt}` : ""}${s.failure ? `, failure ${s.failure.code}` : ""})`;
    if (line !== last) console.log((last = line));
  });

  let tokens = 0;
  const provider = async ({ userId: user }) => {
    tokens += 1;
    const minted = await emulator("/sdk/credentials", { user_id: user, expires_in: 3600 });
    if (minted.status !== 200) throw new Error(`token: HTTP ${minted.status}`);
    return minted.body.access_token;
  };

  const deadline = setTimeout(() => {
    const within = `not connected within ${DEADLINE_MS / 1000} s`;
    fail(serverError ? { code: serverError.code, message: `${within}; the server said: ${serverError.message}` } : { code: "timeout", message: `${within}; is npm start running at ${server}?` });
  }, DEADLINE_MS);
  const user = await kaleyra.connect(userId, provider);
  console.log(`connected as ${user.userId} (${tokens} token${tokens === 1 ? "" : "s"} asked)`);
  await kaleyra.disconnect({ clearSavedData: true });
  clearTimeout(deadline);
  console.log("disconnected");
}

main().catch(fail);
