/** A client of the peer worker's partyserver room (bench/peer/index.ts): open, first frame, close. */
import { nowMs } from "./proc.mjs";

export class PeerClient {
  constructor(stack, room) {
    this.url = `${stack.wsBase}/parties/room/${room}`;
  }

  open() {
    this.tOpenStart = nowMs();
    const ws = new WebSocket(this.url);
    this.ws = ws;
    return new Promise((resolve) => {
      ws.addEventListener("message", () => {
        if (this.tFirstState === undefined) {
          this.tFirstState = nowMs();
          this.tFirstFrame = this.tFirstState;
          resolve(true);
        }
      });
      ws.addEventListener("close", () => {
        this.closed = true;
        resolve(false);
      });
    });
  }

  close() {
    try {
      this.ws.close();
    } catch {
      // Closing.
    }
  }
}
