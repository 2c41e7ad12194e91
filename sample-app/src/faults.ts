/**
 * Deterministic helpers for the negative-control switches (see config.ts `Faults`).
 */

/**
 * Fails a fixed fraction of calls, by counting, not by chance: after n calls exactly
 * floor(n × fraction) have failed, so tests can assert exact numbers.
 */
export class ErrorRateGate {
  private readonly fraction: number;
  private n = 0;
  private failures = 0;

  constructor(fraction: number) {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`error rate must be within 0..1, got ${fraction}`);
    this.fraction = fraction;
  }

  /** Counts one call; true when this one must fail. */
  shouldFail(): boolean {
    this.n++;
    const due = Math.floor(this.n * this.fraction + 1e-9);
    if (due > this.failures) {
      this.failures = due;
      return true;
    }
    return false;
  }

  get calls(): number {
    return this.n;
  }

  get failed(): number {
    return this.failures;
  }
}
