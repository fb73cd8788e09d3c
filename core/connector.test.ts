import { describe, expect, it } from "vitest";
import { connectionId, connectorConfig, connectorName, connectorOfConnection, DEFAULT_CONNECTOR_CONFIG, LOCATION_HINTS, shardKey, shardOrder, stableHash } from "./connector";

describe("connector pools: where a user's connection lives", () => {
  it("the same user of the same app always hashes to the same shard; another app's user with the same id may not", () => {
    const a = stableHash(shardKey("mAppId_a", { userId: "alice" }));
    expect(stableHash(shardKey("mAppId_a", { userId: "alice" }))).toBe(a);
    // FNV-1a 32: a fixed value, so a deploy never moves users between shards.
    expect(stableHash("")).toBe(0x811c9dc5);
    expect(stableHash("a")).toBe(0xe40c292c);
    expect(shardKey("mAppId_a", { userId: "alice" })).not.toBe(shardKey("mAppId_b", { userId: "alice" }));
    expect(shardKey("mAppId_a", { userId: "x" })).not.toBe(shardKey("mAppId_a", { linkDigest: "x" }));
  });

  it("spreads users over the base shards roughly evenly", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4_000; i++) counts[stableHash(shardKey("mAppId_a", { userId: `user-${i}` })) % 4]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  it("tries the user's base shard first, then every overflow shard in order, never one twice", () => {
    expect(shardOrder(7, { baseShards: 1, maxShards: 4 })).toEqual([0, 1, 2, 3]);
    expect(shardOrder(7, { baseShards: 4, maxShards: 6 })).toEqual([3, 4, 5]);
    expect(shardOrder(7, { baseShards: 2, maxShards: 2 })).toEqual([1]);
  });

  it("names connectors per environment, region and pool; a connection's id names its connector", () => {
    const name = connectorName({ environment: "sandbox", region: "eu" }, 3);
    expect(name).toBe("kc.sandbox.eu.shared.3");
    expect(connectorName({ environment: "production", region: "me", app: "mAppId_x" }, 0)).toBe("kc.production.me.mAppId_x.0");
    expect(connectorOfConnection(connectionId(name, "1b4e28ba-2fa1-11d2-883f-0016d3cca427"))).toBe(name);
    expect(connectorOfConnection("fake-1")).toBeUndefined();
    expect(connectorOfConnection("kc.sandbox.eu.shared.x/abc")).toBeUndefined();
    expect(connectorOfConnection("evil/kc.sandbox.eu.shared.0")).toBeUndefined();
  });

  it("reads the pool's size from the vars within bounds, and names the vars it ignored", () => {
    expect(connectorConfig({})).toEqual({ config: DEFAULT_CONNECTOR_CONFIG, invalid: [] });
    expect(connectorConfig({ CONNECTOR_BASE_SHARDS: "4", CONNECTOR_MAX_SHARDS: "8", CONNECTOR_MAX_SOCKETS: "500" }).config).toMatchObject({ baseShards: 4, maxShards: 8, maxSockets: 500 });
    // Six connections may wait for headers in one invocation: more handshakes than that is refused.
    expect(connectorConfig({ CONNECTOR_MAX_HANDSHAKES: "7", CONNECTOR_MAX_SOCKETS: "1.5" })).toEqual({ config: DEFAULT_CONNECTOR_CONFIG, invalid: ["CONNECTOR_MAX_SOCKETS", "CONNECTOR_MAX_HANDSHAKES"] });
    expect(connectorConfig({ CONNECTOR_BASE_SHARDS: "8", CONNECTOR_MAX_SHARDS: "2" })).toMatchObject({ config: { baseShards: 8, maxShards: 8 }, invalid: ["CONNECTOR_MAX_SHARDS"] });
  });

  it("places each region's connectors near Kaleyra's region", () => {
    expect(LOCATION_HINTS).toEqual({ eu: "weur", in: "apac", us: "enam", me: "me" });
  });
});
