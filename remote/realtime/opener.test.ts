import { describe, expect, it } from "vitest";
import { emulatorFetch } from "../../dev/emulator/testing";
import { openRealtimeSocket } from "./opener";

describe("openRealtimeSocket", () => {
  it("fetches the https form with Upgrade: websocket and accepts the socket", async () => {
    let seen: Request | undefined;
    const pair = new WebSocketPair();
    pair[1].accept();
    const result = await openRealtimeSocket("wss://cs.eu.bandyer.com/sdk/socket/?EIO=4", {
      fetch: async (request) => {
        seen = request;
        return new Response(null, { status: 101, webSocket: pair[0] });
      },
    });
    expect(seen?.url).toBe("https://cs.eu.bandyer.com/sdk/socket/?EIO=4");
    expect(seen?.headers.get("upgrade")).toBe("websocket");
    expect(result.ok).toBe(true);
    if (result.ok) {
      const got = new Promise<unknown>((resolve) => pair[1].addEventListener("message", (e) => resolve(e.data)));
      result.socket.send("2");
      expect(await got).toBe("2");
      result.socket.close();
    }
  });

  it("reports a non-101 answer as refused with its status", async () => {
    const result = await openRealtimeSocket("wss://x.example.com/", { fetch: async () => new Response("polling only", { status: 400 }) });
    expect(result).toMatchObject({ ok: false, error: "refused", status: 400 });
  });

  it("reports a thrown fetch as network and a hung one as timeout", async () => {
    expect(await openRealtimeSocket("wss://x.example.com/", { fetch: async () => Promise.reject(new Error("dns")) })).toMatchObject({ ok: false, error: "network" });
    const hung = await openRealtimeSocket("wss://x.example.com/", { timeoutMs: 20, fetch: () => new Promise<Response>(() => {}) });
    expect(hung).toMatchObject({ ok: false, error: "timeout" });
  });

  it("the handshake bound does not outlive the handshake: the socket stays open past it", async () => {
    const result = await openRealtimeSocket("ws://127.0.0.1/sdk/socket/?api-version=2.1.0&EIO=4&transport=websocket", { fetch: emulatorFetch, timeoutMs: 100 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const frames: string[] = [];
    let closed = false;
    result.socket.addEventListener("message", (e) => {
      frames.push(String(e.data));
    });
    result.socket.addEventListener("close", () => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 400)); // four times the handshake bound
    expect(closed).toBe(false);
    result.socket.send("40{}"); // a CONNECT without credentials: the emulator answers on the same socket
    for (let i = 0; i < 100 && !frames.some((f) => f.startsWith("44")); i++) await new Promise((r) => setTimeout(r, 10));
    expect(frames.some((f) => f.startsWith("44"))).toBe(true);
    result.socket.close();
  });
});
