package io.loadstar.probe;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.ProbeResult;
import io.loadstar.api.Ticker;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A server's load as probes report it: the requests it has in flight, and its recent latency at
 * each load, so that a probe can say how long a request arriving now is expected to take (Prequal's
 * signal). Count every request: {@link #started()} when it arrives, {@link #ended(long)} when its
 * answer is written (the responders do this: {@link JdkHttpServerProbes}, {@link
 * ProbeServletFilter}). Answer probes on {@link #PATH} with {@link #answer()}.
 *
 * <p>Latency is kept per load band (1, 2, 3-4, 5-8, ... requests in flight, up to 16,384 and more)
 * as an exponentially weighted average of the last requests that arrived at that load (weight 1/8
 * each). A probe reports the band a new request would fall in; a band with no request yet borrows
 * from the nearest band that has some, the busier one first below, then above.
 *
 * <p>Thread-safe and lock-free; {@link #started()} and {@link #ended(long)} allocate nothing.
 */
public final class ProbeLoad {

  /** The path probes are sent to and answered on. */
  public static final String PATH = "/loadstar/probe";

  /** The content type of {@link #answer()}. */
  public static final String CONTENT_TYPE = "text/plain; charset=utf-8";

  private static final int BANDS = 16;
  private static final long BAND_MASK = BANDS - 1;

  private final Ticker ticker;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLongArray latency = new AtomicLongArray(BANDS); // nanoseconds; 0: none yet
  // Until the first request ends: when the first one started (0: none started), so that a server
  // whose first requests hang reports how long they have waited, not "no latency".
  private volatile boolean measured;
  private final AtomicLong firstStart = new AtomicLong();

  private ProbeLoad(Ticker ticker) {
    this.ticker = ticker;
  }

  /** A load counted on the system clock. */
  public static ProbeLoad create() {
    return new ProbeLoad(Ticker.system());
  }

  /** A load counted on {@code ticker}'s clock. */
  public static ProbeLoad create(Ticker ticker) {
    return new ProbeLoad(requireNonNull(ticker, "ticker"));
  }

  /**
   * A request arrived; returns its ticket for {@link #ended(long)}: its start time, to 16 ns, and
   * the load it arrived at.
   */
  public long started() {
    int band = band(inFlight.incrementAndGet());
    long now = ticker.nanoTime();
    if (!measured && firstStart.get() == 0) {
      firstStart.compareAndSet(0, now | 1); // | 1: never 0, whatever the clock reads
    }
    return (now & ~BAND_MASK) | band;
  }

  /** The request whose ticket {@link #started()} returned has been answered. */
  public void ended(long ticket) {
    inFlight.decrementAndGet();
    long took = Math.max(0, ticker.nanoTime() - (ticket & ~BAND_MASK));
    int band = (int) (ticket & BAND_MASK); // the load it arrived at
    if (!measured) {
      measured = true;
    }
    while (true) {
      long old = latency.get(band);
      long next = old == 0 ? Math.max(1, took) : old + (took - old) / 8;
      if (latency.compareAndSet(band, old, Math.max(1, next))) {
        return;
      }
    }
  }

  /**
   * The request whose ticket {@link #started()} returned ended without an answer (its client went
   * away before it was served, and the server dropped it): no longer in flight, and its time says
   * nothing about the latency at its load.
   */
  public void abandoned(long ticket) {
    inFlight.decrementAndGet();
  }

  /** The band of a load of {@code requests} in flight (1: band 0, 2: 1, 3-4: 2, 5-8: 3, ...). */
  static int band(int requests) {
    if (requests <= 1) {
      return 0;
    }
    return Math.min(BANDS - 1, 32 - Integer.numberOfLeadingZeros(requests - 1));
  }

  /** Returns the requests in flight now. */
  public int requestsInFlight() {
    return Math.max(0, inFlight.get());
  }

  /**
   * Returns the latency expected for a request arriving now, in nanoseconds: the recent latency at
   * the load it would make; before any request ended, how long the first has been waiting (0 if
   * none is in flight).
   */
  public long expectedLatencyNanos() {
    long since = firstStart.get();
    if (!measured) {
      // Nothing has ended yet: a request arriving now waits at least as long as the first has.
      return since == 0 || requestsInFlight() == 0 ? 0 : Math.max(0, ticker.nanoTime() - since);
    }
    int band = band(requestsInFlight() + 1);
    long own = latency.get(band);
    if (own != 0) {
      return own;
    }
    for (int b = band - 1; b >= 0; b--) {
      long l = latency.get(b);
      if (l != 0) {
        return l;
      }
    }
    for (int b = band + 1; b < BANDS; b++) {
      long l = latency.get(b);
      if (l != 0) {
        return l;
      }
    }
    return 0;
  }

  /** Returns what a probe is told now. */
  public ProbeResult read() {
    return new ProbeResult(requestsInFlight(), expectedLatencyNanos());
  }

  /** Returns the body of a probe's answer now: {@code rif=<n> latency_ns=<n>} and a newline. */
  public String answer() {
    return format(read());
  }

  /** The body that tells {@code result}. */
  static String format(ProbeResult result) {
    return "rif=" + result.requestsInFlight() + " latency_ns=" + result.latencyNanos() + "\n";
  }

  /**
   * Reads a probe's answer.
   *
   * @throws IllegalArgumentException naming the body if it is not {@code rif=<n> latency_ns=<n>}
   *     with non-negative numbers
   */
  public static ProbeResult parse(String body) {
    requireNonNull(body, "body");
    String[] parts = body.strip().split(" ");
    if (parts.length == 2 && parts[0].startsWith("rif=") && parts[1].startsWith("latency_ns=")) {
      try {
        int rif = Integer.parseInt(parts[0].substring(4));
        long latency = Long.parseLong(parts[1].substring(11));
        if (rif >= 0 && latency >= 0) {
          return new ProbeResult(rif, latency);
        }
      } catch (NumberFormatException e) {
        // below
      }
    }
    String shown = body.length() > 80 ? body.substring(0, 80) + "..." : body;
    throw new IllegalArgumentException(
        "probe answer: '" + shown.strip() + "' (expected: rif=<n> latency_ns=<n>, n >= 0)");
  }

  @Override
  public String toString() {
    return "ProbeLoad{" + answer().strip() + '}';
  }
}
