// One order's live status and chat, on markup the gateway rendered (web/order-body.html).
// Shared by the Order Status page (order.js, root = document) and the <order-chat> element
// (embed.js, root = its shadow root on a retailer's page). It keeps the markup current over
// /ws/customer (contract section 6) under `base`; the SMS switch is smsswitch.js's.

import { Outbox, ReconnectingSocket, newClientId, socketUrl } from "./socket.js";
import { messageElement } from "./bubble.js";
import { PhotoAttach } from "./photos.js";
import { ProposalCards } from "./proposals.js";
import { SMSSwitch } from "./smsswitch.js";
import { refreshTimes } from "./time.js";
import { UnreadCount } from "./unread.js";

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 3000;
const RATE_LIMIT_RETRY_MS = 1500;
const ERROR_TEXT = {
  chat_not_open: "Chat isn't open yet.",
  chat_closed: "This chat is closed.",
  chat_unavailable: "Chat isn't available for this order.",
  too_long: "Messages can be up to 1000 characters.",
  bad_frame: "That message couldn't be sent.",
  not_authorized: "This page's link is no longer valid.",
  bad_media: "That photo couldn't be sent.",
  already_answered: "This was answered already.",
};

/** Which chat reason shows (gateway/endpoints/pages.py reason_key decides the same way). */
function reasonKey(status, chat) {
  return chat === "closed" && status === "canceled" ? "canceled" : chat;
}

const pageVisible = () => document.visibilityState === "visible";

export class OrderChat {
  /** `root`: a Document or ShadowRoot holding the order's markup; `base`: the gateway's URL. */
  constructor(root, { base = location.origin } = {}) {
    this.root = root;
    this.base = new URL(base);
    const initial = JSON.parse(this.$("initial").textContent);
    this.orderId = initial.id;
    this.token = initial.customer_token;
    this.person = this.$("order").dataset.person || "shopper";
    this.state = {
      status: initial.status,
      chat: initial.chat,
      shopper: initial.shopper ? initial.shopper.name : null,
      lastSeq: 0,
      readByShopper: 0, // highest seq the shopper has read
      readSent: 0, // highest seq we told the server we read
      lastTypingSent: 0,
      live: false,
      everJoined: false,
    };
    this.rendered = new Map(); // seq -> <li>
    this.outbox = new Outbox();
    this.proposals = new ProposalCards();
    this.answering = new Map(); // client_id of an answer on its way -> the proposal's seq
    this.typingTimer = null;
    this.sms = new SMSSwitch((id) => this.$(id), { base: this.base, orderId: this.orderId, token: this.token });
    this.unread = new UnreadCount(this.$("unread")); // shopper messages that came while hidden
    this.onVisibility = () => this.visibilityChanged();
    this.socket = new ReconnectingSocket(socketUrl("ws/customer", this.token, this.base), {
      onOpen: () => {
        this.socket.send({ type: "join", order_id: this.orderId, after: this.state.lastSeq });
        this.sendPresence();
      },
      onState: (kind) => this.socketState(kind),
      onFrame: (frame) => {
        const handler = this.handlers[frame.type];
        if (handler) handler.call(this, frame);
      },
    });
  }

  $(id) {
    return this.root.getElementById(id);
  }

  start() {
    this.$("composer").addEventListener("submit", (event) => this.submit(event));
    this.$("composer-text").addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter makes a new line, as in most chat apps.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.$("composer").requestSubmit();
      }
    });
    this.$("composer-text").addEventListener("input", () => this.typed());
    this.photos = new PhotoAttach({
      composer: this.$("composer"), textBox: this.$("composer-text"), base: this.base, orderId: this.orderId,
      token: this.token, onError: (text) => this.showComposerError(text),
    });
    this.sms.start();
    document.addEventListener("visibilitychange", this.onVisibility);
    this.showStatus(this.state.status, this.state.chat);
    this.socket.start();
  }

  stop() {
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.unread.clear();
    this.socket.stop();
  }

  // --- status ----------------------------------------------------------------------------

  showStatus(status, chat) {
    this.state.status = status;
    this.$("order").dataset.status = status;
    const steps = [...this.root.querySelectorAll("#timeline .step:not([data-step=canceled])")];
    const current = steps.findIndex((li) => li.dataset.statuses.split(" ").includes(status));
    const canceled = status === "canceled";
    steps.forEach((li, index) => {
      const step = canceled ? (index === 0 ? "done" : "skipped") : index < current ? "done" : index === current ? "current" : "todo";
      li.className = `step ${step}`;
      if (step === "current") li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    this.root.querySelector("#timeline [data-step=canceled]").hidden = !canceled;
    const label = canceled ? "Canceled" : current >= 0 ? steps[current].querySelector(".label").textContent : null;
    if (label) this.$("status-headline").textContent = label;
    this.showChat(chat);
    this.sms.showStatus(status);
  }

  showShopper(shopper) {
    if (!shopper || !shopper.name) return;
    this.state.shopper = shopper.name;
    this.$("shopper-name").textContent = shopper.name;
    this.$("shopper-line").hidden = false;
  }

  showChat(chat) {
    this.state.chat = chat;
    this.$("order").dataset.chat = chat;
    const shown = reasonKey(this.state.status, chat);
    for (const reason of this.root.querySelectorAll(".chat-reason")) reason.hidden = reason.dataset.reason !== shown;
    this.$("chat-live").hidden = chat === "unavailable";
    const open = chat === "open";
    this.$("composer-text").disabled = !open;
    this.$("composer-send").disabled = !open;
    if (this.photos) this.photos.disabled = !open;
    if (!open) this.$("typing").hidden = true;
  }

  // --- connection ------------------------------------------------------------------------

  showConnection(kind, text) {
    this.$("connection").dataset.state = kind;
    this.$("connection-text").textContent = text;
  }

  socketState(kind) {
    if (kind === "open") return; // still "connecting" until joined
    this.state.live = false;
    if (kind === "connecting" && !this.state.everJoined) this.showConnection("connecting", "Connecting…");
    else if (kind === "closed") this.showConnection("offline", "Offline");
    else this.showConnection("reconnecting", "Reconnecting…");
  }

  sendPresence() {
    this.socket.send({ type: "presence", order_id: this.orderId, visible: pageVisible() });
  }

  visibilityChanged() {
    if (this.state.live) this.sendPresence();
    if (!pageVisible()) return;
    refreshTimes(this.$("messages"));
    this.unread.clear();
    this.sendRead();
  }

  // --- frames ------------------------------------------------------------------------------

  handlers = {
    joined(frame) {
      if (frame.order_id !== this.orderId) return;
      if (frame.last_seq < this.state.lastSeq) {
        // The server no longer has what we showed (its history was reset): start over from it.
        for (const li of this.rendered.values()) li.remove();
        this.rendered.clear();
        this.proposals.clear();
        this.state.lastSeq = 0;
      }
      for (const message of frame.history) this.addMessage(message);
      this.state.lastSeq = Math.max(this.state.lastSeq, frame.last_seq);
      this.showShopper(frame.order.shopper);
      this.showStatus(frame.order.status, frame.order.chat);
      this.state.live = true;
      this.state.everJoined = true;
      this.socket.healthy();
      this.showConnection("live", "Live");
      this.outbox.flush((f) => this.socket.send(f));
      this.sendRead();
    },
    message(frame) {
      if (frame.order_id === this.orderId) this.addMessage(frame.message);
    },
    ack(frame) {
      this.answering.delete(frame.client_id);
      this.addMessage(frame.message, frame.client_id);
    },
    proposal(frame) {
      if (frame.order_id === this.orderId) this.proposals.answered(frame);
    },
    status(frame) {
      if (frame.order_id !== this.orderId) return;
      this.showShopper(frame.shopper);
      this.showStatus(frame.status, frame.chat);
    },
    typing(frame) {
      if (frame.order_id !== this.orderId || frame.from !== "shopper" || this.state.chat !== "open") return;
      this.$("typing").hidden = false;
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => (this.$("typing").hidden = true), TYPING_SHOWN_MS);
    },
    read(frame) {
      if (frame.order_id !== this.orderId || frame.by !== "shopper") return;
      this.state.readByShopper = Math.max(this.state.readByShopper, frame.seq);
      this.showReadMark();
    },
    error(frame) {
      if (this.outbox.retryOverloaded(frame, (f) => this.state.live && this.socket.send(f))) return;
      if (this.answering.has(frame.client_id)) {
        this.proposals.refused(this.answering.get(frame.client_id), ERROR_TEXT[frame.code] || frame.message);
        this.answering.delete(frame.client_id);
        return;
      }
      if (frame.client_id && this.outbox.has(frame.client_id)) {
        if (frame.code === "rate_limited") {
          setTimeout(() => this.state.live && this.outbox.flush((f) => this.socket.send(f)), RATE_LIMIT_RETRY_MS);
          return;
        }
        this.outbox.settle(frame.client_id);
        this.failPending(frame.client_id, ERROR_TEXT[frame.code] || frame.message);
        return;
      }
      this.showComposerError(ERROR_TEXT[frame.code] || frame.message);
    },
  };

  // --- messages ------------------------------------------------------------------------------

  messageElement(message, pending) {
    const shopperLabel = this.state.shopper || `Your ${this.person}`;
    return messageElement(message, { pending, shopperLabel, onChoose: (seq, choice) => this.answer(seq, choice) });
  }

  /** The customer pressed a proposal's button: one `answer` frame; the server says who won. */
  answer(seq, choice) {
    if (!this.state.live || this.state.chat !== "open") {
      this.proposals.refused(seq, this.state.live ? ERROR_TEXT.chat_closed : "Offline: try again once connected.");
      return;
    }
    const clientId = newClientId();
    this.answering.set(clientId, seq);
    this.socket.send({ type: "answer", order_id: this.orderId, client_id: clientId, seq, choice });
  }

  /** Shows a stored message once (by seq); it replaces our unsent copy of it, if any. */
  addMessage(message, clientId = message.client_id) {
    const list = this.$("messages");
    if (clientId && this.outbox.settle(clientId)) {
      const pending = list.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
      if (pending) pending.remove();
    }
    if (this.rendered.has(message.seq)) return;
    const li = this.messageElement(message, false);
    li.dataset.seq = String(message.seq);
    // Keep seq order; unsent messages stay at the bottom.
    const later = [...list.children].find(
      (other) => other.classList.contains("pending") || Number(other.dataset.seq) > message.seq,
    );
    list.insertBefore(li, later || null);
    this.rendered.set(message.seq, li);
    if (message.proposal) this.proposals.add(message, li.querySelector(".proposal"));
    this.proposals.answerMessage(message);
    this.state.lastSeq = Math.max(this.state.lastSeq, message.seq);
    list.scrollTop = list.scrollHeight;
    if (message.from === "shopper") {
      this.$("typing").hidden = true;
      // The first join's history is what the customer comes to read, not news.
      if (!pageVisible() && this.state.everJoined && message.seq > this.state.readSent) {
        this.unread.add();
      }
      this.sendRead();
    }
    this.showReadMark();
  }

  addPending(clientId, text) {
    const li = this.messageElement({ from: "customer", text }, true);
    li.dataset.clientId = clientId;
    this.$("messages").append(li);
    this.$("messages").scrollTop = this.$("messages").scrollHeight;
  }

  failPending(clientId, reason) {
    const li = this.$("messages").querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);
    if (!li) return;
    li.classList.replace("pending", "failed");
    li.querySelector(".msg-state").textContent = `Not sent: ${reason}`;
  }

  showReadMark() {
    for (const old of this.root.querySelectorAll(".msg .read-mark")) old.remove();
    const mine = [...this.rendered.entries()]
      .filter(([seq, li]) => seq <= this.state.readByShopper && li.classList.contains("from-customer"))
      .sort(([a], [b]) => b - a);
    if (!mine.length) return;
    const mark = document.createElement("p");
    mark.className = "msg-state read-mark";
    mark.textContent = "Read";
    mine[0][1].append(mark);
  }

  sendRead() {
    if (!this.state.live || !pageVisible()) return;
    const seqs = [...this.rendered.entries()]
      .filter(([, li]) => !li.classList.contains("from-customer"))
      .map(([seq]) => seq);
    const latest = Math.max(0, ...seqs);
    if (latest > this.state.readSent) {
      this.state.readSent = latest;
      this.socket.send({ type: "read", order_id: this.orderId, seq: latest });
    }
  }

  showComposerError(text) {
    const element = this.$("composer-error");
    element.textContent = text;
    element.hidden = !text;
  }

  submit(event) {
    event.preventDefault();
    const box = this.$("composer-text");
    const text = box.value.trim();
    if ((!text && !this.photos.count) || this.state.chat !== "open") return;
    if (text.length > 1000) {
      this.showComposerError(ERROR_TEXT.too_long);
      return;
    }
    if (this.photos.busy) {
      this.showComposerError("Wait for the photo to finish uploading.");
      return;
    }
    this.showComposerError("");
    const media = this.photos.take();
    const clientId = this.outbox.add(this.orderId, text, media);
    this.addPending(clientId, text);
    box.value = "";
    if (this.state.live) this.socket.send(this.outbox.frame(clientId));
  }

  typed() {
    const now = Date.now();
    if (this.state.live && this.state.chat === "open" && now - this.state.lastTypingSent > TYPING_SENT_EVERY_MS) {
      this.state.lastTypingSent = now;
      this.socket.send({ type: "typing", order_id: this.orderId });
    }
  }
}
