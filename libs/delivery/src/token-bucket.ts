/** Events-per-second limiter: `take(n)` grants up to n tokens now. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  get unlimited(): boolean {
    return this.ratePerSecond <= 0;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
    }
  }

  /** How many of `want` may go now (whole tokens only); those are spent. */
  take(want: number, now: number): number {
    if (this.unlimited) return want;
    this.refill(now);
    const n = Math.min(want, Math.floor(this.tokens));
    this.tokens -= n;
    return n;
  }

  /** Gives back tokens taken but not used. */
  refund(n: number): void {
    if (!this.unlimited) this.tokens = Math.min(this.burst, this.tokens + n);
  }

  /** Milliseconds until one whole token is available. */
  waitMs(now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
