/** Picks the remote adapter named by the REMOTE binding. */
import { FakeRemote } from "./fake";
import type { KaleyraRemote } from "./port";

export function createRemote(name: string): KaleyraRemote {
  switch (name) {
    case "fake":
      return new FakeRemote();
    default:
      throw new Error(`REMOTE must be "fake" (got ${JSON.stringify(name)})`);
  }
}
