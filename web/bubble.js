// A chat message as the page shows it: who, when (<time datetime>, dated when not today), how.

import { photosElement } from "./photos.js";
import { proposalElement } from "./proposals.js";
import { timeElement } from "./time.js";

/**
 * `shopperLabel`: what to call the shopper (their name, or "Your shopper"/"Your driver");
 * `onChoose(seq, choice)`: answers a proposal the message carries (proposals.js).
 */
export function messageElement(message, { pending = false, shopperLabel, onChoose = null }) {
  const li = document.createElement("li");
  li.className = `msg from-${message.from}`;
  const meta = document.createElement("p");
  meta.className = "msg-meta";
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = message.from === "customer" ? "You" : message.from === "shopper" ? shopperLabel : "Update";
  meta.append(who);
  if (message.at) meta.append(" · ", timeElement(message.at));
  if (message.via === "sms") meta.append(" · by text");
  const text = document.createElement("p");
  text.className = "msg-text";
  text.textContent = message.text;
  text.hidden = !message.text; // a photo alone
  li.append(meta, text);
  if (message.media?.length) {
    const owner = message.from === "customer" ? "you sent" : `from ${who.textContent.replace(/^Your /, "your ")}`;
    li.append(photosElement(message.media, owner));
  }
  if (message.proposal) li.append(proposalElement(message, { onChoose }));
  if (pending) {
    const note = document.createElement("p");
    note.className = "msg-state";
    note.textContent = "Sending…";
    li.append(note);
    li.classList.add("pending");
  }
  return li;
}
