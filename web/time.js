// Times of chat messages: the reader's clock, and the date as well when it is not today.

function dateOf(at) {
  return typeof at === "number" ? new Date(at * 1000) : new Date(at);
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "10:42" in the reader's locale, from an RFC 3339 time or unix seconds. */
export function clock(at) {
  const date = dateOf(at);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

/** "10:42" today; "Dec 1, 10:42" another day (with the year when it is not this year). */
export function when(at, now = new Date()) {
  const date = dateOf(at);
  if (Number.isNaN(date.getTime())) return "";
  if (sameDay(date, now)) return clock(at);
  const options = { month: "short", day: "numeric" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return `${date.toLocaleDateString([], options)}, ${clock(at)}`;
}

/** A <time datetime="..."> for a message's `at`, its text from when(). */
export function timeElement(at, now = new Date()) {
  const time = document.createElement("time");
  time.dateTime = typeof at === "number" ? dateOf(at).toISOString() : at;
  time.textContent = when(at, now);
  const date = dateOf(at);
  if (!Number.isNaN(date.getTime())) time.title = date.toLocaleString();
  return time;
}

/** Brings every <time> under `root` up to date (a page left open past midnight). */
export function refreshTimes(root, now = new Date()) {
  for (const time of root.querySelectorAll("time[datetime]")) time.textContent = when(time.dateTime, now);
}
