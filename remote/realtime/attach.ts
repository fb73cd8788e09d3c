/**
 * Wires a WebSocket's events to a RealtimeConnection (message -> receive, close/error ->
 * socketClosed). For a non-hibernatable outbound socket, whose events arrive by listener.
 */
import type { RealtimeConnection } from "./connection";

export interface ListenableSocket {
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}

export function attachSocket(socket: ListenableSocket, connection: RealtimeConnection): void {
  // Braces: a listener must not return a value (workerd warns about it).
  socket.addEventListener("message", (event) => {
    connection.receive(event.data);
  });
  socket.addEventListener("close", (event) => {
    connection.socketClosed(`close ${event.code}`);
  });
  socket.addEventListener("error", () => {
    connection.socketClosed("socket error");
  });
}
