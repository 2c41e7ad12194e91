/**
 * Waits for `p` to settle (resolve or reject), but no longer than `ms`: true if it settled in
 * time. Leaves no timer behind either way; `p` itself is not cancelled.
 */
export function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(done, done);
  });
}
