/** A session's socket as the attach gate (core/attach.ts) and the closing-socket rules (core/closing-sockets.ts) see it. */
export interface SocketInfo {
  id: string;
  /** Session time the socket was accepted. */
  attachedAt: number;
  /** Session time its last proof ended without proving it, or it was asked for a token. */
  waitingSince?: number;
  proven: boolean;
  /** Its proof is running (the session's pending proof, or a check in flight): it is not closed for being slow. */
  proving: boolean;
  /** It was sent a token request for its check and has not answered. */
  asked?: boolean;
  /** The session closed it and the peer has not answered yet (core/closing-sockets.ts). */
  closing: boolean;
  /** Session time the session closed it. */
  closedAt?: number;
}
