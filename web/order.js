// The Order Status page: live status, chat with the shopper, the SMS switch.
// The server renders the page's state into the HTML; this module keeps it current over
// /ws/customer (contract section 6) and PUT /v1/orders/{id}/sms.

import { Outbox, ReconnectingSocket, clock, socketUrl } from "./socket.js";

const $ = (id) => document.getElementById(id);

const initial = JSON.parse($("initial").textContent);
const orderId = initial.id;
const token = initial.customer_token;

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
};

const state = {
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
const rendered = new Map(); // seq -> <li>
const outbox = new Outbox();
let typingTimer = null;

// --- status ------------------------------------------------------------------------------

function showStatus(status, chat) {
  state.status = status;
  const main = $("order");
  main.dataset.status = status;
  const steps = [...document.querySelectorAll("#timeline .step:not([data-step=canceled])")];
  const current = steps.findIndex((li) => li.dataset.statuses.split(" ").includes(status));
  const canceled = status === "canceled";
  steps.forEach((li, index) => {
    const step = canceled ? (index === 0 ? "done" : "skipped") : index < current ? "done" : index === current ? "current" : "todo";
    li.className = `step ${step}`;
    if (step === "current") li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  });
  document.querySelector("#timeline [data-step=canceled]").hidden = !canceled;
  const label = canceled
    ? "Canceled"
    : current >= 0
      ? steps[current].querySelector(".label").textContent
      : null;
  if (label) $("status-headline").textContent = label;
  showChat(chat);
}

function showChat(chat) {
  state.chat = chat;
  $("order").dataset.chat = chat;
  for (const reason of document.querySelectorAll(".chat-reason")) {
    reason.hidden = reason.dataset.chat !== chat;
  }
  const open = chat === "open";
  $("composer-text").disabled = !open;
  $("composer-send").disabled = !open;
  if (!open) $("typing").hidden = true;
}

// --- connection ------------------------------------------------------------------------

function showConnection(kind, text) {
  const element = $("connection");
  element.dataset.state = kind;
  $("connection-text").textContent = text;
}

const socket = new ReconnectingSocket(socketUrl("/ws/customer", token), {
  onOpen() {
    socket.send({ type: "join", order_id: orderId, after: state.lastSeq });
  },
  onState(kind) {
    if (kind === "open") return; // still "connecting" until joined
    state.live = false;
    if (kind === "connecting" && !state.everJoined) showConnection("connecting", "Connecting…");
    else if (kind === "closed") showConnection("offline", "Offline");
    else showConnection("reconnecting", "Reconnecting…");
  },
  onFrame(frame) {
    const handler = handlers[frame.type];
    if (handler) handler(frame);
  },
});

const handlers = {
  joined(frame) {
    if (frame.order_id !== orderId) return;
    if (frame.last_seq < state.lastSeq) {
      // The server no longer has what we showed (its history was reset): start over from it.
      for (const li of rendered.values()) li.remove();
      rendered.clear();
      state.lastSeq = 0;
    }
    for (const message of frame.history) addMessage(message);
    state.lastSeq = Math.max(state.lastSeq, frame.last_seq);
    showStatus(frame.order.status, frame.order.chat);
    state.live = true;
    state.everJoined = true;
    socket.healthy();
    showConnection("live", "Live");
    outbox.flush((f) => socket.send(f));
    sendRead();
  },
  message(frame) {
    if (frame.order_id === orderId) addMessage(frame.message);
  },
  ack(frame) {
    addMessage(frame.message, frame.client_id);
  },
  status(frame) {
    if (frame.order_id === orderId) showStatus(frame.status, frame.chat);
  },
  typing(frame) {
    if (frame.order_id !== orderId || frame.from !== "shopper" || state.chat !== "open") return;
    $("typing").hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => ($("typing").hidden = true), TYPING_SHOWN_MS);
  },
  read(frame) {
    if (frame.order_id !== orderId || frame.by !== "shopper") return;
    state.readByShopper = Math.max(state.readByShopper, frame.seq);
    showReadMark();
  },
  error(frame) {
    if (outbox.retryOverloaded(frame, (f) => state.live && socket.send(f))) return;
    if (frame.client_id && outbox.has(frame.client_id)) {
      if (frame.code === "rate_limited") {
        setTimeout(() => state.live && outbox.flush((f) => socket.send(f)), RATE_LIMIT_RETRY_MS);
        return;
      }
      outbox.settle(frame.client_id);
      failPending(frame.client_id, ERROR_TEXT[frame.code] || frame.message);
      return;
    }
    showComposerError(ERROR_TEXT[frame.code] || frame.message);
  },
};

// --- messages --------------------------------------------------------------------------

function messageElement(message, pending) {
  const li = document.createElement("li");
  li.className = `msg from-${message.from}`;
  const meta = document.createElement("p");
  meta.className = "msg-meta";
  const who = document.createElement("span");
  who.className = "who";
  who.textContent =
    message.from === "customer" ? "You" : message.from === "shopper" ? state.shopper || "Your shopper" : "Update";
  meta.append(who);
  if (message.at) {
    const time = document.createElement("time");
    time.dateTime = message.at;
    time.textContent = clock(message.at);
    meta.append(" · ", time);
  }
  if (message.via === "sms") meta.append(" · by text");
  const text = document.createElement("p");
  text.className = "msg-text";
  text.textContent = message.text;
  li.append(meta, text);
  if (pending) {
    const note = document.createElement("p");
    note.className = "msg-state";
    note.textContent = "Sending…";
    li.append(note);
    li.classList.add("pending");
  }
  return li;
}

/** Shows a stored message once (by seq); it replaces our unsent copy of it, if any. */
function addMessage(message, clientId = message.client_id) {
  const list = $("messages");
  if (clientId && outbox.settle(clientId)) {
    const pending = list.querySelector(`li[data-client-id="${CSS.escape(clientId)}"]`);
    if (pending) pending.remove();
  }
  if (rendered.has(message.seq)) return;
  const li = messageElement(message, false);
  li.dataset.seq = String(message.seq);
  // Keep seq order; unsent messages stay at the bottom.
  const later = [...list.children].find(
    (other) => other.classList.contains("pending") || Number(other.dataset.seq) > message.seq,
  );
  list.insertBefore(li, later || null);
  rendered.set(message.seq, li);
  state.lastSeq = Math.max(state.lastSeq, message.seq);
  list.scrollTop = list.scrollHeight;
  if (message.from === "shopper") {
    $("typing").hidden = true;
    sendRead();
  }
  showReadMark();
}

function addPending(clientId, text) {
  const li = messageElement({ from: "customer", text }, true);
  li.dataset.clientId = clientId;
  $("messages").append(li);
  $("messages").scrollTop = $("messages").scrollHeight;
}

function failPending(clientId, reason) {
  const li = $("messages").querySelector(`li.pending[data-client-id="${CSS.escape(clientId)}"]`);
  if (!li) return;
  li.classList.replace("pending", "failed");
  li.querySelector(".msg-state").textContent = `Not sent: ${reason}`;
}

function showReadMark() {
  for (const old of document.querySelectorAll(".msg .read-mark")) old.remove();
  const mine = [...rendered.entries()]
    .filter(([seq, li]) => seq <= state.readByShopper && li.classList.contains("from-customer"))
    .sort(([a], [b]) => b - a);
  if (!mine.length) return;
  const mark = document.createElement("p");
  mark.className = "msg-state read-mark";
  mark.textContent = "Read";
  mine[0][1].append(mark);
}

function sendRead() {
  if (!state.live || document.visibilityState !== "visible") return;
  const seqs = [...rendered.entries()]
    .filter(([, li]) => !li.classList.contains("from-customer"))
    .map(([seq]) => seq);
  const latest = Math.max(0, ...seqs);
  if (latest > state.readSent) {
    state.readSent = latest;
    socket.send({ type: "read", order_id: orderId, seq: latest });
  }
}

function showComposerError(text) {
  const element = $("composer-error");
  element.textContent = text;
  element.hidden = !text;
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const box = $("composer-text");
  const text = box.value.trim();
  if (!text || state.chat !== "open") return;
  if (text.length > 1000) {
    showComposerError(ERROR_TEXT.too_long);
    return;
  }
  showComposerError("");
  const clientId = outbox.add(orderId, text);
  addPending(clientId, text);
  box.value = "";
  if (state.live) socket.send({ type: "send", order_id: orderId, client_id: clientId, text });
});

$("composer-text").addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter makes a new line, as in most chat apps.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("composer-text").addEventListener("input", () => {
  const now = Date.now();
  if (state.live && state.chat === "open" && now - state.lastTypingSent > TYPING_SENT_EVERY_MS) {
    state.lastTypingSent = now;
    socket.send({ type: "typing", order_id: orderId });
  }
});

document.addEventListener("visibilitychange", sendRead);

// --- SMS switch ------------------------------------------------------------------------

function showSMS(optIn) {
  $("sms-opt-in").checked = optIn;
  $("sms-state").querySelector("strong").textContent = optIn ? "on" : "off";
}

$("sms-opt-in").addEventListener("change", async (event) => {
  const wanted = event.target.checked;
  const box = event.target;
  box.disabled = true;
  $("sms-error").hidden = true;
  try {
    const response = await fetch(`/v1/orders/${encodeURIComponent(orderId)}/sms`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ opt_in: wanted }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      showSMS(body.opt_in);
    } else {
      showSMS(!wanted);
      const sender = document.querySelector(".sms-card").dataset.sender;
      $("sms-error").textContent =
        body.error && body.error.code === "opted_out_by_keyword"
          ? `You texted STOP. Text START to ${sender} to turn texts back on.`
          : "We couldn't change this right now. Please try again.";
      $("sms-error").hidden = false;
    }
  } catch {
    showSMS(!wanted);
    $("sms-error").textContent = "We couldn't reach the server. Please try again.";
    $("sms-error").hidden = false;
  } finally {
    box.disabled = false;
  }
});

// --- start -----------------------------------------------------------------------------

$("sms-opt-in").disabled = false;
showStatus(state.status, state.chat);
socket.start();
