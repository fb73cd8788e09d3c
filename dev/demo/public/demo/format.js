// Times and durations as the demo page writes them.

/** A wall-clock time (this machine's locale, 24 h), optionally with milliseconds. */
export function clock(ms, withMillis = false) {
  const d = new Date(ms);
  const hms = d.toLocaleTimeString([], { hour12: false });
  return withMillis ? `${hms}.${String(d.getMilliseconds()).padStart(3, "0")}` : hms;
}

/** A duration in seconds with one decimal, never negative. */
export function seconds(ms) {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/** A duration for people: seconds below two minutes, else minutes and seconds. */
export function duration(ms) {
  const s = Math.max(0, ms) / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
}
