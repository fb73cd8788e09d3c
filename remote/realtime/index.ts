/** The client side of Kaleyra's realtime connection; see connection.ts for the invariants. */
export * from "./auth";
export * from "./connection";
export * from "./events";
export * from "./opener";
export * from "./url";
export { attachSocket } from "./attach";
