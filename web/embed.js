// <order-chat order-id="…" token="…">: the Order Status page's status and chat inside a
// retailer's own page (contract section 8; docs/embed.md). Load it from the gateway:
//   <script type="module" src="https://gateway.example/embed.js"></script>
// It talks to the gateway it was loaded from (or to its `gateway` attribute): it fetches the
// order's fragment with the customer token, shows it in a shadow root with the gateway's
// styles, and brings it to life with the same module as the page (orderchat.js).

import { OrderChat } from "./static/orderchat.js";

const LOADED_FROM = new URL(".", import.meta.url);

const MESSAGES = {
  missing: "This order can't be shown: the element needs order-id and token.",
  loading: "Loading your order…",
  unreachable: "We couldn't reach the order service. Please try again later.",
  401: "This order link is invalid or has expired.",
  404: "We couldn't find this order.",
  other: "We couldn't show this order right now. Please try again later.",
};

class OrderChatElement extends HTMLElement {
  static observedAttributes = ["order-id", "token", "gateway"];

  #chat = null;
  #abort = null;
  #scheduled = false;

  connectedCallback() {
    this.#schedule();
  }

  disconnectedCallback() {
    this.#teardown();
  }

  attributeChangedCallback() {
    this.#schedule();
  }

  /** Attributes set together (and the first connection) load the order once. */
  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.isConnected) this.#load();
    });
  }

  #teardown() {
    this.#abort?.abort();
    this.#abort = null;
    this.#chat?.stop();
    this.#chat = null;
  }

  get #base() {
    const given = this.getAttribute("gateway");
    if (!given) return LOADED_FROM;
    const base = new URL(given, document.baseURI);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    return base;
  }

  #say(key) {
    const shadow = this.shadowRoot || this.attachShadow({ mode: "open" });
    const note = document.createElement("p");
    note.className = "order-chat-note";
    note.setAttribute("role", key === "loading" ? "status" : "alert");
    note.textContent = MESSAGES[key] || MESSAGES.other;
    shadow.replaceChildren(note);
  }

  async #load() {
    this.#teardown();
    const orderId = this.getAttribute("order-id");
    const token = this.getAttribute("token");
    if (!orderId || !token) {
      this.#say("missing");
      return;
    }
    const abort = (this.#abort = new AbortController());
    const base = this.#base;
    this.#say("loading");
    let html;
    try {
      const response = await fetch(new URL(`embed/orders/${encodeURIComponent(orderId)}`, base), {
        headers: { Authorization: `Bearer ${token}` },
        signal: abort.signal,
      });
      if (!response.ok) {
        this.#say(response.status);
        return;
      }
      html = await response.text();
    } catch {
      if (!abort.signal.aborted) this.#say("unreachable");
      return;
    }
    if (abort.signal.aborted) return;
    // Parsed inert first, so the fragment's stylesheet links point at the gateway before
    // anything loads; shown once they have loaded, so it never flashes unstyled.
    const template = document.createElement("template");
    template.innerHTML = html;
    const sheets = [...template.content.querySelectorAll("link[rel=stylesheet]")].map((link) => {
      link.href = new URL(link.getAttribute("href"), base).href;
      return new Promise((done) => {
        link.addEventListener("load", done);
        link.addEventListener("error", done);
      });
    });
    const holder = document.createElement("div");
    holder.hidden = true;
    holder.append(template.content);
    this.shadowRoot.replaceChildren(holder);
    await Promise.all(sheets);
    if (abort.signal.aborted) return;
    holder.hidden = false;
    this.#chat = new OrderChat(this.shadowRoot, { base });
    this.#chat.start();
  }
}

if (!customElements.get("order-chat")) customElements.define("order-chat", OrderChatElement);
