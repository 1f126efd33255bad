// A WebSocket to the gateway that comes back by itself, and the sends it owes the server.
// Shared by the Order Status page and <order-chat> (orderchat.js) and the /dev shopper console
// (dev.js).

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const PING_EVERY_MS = 25_000;
const OVERLOADED_RETRY_MS = 1000; // should an `overloaded` frame not say when

/** `path` under `base` (the page's origin by default), ws: or wss: to match its scheme. */
export function socketUrl(path, token, base = location.origin) {
  const url = new URL(path, base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = `?token=${encodeURIComponent(token)}`;
  return url.href;
}

/**
 * A socket that reconnects with capped exponential backoff (with jitter) until closed.
 * Callbacks: onOpen() once a socket is open (send "join" there), onFrame(frame) per JSON
 * frame, onState(state, detail) with "connecting" | "open" | "reconnecting" | "closed".
 * The caller says healthy() once the server accepted the join; only then does the backoff
 * start again from the shortest delay, so a server that accepts and drops at once is not
 * hammered.
 */
export class ReconnectingSocket {
  constructor(url, { onOpen, onFrame, onState }) {
    this.url = url;
    this.onOpen = onOpen;
    this.onFrame = onFrame;
    this.onState = onState;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    this.onState("connecting", {});
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.onState("open", {});
      this.pinger = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
      this.onOpen();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // not ours to handle: the server only sends JSON objects
      }
      if (frame && typeof frame.type === "string") this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      if (this.stopped) {
        this.onState("closed", { code: event.code });
        return;
      }
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
      const jittered = Math.round(delay * (0.5 + Math.random() / 2));
      this.attempt += 1;
      this.onState("reconnecting", { delay: jittered, code: event.code });
      this.timer = setTimeout(() => this.connect(), jittered);
    });
  }

  healthy() {
    this.attempt = 0;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame if the socket is open; returns whether it went. */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Drops the current socket; a new one follows after the usual backoff. */
  drop() {
    if (this.ws) this.ws.close(4000, "client reconnect");
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "bye");
  }
}

/**
 * Chat sends the server has not acknowledged yet, by client_id. Each keeps its client_id
 * across reconnects, so a resend the server already stored comes back as the same message.
 */
export class Outbox {
  constructor() {
    this.pending = new Map();
  }

  add(orderId, text, media = []) {
    const clientId = newClientId();
    this.pending.set(clientId, { order_id: orderId, text, ...(media.length ? { media } : {}) });
    return clientId;
  }

  has(clientId) {
    return this.pending.has(clientId);
  }

  settle(clientId) {
    return this.pending.delete(clientId);
  }

  /** The `send` frame of one pending message. */
  frame(clientId) {
    return { type: "send", client_id: clientId, ...this.pending.get(clientId) };
  }

  /**
   * An `overloaded` error frame for one of these sends: the node is busy, not down. Sends it
   * again through `send(frame)`, same client_id, after the delay the server named. Returns
   * whether the frame was such an answer (handled here).
   */
  retryOverloaded(frame, send) {
    if (frame.code !== "overloaded" || !this.pending.has(frame.client_id)) return false;
    setTimeout(() => this.has(frame.client_id) && send(this.frame(frame.client_id)), frame.retry_after_ms ?? OVERLOADED_RETRY_MS);
    return true;
  }

  /** Sends every pending message (of `orderId`, or all) through `send(frame)`. */
  flush(send, orderId = null) {
    for (const [clientId, item] of this.pending) {
      if (orderId !== null && item.order_id !== orderId) continue;
      send(this.frame(clientId));
    }
  }
}

/** A fresh random id. crypto.randomUUID exists only in secure contexts (https, localhost),
 * and a page may be served over plain http on a LAN address. */
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
