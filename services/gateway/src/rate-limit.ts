/**
 * Token buckets per source: `rate` events per second, up to `burst` saved up.
 * A request takes all its events' tokens or none (a batch is not split).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return this.rate > 0;
  }

  /** True when `count` tokens were taken; false means 429. */
  take(key: string, count: number): boolean {
    if (this.rate <= 0) return true;
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
      b.at = t;
    }
    // A request larger than the bucket could never pass; let it through when the bucket is full.
    const need = Math.min(count, this.burst);
    if (b.tokens < need) return false;
    b.tokens -= count;
    return true;
  }

  /** Seconds until `count` tokens are there again (for Retry-After). */
  waitSeconds(key: string, count: number): number {
    const b = this.buckets.get(key);
    if (!b || this.rate <= 0) return 1;
    const missing = Math.min(count, this.burst) - b.tokens;
    return Math.max(1, Math.ceil(missing / this.rate));
  }
}
