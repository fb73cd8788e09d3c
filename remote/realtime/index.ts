/** The client side of Kaleyra's realtime connection; see connection.ts for the invariants, reports.ts for what it reports. */
export * from "./auth";
export * from "./connection";
export * from "./events";
export * from "./opener";
export * from "./reports";
export * from "./url";
export { attachSocket } from "./attach";
