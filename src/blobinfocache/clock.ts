/** "Last seen" times: milliseconds since the epoch, with microsecond steps that never repeat in a process. */

let lastMicros = 0;

/**
 * The current time in milliseconds, strictly greater than the previous call's, so that two
 * records made one after the other are ordered even within the same millisecond.
 */
export function monotonicNow(): number {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  lastMicros = micros > lastMicros ? micros : lastMicros + 1;
  return lastMicros / 1000;
}
