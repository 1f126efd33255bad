// The Order Status page's text-message switch: PUT /v1/orders/{id}/sms with the customer
// token (contract section 4); read-only once the order is delivered or canceled (section 8).

const FINAL = ["delivered", "canceled"];

export class SMSSwitch {
  /** `$`: finds an element of the order's markup by id; `base`: the gateway's URL. */
  constructor($, { base, orderId, token }) {
    this.$ = $;
    this.url = new URL(`v1/orders/${encodeURIComponent(orderId)}/sms`, base);
    this.token = token;
    this.status = null;
  }

  start() {
    this.$("sms-opt-in").addEventListener("change", (event) => this.switched(event.target.checked));
  }

  /** The order's status decides whether the switch may still change. */
  showStatus(status) {
    this.status = status;
    this.showLocked();
  }

  showLocked(busy = false) {
    const final = FINAL.includes(this.status);
    this.$("sms-opt-in").disabled = busy || final;
    this.$("sms-final").hidden = !final;
  }

  show(optIn) {
    this.$("sms-opt-in").checked = optIn;
    this.$("sms-state").querySelector("strong").textContent = optIn ? "on" : "off";
  }

  showError(text) {
    this.$("sms-error").textContent = text;
    this.$("sms-error").hidden = false;
  }

  async switched(wanted) {
    this.showLocked(true);
    this.$("sms-error").hidden = true;
    try {
      const response = await fetch(this.url, {
        method: "PUT",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ opt_in: wanted }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        this.show(body.opt_in);
      } else {
        this.show(!wanted);
        const sender = this.$("sms-card").dataset.sender;
        this.showError(
          body.error && body.error.code === "opted_out_by_keyword"
            ? `You texted STOP. Text START to ${sender} to turn texts back on.`
            : "We couldn't change this right now. Please try again.",
        );
      }
    } catch {
      this.show(!wanted);
      this.showError("We couldn't reach the server. Please try again.");
    } finally {
      this.showLocked();
    }
  }
}
