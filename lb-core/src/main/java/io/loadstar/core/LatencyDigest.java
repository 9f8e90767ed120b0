package io.loadstar.core;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Hedging;
import io.loadstar.api.RecentLatency;
import io.loadstar.api.Ticker;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the service's recent latency, for an attempt timeout that follows it (and anything
 * else that needs a percentile of the whole service rather than one endpoint's average). A
 * success's latency is counted in a log-linear histogram: four buckets per power of two from 1 us
 * (2^10 ns) to 2^36 ns (69 s), so a percentile read from a bucket's upper bound is at most 19% high;
 * one bucket below (every faster call) and one above. The counts live in the balancer's CallLedger
 * (two buckets per ledger slot), so recording is what counting a call already is: a plain store in
 * the calling thread's own block, nothing another core reads on its next call, no allocation.
 *
 * The control loop reads the cumulative counts every 5 s (on the injected ticker) into a ring of
 * the last 13 readings; the recent histogram is the difference between the newest reading and the
 * one 10 s (or, with too few calls in those, 60 s) before it. The attempt timeout and hedging
 * delay it gives are published in volatile longs that attempts read. Until the first reading, the
 * counts since the start are looked at every second, so that a new balancer gets its timeout and
 * hedging delay as soon as 20 successes are measured.
 */
/** A service's recent latency: a histogram of successful calls over a sliding window. */
final class LatencyDigest {

  /** Sub-buckets per power of two. */
  static final int SUB = 4;

  static final int MIN_EXP = 10;
  static final int MAX_EXP = 36;

  /** Every bucket: one below 2^MIN_EXP ns, SUB per power of two, one from 2^MAX_EXP ns on. */
  static final int BUCKETS = (MAX_EXP - MIN_EXP) * SUB + 2;

  /**
   * Endpoints that count their calls exactly (least request, peak EWMA, probing) record one success
   * in 8 (by each endpoint's own count of completed calls): a uniform sample, at an eighth of the
   * cost on the call path. Ledger counting (round robin and the others) records each one.
   */
  static final long SAMPLE_MASK = 7;

  /** The ledger slots the buckets take (two buckets a slot). */
  static final int SLOTS = (BUCKETS + 1) / 2;

  /** How often the control loop reads the counts. */
  static final long TICK_NANOS = 5_000_000_000L;

  /**
   * Until the first reading, how often the counts since the start are looked at: a service that has
   * measured enough in its first second gets its timeout and hedging delay then, not 5 s in.
   */
  static final long EARLY_NANOS = 1_000_000_000L;

  /** The short window (2 ticks) and the long one (12 ticks). */
  static final int SHORT_TICKS = 2;

  static final int LONG_TICKS = 12;

  /** Fewer successes than this in a window: that window cannot tell a p99. */
  static final long MIN_SAMPLES = 20;

  private final CallLedger ledger;
  private final int firstSlot;
  private final AttemptTimeout timeout;
  private final Hedging hedging;
  private final ControlTimer timer;

  // Control loop only: the last readings, newest at `newest`; readings[i] is null until taken.
  private final long[][] readings = new long[LONG_TICKS + 1][];
  private int newest; // readings[0]: the start, when every count was 0
  private long untilTick = TICK_NANOS; // before the first reading: time left until it
  private final long[] pair = new long[2];

  // Published together by each tick: what inspect() shows, and the timeout attempts read (a long
  // of its own, so that an attempt reads one field and no object).
  private volatile RecentLatency recent;
  private volatile long timeoutNanos;
  private volatile long hedgeDelayNanos;

  /**
   * A digest counting in {@code ledger}, read on {@code controlLoop} every {@link #TICK_NANOS} of
   * {@code ticker} from {@link #start()} on; takes its ledger slots now (before any endpoint's).
   */
  LatencyDigest(
      CallLedger ledger,
      Supplier<ScheduledExecutorService> scheduler,
      Executor controlLoop,
      Ticker ticker,
      AttemptTimeout timeout,
      Hedging hedging) {
    this.ledger = ledger;
    this.timeout = timeout;
    this.hedging = hedging;
    this.timer = new ControlTimer(scheduler, controlLoop, ticker, this::tickAndRepeat);
    int first = ledger.allocate(ticker.nanoTime());
    for (int i = 1; i < SLOTS; i++) {
      int slot = ledger.allocate(ticker.nanoTime());
      if (slot != first + i) {
        throw new IllegalStateException("latency slots must be taken before any endpoint's");
      }
    }
    this.firstSlot = first;
    readings[0] = new long[BUCKETS];
    publish(0, -1, -1, -1, -1);
  }

  /** The bucket of a latency; negative latencies (a clock that went back) count as the fastest. */
  static int bucket(long nanos) {
    if (nanos < (1L << MIN_EXP)) {
      return 0;
    }
    int exp = 63 - Long.numberOfLeadingZeros(nanos);
    if (exp >= MAX_EXP) {
      return BUCKETS - 1;
    }
    int sub = (int) (nanos >>> (exp - 2)) & (SUB - 1);
    return 1 + (exp - MIN_EXP) * SUB + sub;
  }

  /** The largest latency a bucket holds (the last bucket's: its lower bound, 2^MAX_EXP ns). */
  static long upperBound(int bucket) {
    if (bucket == 0) {
      return (1L << MIN_EXP) - 1;
    }
    if (bucket == BUCKETS - 1) {
      return 1L << MAX_EXP;
    }
    int exp = MIN_EXP + (bucket - 1) / SUB;
    int sub = (bucket - 1) % SUB;
    return (1L << exp) + ((long) (sub + 1) << (exp - 2)) - 1;
  }

  private void tickAndRepeat() {
    if (untilTick > EARLY_NANOS) {
      untilTick -= EARLY_NANOS;
      early();
      timer.runAfter(EARLY_NANOS);
      return;
    }
    untilTick = 0;
    tick();
    timer.runAfter(TICK_NANOS);
  }

  /**
   * Starts reading the counts every {@link #TICK_NANOS}, looking every {@link #EARLY_NANOS} until
   * the first reading; control loop.
   */
  void start() {
    timer.runAfter(EARLY_NANOS);
  }

  /** Stops reading them; control loop. */
  void close() {
    timer.cancel();
  }

  /** Counts a successful call's latency; any thread, lock-free, allocation-free. */
  void record(long latencyNanos) {
    int b = bucket(latencyNanos);
    int slot = firstSlot + (b >> 1);
    if ((b & 1) == 0) {
      ledger.started(slot);
    } else {
      ledger.ended(slot);
    }
  }

  /** The attempt timeout in force now, in nanoseconds ({@code Long.MAX_VALUE}: none). */
  long timeoutNanos() {
    return timeoutNanos;
  }

  /** The hedging delay in force now, in nanoseconds ({@code Long.MAX_VALUE}: no hedge). */
  long hedgeDelayNanos() {
    return hedgeDelayNanos;
  }

  /** The recent percentiles, as last read. */
  RecentLatency recent() {
    return recent;
  }

  /**
   * Publishes a reading: percentiles in nanoseconds, -1 for too few samples to tell ({@code
   * hedgeQuantile} is the hedging policy's own quantile).
   */
  private void publish(long samples, long p50, long p95, long p99, long hedgeQuantile) {
    long t = timeout.timeoutNanos(p99);
    long h = hedging.delayNanos(hedgeQuantile);
    recent =
        new RecentLatency(
            samples,
            duration(p50),
            duration(p95),
            duration(p99),
            t == Long.MAX_VALUE ? null : Duration.ofNanos(t),
            h == Long.MAX_VALUE ? null : Duration.ofNanos(h));
    timeoutNanos = t;
    hedgeDelayNanos = h;
  }

  private static @Nullable Duration duration(long nanos) {
    return nanos < 0 ? null : Duration.ofNanos(nanos);
  }

  /** The cumulative counts now. */
  private long[] read() {
    long[] now = new long[BUCKETS];
    for (int i = 0; i < SLOTS; i++) {
      ledger.read(firstSlot + i, pair);
      now[2 * i] = pair[0];
      if (2 * i + 1 < BUCKETS) {
        now[2 * i + 1] = pair[1];
      }
    }
    return now;
  }

  /** Before the first reading: publishes the percentiles since the start, once there are enough. */
  private void early() {
    long[] since = read();
    long n = total(since);
    if (n >= MIN_SAMPLES) {
      publish(
          n,
          percentile(since, n, 0.50),
          percentile(since, n, 0.95),
          percentile(since, n, 0.99),
          hedging.isAdaptive() ? percentile(since, n, hedging.quantile()) : -1);
    }
  }

  /** Reads the counts and publishes the recent percentiles; control loop only, every tick. */
  void tick() {
    long[] now = read();
    newest = (newest + 1) % readings.length;
    readings[newest] = now;
    long[] window = window(SHORT_TICKS);
    long n = total(window);
    if (n < MIN_SAMPLES) {
      window = window(LONG_TICKS);
      n = total(window);
    }
    if (n < MIN_SAMPLES) {
      publish(n, -1, -1, -1, -1);
      return;
    }
    publish(
        n,
        percentile(window, n, 0.50),
        percentile(window, n, 0.95),
        percentile(window, n, 0.99),
        hedging.isAdaptive() ? percentile(window, n, hedging.quantile()) : -1);
  }

  /** The counts of the last {@code ticks} intervals; while the ring fills, since the start. */
  private long[] window(int ticks) {
    int n = readings.length;
    int back = Math.min(ticks, n - 1);
    long[] older = null;
    for (int k = back; k >= 1 && older == null; k--) {
      older = readings[((newest - k) % n + n) % n];
    }
    long[] now = readings[newest];
    long[] diff = new long[BUCKETS];
    for (int i = 0; i < BUCKETS; i++) {
      diff[i] = now[i] - (older == null ? 0 : older[i]);
    }
    return diff;
  }

  private static long total(long[] counts) {
    long n = 0;
    for (long c : counts) {
      n += c;
    }
    return n;
  }

  /** The upper bound of the bucket holding the {@code q} quantile of {@code n} counts. */
  static long percentile(long[] counts, long n, double q) {
    long rank = (long) Math.ceil(q * n);
    long seen = 0;
    for (int i = 0; i < counts.length; i++) {
      seen += counts[i];
      if (seen >= rank && counts[i] > 0) {
        return upperBound(i);
      }
    }
    return upperBound(counts.length - 1);
  }

  @Override
  public String toString() {
    return "LatencyDigest{" + recent + ", " + timeout + ", " + hedging + '}';
  }
}
