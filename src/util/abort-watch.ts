/**
 * Many operations watching one AbortSignal (every request of a sync or a copy in flight) through a
 * single 'abort' listener on it: each request adding its own trips node's MaxListenersExceededWarning
 * past 10 on a caller's signal, and costs an EventTarget registration per request.
 */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` once when `signal` aborts (soon, if it has already); the returned function stops watching. */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal.aborted) {
    let watching = true;
    queueMicrotask(() => {
      if (watching) onAbort();
    });
    return () => {
      watching = false;
    };
  }
  let set = watchers.get(signal);
  if (set === undefined) {
    const created = new Set<() => void>();
    set = created;
    watchers.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        const due = [...created];
        created.clear();
        for (const f of due) f();
      },
      { once: true },
    );
  }
  const own = set;
  const entry = (): void => onAbort();
  own.add(entry);
  return () => {
    own.delete(entry);
  };
}
