// Photos in chat (contract section 10): thumbnails in a bubble that open full size, and the
// composer's attach button and paste, which upload to POST /v1/orders/{id}/media and hand
// the ids to the next send.

const ACCEPTED = ["image/jpeg", "image/png", "image/gif", "image/webp"];
const MAX_PHOTOS = 3;
const UPLOAD_ERROR = {
  413: "That photo is too large.",
  415: "Only JPEG, PNG, GIF and WebP photos can be sent.",
  409: "Chat isn't open.",
};

/** The photos of a message, each a thumbnail linking to the full-size photo; `owner` says
 * whose they are in their alt text ("you sent", "from Alex"). */
export function photosElement(media, owner) {
  const list = document.createElement("ul");
  list.className = "msg-photos";
  media.forEach((photo, index) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = photo.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    const img = document.createElement("img");
    img.src = photo.url;
    img.alt = `Photo ${index + 1} of ${media.length}${owner ? ` ${owner}` : ""}`;
    img.loading = "lazy";
    img.referrerPolicy = "no-referrer";
    link.append(img);
    item.append(link);
    list.append(item);
  });
  return list;
}

/**
 * The composer's photos: an attach button (and paste into the text box) uploads each photo at
 * once; `take()` hands the ids of those uploaded to the next send and clears the tray.
 */
export class PhotoAttach {
  constructor({ composer, textBox, base, orderId, token, onError }) {
    this.base = base;
    this.orderId = orderId;
    this.token = token;
    this.onError = onError;
    this.photos = []; // {id, preview, li}, in the order attached
    this.uploading = 0;
    this.input = document.createElement("input");
    this.input.type = "file";
    this.input.accept = ACCEPTED.join(",");
    this.input.multiple = true;
    this.input.hidden = true;
    this.input.setAttribute("aria-hidden", "true");
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.className = "attach";
    this.button.textContent = "Photo";
    this.button.setAttribute("aria-label", "Attach a photo");
    this.tray = document.createElement("ul");
    this.tray.className = "attachments";
    this.tray.setAttribute("aria-label", "Photos to send");
    const send = composer.querySelector("button[type=submit]");
    composer.insertBefore(this.button, send);
    composer.append(this.input);
    composer.after(this.tray);
    this.button.addEventListener("click", () => this.input.click());
    this.input.addEventListener("change", () => {
      this.add([...this.input.files]);
      this.input.value = "";
    });
    textBox.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])].filter((file) => file.type.startsWith("image/"));
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
  }

  set disabled(value) {
    this.button.disabled = value;
  }

  /** Whether a photo is still uploading (a send waits for it). */
  get busy() {
    return this.uploading > 0;
  }

  get count() {
    return this.photos.length;
  }

  add(files) {
    for (const file of files) {
      if (this.photos.length + this.uploading >= MAX_PHOTOS) {
        this.onError(`Up to ${MAX_PHOTOS} photos a message.`);
        return;
      }
      this.upload(file);
    }
  }

  async upload(file) {
    if (!ACCEPTED.includes(file.type)) {
      this.onError(UPLOAD_ERROR[415]);
      return;
    }
    this.uploading += 1;
    const li = document.createElement("li");
    li.className = "attachment uploading";
    const preview = document.createElement("img");
    preview.alt = `Photo to send: ${file.name || "pasted image"}`;
    preview.src = URL.createObjectURL(file);
    li.append(preview);
    this.tray.append(li);
    try {
      const response = await fetch(new URL(`v1/orders/${encodeURIComponent(this.orderId)}/media`, this.base), {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": file.type },
        body: file,
      });
      if (!response.ok) throw new Error(UPLOAD_ERROR[response.status] || "That photo couldn't be sent.");
      const uploaded = await response.json();
      li.classList.remove("uploading");
      this.photos.push({ id: uploaded.media_id, preview: preview.src, li });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove this photo");
      remove.addEventListener("click", () => this.remove(uploaded.media_id));
      li.append(remove);
    } catch (error) {
      li.remove();
      URL.revokeObjectURL(preview.src);
      this.onError(error.message || "That photo couldn't be sent.");
    } finally {
      this.uploading -= 1;
    }
  }

  remove(id) {
    const index = this.photos.findIndex((photo) => photo.id === id);
    if (index < 0) return;
    const [photo] = this.photos.splice(index, 1);
    photo.li.remove();
    URL.revokeObjectURL(photo.preview);
  }

  /** The ids of the photos to send with the next message; the tray empties. */
  take() {
    const ids = this.photos.map((photo) => photo.id);
    for (const photo of this.photos) {
      photo.li.remove();
      URL.revokeObjectURL(photo.preview);
    }
    this.photos = [];
    return ids;
  }
}
