/**
 * The life cycle every on-disk destination shares: operations are refused after commit or close,
 * writes in flight are tracked so that commit and close wait for them, and close() tells whether
 * the writes must be rolled back (no commit happened) exactly once.
 */
import { FerryError } from '../../errors.js';

export class WriteSession {
  readonly #what: string;
  readonly #inFlight = new Set<Promise<unknown>>();
  #committed = false;
  #closed = false;

  /** `what` names the destination in error messages. */
  constructor(what: string) {
    this.#what = what;
  }

  assertOpen(): void {
    if (this.#closed) throw new FerryError('UNSUPPORTED_OPERATION', `${this.#what}: destination already closed`);
    if (this.#committed) throw new FerryError('UNSUPPORTED_OPERATION', `${this.#what}: destination already committed`);
  }

  /** Registers a write so that commit/close wait for it; returns it unchanged. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    const done = () => this.#inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Waits until no tracked write is running. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  markCommitted(): void {
    this.#committed = true;
  }

  /**
   * Marks the session closed once writes have settled; true when the caller must roll back
   * (first close, no commit), false otherwise (already closed, or committed).
   */
  async close(): Promise<boolean> {
    if (this.#closed) return false;
    this.#closed = true;
    await this.settle();
    return !this.#committed;
  }
}
