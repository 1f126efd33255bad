// Messages that arrived while the page was hidden: a count on the page and in the document
// title, "(2) Your Demo Grocer order", until the page is read.

export class UnreadCount {
  /** `badge`: the element that shows the count on the page. */
  constructor(badge) {
    this.badge = badge;
    this.count = 0;
    this.title = null; // document.title before the count went into it
  }

  add() {
    this.show(this.count + 1);
  }

  clear() {
    this.show(0);
  }

  show(count) {
    this.count = count;
    this.badge.hidden = count === 0;
    this.badge.textContent = count === 1 ? "1 new message" : `${count} new messages`;
    if (count > 0) {
      if (this.title === null) this.title = document.title;
      document.title = `(${count}) ${this.title}`;
    } else if (this.title !== null) {
      document.title = this.title;
      this.title = null;
    }
  }
}
