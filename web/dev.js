// /dev (console mode only): a demo order, its shopper's console and its customer's phone.

import { PhotoAttach, photosElement } from "./photos.js";
import { ProposalCards, proposalElement } from "./proposals.js";
import { Outbox, ReconnectingSocket, newClientId, socketUrl } from "./socket.js";
import { clock } from "./time.js";

const $ = (id) => document.getElementById(id);
const STORAGE_KEY = "gateway-dev-demo";

let demo = null; // {order, shopper_token, shopper_id, phone, sender}
let shopperSocket = null;
const shopper = { joined: false, lastSeq: 0, receipts: new Map(), rendered: new Map(), readByCustomer: 0 };
const outbox = new Outbox();
const proposalCards = new ProposalCards(); // the shopper's proposals, answered by the customer
const phone = { after: 0, texts: [], polling: false, photos: [] }; // photos: {url, preview} for the next text
let shopperPhotos = null; // the shopper console's attach button (photos.js)

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data;
}

function bubble(list, cls, who, text, at) {
  const li = document.createElement("li");
  li.className = `msg ${cls}`;
  const meta = document.createElement("p");
  meta.className = "msg-meta";
  meta.textContent = at ? `${who} · ${clock(at)}` : who;
  const body = document.createElement("p");
  body.className = "msg-text";
  body.textContent = text;
  li.append(meta, body);
  list.append(li);
  list.scrollTop = list.scrollHeight;
  return li;
}

// --- demo order ----------------------------------------------------------------------------

function showDemo() {
  $("demo-info").hidden = !demo;
  if (!demo) return;
  const order = demo.order;
  $("demo-order-id").textContent = order.id;
  $("demo-phone").textContent = demo.phone;
  // Same origin as this page, whatever public_url says.
  $("demo-link").href = `/orders/${encodeURIComponent(order.id)}?token=${encodeURIComponent(order.customer_token)}`;
  showOrderStatus(order.status, order.chat);
  $("phone-number").textContent = `Phone ${demo.phone}`;
  for (const button of document.querySelectorAll("[data-event]")) button.disabled = false;
  $("phone-text").disabled = false;
  $("phone-send").disabled = false;
  renderPhone();
}

function showOrderStatus(status, chat) {
  if (status !== "brand_new") $("demo-log").textContent = "";  // the hint has been followed
  $("demo-status").textContent = status;
  $("demo-chat").textContent = chat;
  const open = chat === "open";
  $("shopper-text").disabled = !open;
  $("shopper-send").disabled = !open;
  $("proposal-send").disabled = !open;
}

$("create-demo").addEventListener("click", async () => {
  $("demo-log").textContent = "Creating…";
  try {
    demo = await api("POST", "/dev/api/demo");
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(demo));
    $("demo-log").textContent = "Created. Post “acknowledged” or “picking” to assign it to Alex.";
    resetShopperChat();
    showDemo();
    startShopper();
  } catch (error) {
    $("demo-log").textContent = `Could not create a demo order: ${error.message}`;
  }
});

// --- shopper console -----------------------------------------------------------------------

function resetShopperChat() {
  shopper.joined = false;
  shopper.lastSeq = 0;
  shopper.receipts.clear();
  shopper.rendered.clear();
  shopper.readByCustomer = 0;
  proposalCards.clear();
  $("shopper-messages").replaceChildren();
  if (shopperSocket && shopperSocket.isOpen) join();
}

function join() {
  if (demo) shopperSocket.send({ type: "join", order_id: demo.order.id, after: shopper.lastSeq });
}

function showShopperConnection(kind, text) {
  $("shopper-connection").dataset.state = kind;
  $("shopper-connection-text").textContent = text;
}

function startShopper() {
  shopperPhotos ||= new PhotoAttach({
    composer: $("shopper-composer"), textBox: $("shopper-text"), base: location.origin, orderId: demo.order.id,
    token: demo.shopper_token, onError: (text) => ($("shopper-log").textContent = text),
  });
  Object.assign(shopperPhotos, { orderId: demo.order.id, token: demo.shopper_token });
  if (shopperSocket) return; // one connection serves every order of this shopper
  shopperSocket = new ReconnectingSocket(socketUrl("/ws/shopper", demo.shopper_token), {
    onOpen: join,
    onState(kind) {
      if (kind === "open") return;
      shopper.joined = false;
      showShopperConnection(kind === "connecting" ? "connecting" : "reconnecting",
        kind === "connecting" ? "Connecting…" : "Reconnecting…");
    },
    onFrame(frame) {
      const handler = shopperHandlers[frame.type];
      if (handler) handler(frame);
    },
  });
  shopperSocket.start();
}

const shopperHandlers = {
  joined(frame) {
    if (!demo || frame.order_id !== demo.order.id) return;
    shopper.joined = true;
    shopperSocket.healthy();
    showShopperConnection("live", "Live");
    $("shopper-log").textContent = "";
    for (const message of frame.history) addShopperMessage(message);
    shopper.lastSeq = Math.max(shopper.lastSeq, frame.last_seq);
    showOrderStatus(frame.order.status, frame.order.chat);
    outbox.flush((f) => shopperSocket.send(f), demo.order.id);
  },
  message(frame) {
    if (demo && frame.order_id === demo.order.id) addShopperMessage(frame.message);
  },
  ack(frame) {
    outbox.settle(frame.client_id);
    const pending = $("shopper-messages").querySelector(`li[data-client-id="${CSS.escape(frame.client_id)}"]`);
    if (pending) pending.remove();
    addShopperMessage(frame.message);
  },
  status(frame) {
    if (demo && frame.order_id === demo.order.id) showOrderStatus(frame.status, frame.chat);
  },
  proposal(frame) {
    if (demo && frame.order_id === demo.order.id) proposalCards.answered(frame);
  },
  receipt(frame) {
    if (!demo || frame.order_id !== demo.order.id) return;
    shopper.receipts.set(frame.seq, frame.sms);
    showReceipt(frame.seq);
  },
  typing(frame) {
    if (!demo || frame.order_id !== demo.order.id || frame.from !== "customer") return;
    $("shopper-typing").hidden = false;
    clearTimeout(shopperHandlers.typingTimer);
    shopperHandlers.typingTimer = setTimeout(() => ($("shopper-typing").hidden = true), 4000);
  },
  read(frame) {
    if (!demo || frame.order_id !== demo.order.id || frame.by !== "customer") return;
    shopper.readByCustomer = Math.max(shopper.readByCustomer, frame.seq);
    for (const seq of shopper.rendered.keys()) showReceipt(seq);
  },
  error(frame) {
    if (frame.code === "not_authorized" && !shopper.joined) {
      showShopperConnection("connecting", "Connected, not joined");
      $("shopper-log").textContent = "Not assigned to Alex yet: post an event to assign it.";
      return;
    }
    if (outbox.retryOverloaded(frame, (f) => shopper.joined && shopperSocket.send(f))) return;
    if (frame.client_id) {
      outbox.settle(frame.client_id);
      const pending = $("shopper-messages").querySelector(`li[data-client-id="${CSS.escape(frame.client_id)}"]`);
      if (pending) pending.querySelector(".receipt").textContent = `not sent: ${frame.code}`;
    }
    $("shopper-log").textContent = `${frame.code}: ${frame.message}`;
  },
};

function addShopperMessage(message) {
  if (shopper.rendered.has(message.seq)) return;
  const who = { customer: "Customer", shopper: "Alex (you)", system: "Update" }[message.from];
  const side = { customer: "theirs", shopper: "mine", system: "from-system" }[message.from];
  if (message.client_id) {
    const pending = $("shopper-messages").querySelector(`li[data-client-id="${CSS.escape(message.client_id)}"]`);
    if (pending) pending.remove();
    outbox.settle(message.client_id);
  }
  const li = bubble($("shopper-messages"), side, message.via === "sms" ? `${who} · by text` : who, message.text, message.at);
  if (message.media?.length) li.append(photosElement(message.media, message.from === "shopper" ? "you sent" : `from the ${message.from}`));
  if (message.proposal) {
    const card = proposalElement(message, { answeredBy: "The customer chose" });
    li.append(card);
    proposalCards.add(message, card);
  }
  proposalCards.answerMessage(message);
  li.dataset.seq = message.seq;
  shopper.rendered.set(message.seq, { li, from: message.from });
  shopper.lastSeq = Math.max(shopper.lastSeq, message.seq);
  if (message.from === "shopper") {
    const receipt = document.createElement("p");
    receipt.className = "receipt";
    li.append(receipt);
    showReceipt(message.seq);
  } else if (message.from === "customer") {
    $("shopper-typing").hidden = true;
    shopperSocket.send({ type: "read", order_id: demo.order.id, seq: message.seq });
  }
}

function showReceipt(seq) {
  const entry = shopper.rendered.get(seq);
  if (!entry || entry.from !== "shopper") return;
  const parts = [];
  const sms = shopper.receipts.get(seq);
  const words = { held: "held: the customer is on the page", read_on_page: "read on the page, not texted" };
  if (sms) parts.push(`SMS: ${words[sms] || sms.replaceAll("_", " ")}`);
  if (shopper.readByCustomer >= seq) parts.push("read on the page");
  entry.li.querySelector(".receipt").textContent = parts.join(" · ");
}

for (const button of document.querySelectorAll("[data-event]")) {
  button.addEventListener("click", async () => {
    if (!demo) return;
    const name = button.dataset.event;
    try {
      const result = await api("POST", `/dev/api/orders/${encodeURIComponent(demo.order.id)}/events`, { event_name: name });
      $("shopper-log").textContent = result.applied ? `${name}: now ${result.status}` : `${name}: not applied (still ${result.status})`;
      if (!shopper.joined && shopperSocket && shopperSocket.isOpen) join();
    } catch (error) {
      $("shopper-log").textContent = `${name} failed: ${error.message}`;
    }
  });
}

$("shopper-composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("shopper-text").value.trim();
  if (!demo || (!text && !shopperPhotos.count) || shopperPhotos.busy) return;
  const media = shopperPhotos.take();
  const clientId = outbox.add(demo.order.id, text, media);
  const li = bubble($("shopper-messages"), "mine pending", "Alex (you)", text);
  li.dataset.clientId = clientId;
  const receipt = document.createElement("p");
  receipt.className = "receipt";
  receipt.textContent = "sending…";
  li.append(receipt);
  $("shopper-text").value = "";
  if (shopper.joined) shopperSocket.send(outbox.frame(clientId));
});

$("proposal-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!demo || !shopper.joined) return;
  const options = [1, 2, 3].map((n) => $(`proposal-option-${n}`).value.trim()).filter(Boolean);
  const frame = {
    type: "propose", order_id: demo.order.id, client_id: newClientId(),
    item: $("proposal-item").value.trim(), options, text: $("proposal-note").value.trim(),
  };
  shopperSocket.send(frame); // the ack shows it, as a card; a refusal shows in the log
  $("proposal-form").reset();
});

$("shopper-text").addEventListener("input", () => {
  const now = Date.now();
  if (shopper.joined && now - (shopper.lastTyping || 0) > 3000) {
    shopper.lastTyping = now;
    shopperSocket.send({ type: "typing", order_id: demo.order.id });
  }
});

// --- phone ------------------------------------------------------------------------------------

/** A text on the phone, with its MMS photos (URLs the gateway signed, or our own previews). */
function phoneBubble(cls, who, text) {
  const li = bubble($("phone-messages"), cls, who, text.body, text.at);
  const urls = text.media_urls || [];
  if (urls.length) {
    const owner = cls === "mine" ? "you sent" : `from ${text.sender}`;
    li.append(photosElement(urls.map((url) => ({ url })), owner));
  }
  return li;
}

function renderPhone() {
  $("phone-messages").replaceChildren();
  if (!demo) return;
  for (const text of phone.texts) {
    if (text.to === demo.phone) phoneBubble("theirs", `From ${text.sender}`, text);
    else if (text.from === demo.phone) phoneBubble("mine", "Me", text);
  }
}

async function pollTexts() {
  if (phone.polling) return;
  phone.polling = true;
  for (;;) {
    try {
      const { texts } = await api("GET", `/dev/api/phone/texts?after=${phone.after}`);
      for (const text of texts) {
        phone.after = Math.max(phone.after, text.n);
        phone.texts.push(text);
        if (demo && text.to === demo.phone) phoneBubble("theirs", `From ${text.sender}`, text);
      }
      $("phone-log").textContent = "";
    } catch (error) {
      $("phone-log").textContent = `Phone offline (${error.message}); retrying…`;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function lastSender() {
  const texts = phone.texts.filter((text) => text.to === demo.phone);
  return texts.length ? texts[texts.length - 1].sender : demo.sender;
}

$("phone-composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = $("phone-text").value.trim();
  if ((!body && !phone.photos.length) || !demo) return;
  const sender = lastSender();
  const now = Date.now() / 1000;
  const photos = phone.photos.splice(0);
  const mine = { from: demo.phone, to: sender, body, at: now, media_urls: photos.map((photo) => photo.preview) };
  phone.texts.push(mine);
  phoneBubble("mine", "Me", mine);
  $("phone-text").value = "";
  $("phone-attachments").replaceChildren();
  try {
    const media_urls = photos.map((photo) => photo.url);
    const { replies } = await api("POST", "/dev/api/phone/reply", { phone: demo.phone, sender, body, media_urls });
    for (const reply of replies) {
      const text = { to: demo.phone, sender, body: reply, at: Date.now() / 1000 };
      phone.texts.push(text);
      bubble($("phone-messages"), "theirs", `From ${sender} (reply)`, reply, text.at);
    }
  } catch (error) {
    $("phone-log").textContent = `Text not delivered: ${error.message}`;
  }
});

$("phone-photo").addEventListener("change", async () => {
  for (const file of $("phone-photo").files) {
    // Kept as a carrier keeps an MMS's media: the gateway fetches and checks it like Twilio's.
    const response = await fetch("/dev/api/phone/photos", { method: "POST", headers: { "Content-Type": file.type }, body: file });
    if (!response.ok) {
      $("phone-log").textContent = `Photo not attached: HTTP ${response.status}`;
      continue;
    }
    const preview = URL.createObjectURL(file);
    phone.photos.push({ url: (await response.json()).url, preview });
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = preview;
    img.alt = `Photo to text: ${file.name}`;
    item.append(img);
    $("phone-attachments").append(item);
  }
  $("phone-photo").value = "";
});

$("phone-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("phone-composer").requestSubmit();
  }
});

// --- start ------------------------------------------------------------------------------------

const saved = sessionStorage.getItem(STORAGE_KEY);
if (saved) {
  demo = JSON.parse(saved);
  showDemo();
  startShopper();
}
pollTexts();
