// Replacement proposals (contract section 11): a shopper's "out of X; Y or Z?" as a card with
// one button per option and "No replacement". On the customer's page the buttons answer it
// (an `answer` frame); everywhere else (the shopper's console) the card only shows. Once
// answered, the card says the choice, in a live region, and its buttons are disabled.

export const NO_REPLACEMENT = 0;

/** The choice in words, as the card and the shopper's console say it. */
export function choiceLabel(proposal, choice) {
  return choice === NO_REPLACEMENT ? "No replacement" : proposal.options[choice - 1] || `Option ${choice}`;
}

/**
 * The card for `message.proposal`. `onChoose(seq, choice)`, when given, makes the buttons
 * answer; `answeredBy` says who chose in the answered line ("You chose", "The customer chose").
 */
export function proposalElement(message, { onChoose = null, answeredBy = "You chose" } = {}) {
  const { proposal } = message;
  const card = document.createElement("div");
  card.className = "proposal";
  card.setAttribute("role", "group");
  const titleId = `proposal-${message.seq}-title`;
  card.setAttribute("aria-labelledby", titleId);
  card.dataset.seq = String(message.seq);
  card.dataset.answeredBy = answeredBy;

  const title = document.createElement("p");
  title.className = "proposal-title";
  title.id = titleId;
  title.textContent = `${proposal.item} is out. Would you like a replacement?`;
  const choices = document.createElement("div");
  choices.className = "proposal-choices";
  const labels = [...proposal.options.map((option, index) => [index + 1, option]), [NO_REPLACEMENT, "No replacement"]];
  for (const [choice, label] of labels) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = choice === NO_REPLACEMENT ? "secondary proposal-choice" : "proposal-choice";
    button.dataset.choice = String(choice);
    button.textContent = label;
    button.setAttribute("aria-pressed", "false");
    if (onChoose) {
      button.addEventListener("click", () => {
        setBusy(card, true);
        onChoose(message.seq, choice);
      });
    } else {
      button.disabled = true; // the shopper's view: the customer answers
    }
    choices.append(button);
  }
  const answered = document.createElement("p");
  answered.className = "proposal-answer";
  answered.setAttribute("aria-live", "polite");
  card.append(title, choices, answered);
  if (proposal.answer) showAnswer(card, proposal, proposal.answer);
  return card;
}

/** Marks `card` answered with `answer` ({choice, via, at}): its choice shown, buttons off. */
export function showAnswer(card, proposal, answer) {
  card.classList.add("answered");
  card.classList.remove("busy");
  for (const button of card.querySelectorAll("button")) {
    const chosen = Number(button.dataset.choice) === answer.choice;
    button.disabled = true;
    button.setAttribute("aria-pressed", String(chosen));
    button.classList.toggle("chosen", chosen);
  }
  const by = answer.via === "sms" ? " by text" : "";
  card.querySelector(".proposal-answer").textContent = `${card.dataset.answeredBy}${by}: ${choiceLabel(proposal, answer.choice)}`;
}

/** While an answer is on its way its buttons wait; a refused one gives them back, with why. */
export function setBusy(card, busy, note = "") {
  if (card.classList.contains("answered")) return;
  card.classList.toggle("busy", busy);
  for (const button of card.querySelectorAll("button")) button.disabled = busy;
  card.querySelector(".proposal-answer").textContent = busy ? "Sending your answer…" : note;
}

/** The proposal cards inside `root` and the messages they carry, by seq. */
export class ProposalCards {
  constructor() {
    this.cards = new Map(); // seq -> {card, proposal}
  }

  add(message, card) {
    this.cards.set(message.seq, { card, proposal: message.proposal });
  }

  /** A `proposal` frame: the card of proposal `frame.seq`, if shown, now shows its answer. */
  answered(frame) {
    const entry = this.cards.get(frame.seq);
    if (!entry) return;
    entry.proposal = { ...entry.proposal, answer: frame.answer };
    showAnswer(entry.card, entry.proposal, frame.answer);
  }

  /** A customer's answer message: its proposal's card shows the answer, should the
   * `proposal` frame have been missed (the socket was away; a rejoin's history has it). */
  answerMessage(message) {
    if (!message.answer) return;
    const { seq, choice } = message.answer;
    this.answered({ seq, answer: { choice, via: message.via, at: message.at } });
  }

  /** An answer was refused (`already_answered`, offline...): the card takes clicks again. */
  refused(seq, note) {
    const entry = this.cards.get(seq);
    if (entry) setBusy(entry.card, false, note);
  }

  clear() {
    this.cards.clear();
  }
}
