package io.loadstar.probe;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.ProbeResult;
import io.loadstar.api.Ticker;
import java.time.Duration;
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
 * <p>An idle server's estimate fades once it is older than {@link #LATENCY_MAX_AGE} (1 s): it
 * halves for every further second without a request ending at that load. Otherwise a server whose
 * last requests were slow (its first ones, say, while its code was cold) would report them for as
 * long as clients, believing it, send it nothing, and never be measured again; as the estimate
 * fades, the server gets a request and reports what it takes now (the first request to end after
 * that age starts the average over). A busy server keeps its estimate: its requests in flight say
 * more than its age.
 *
 * <p>Thread-safe and lock-free; {@link #started()} and {@link #ended(long)} allocate nothing.
 */
public final class ProbeLoad {

  /** The path probes are sent to and answered on. */
  public static final String PATH = "/loadstar/probe";

  /** The content type of {@link #answer()}. */
  public static final String CONTENT_TYPE = "text/plain; charset=utf-8";

  /** How long an idle server's latency estimate holds before it fades (halves each such period). */
  public static final Duration LATENCY_MAX_AGE = Duration.ofSeconds(1);

  private static final long MAX_AGE_NANOS = LATENCY_MAX_AGE.toNanos();
  private static final double LN2 = Math.log(2);

  private static final int BANDS = 16;
  private static final long BAND_MASK = BANDS - 1;

  private final Ticker ticker;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLongArray latency = new AtomicLongArray(BANDS); // nanoseconds; 0: none yet
  private final AtomicLongArray updatedAt = new AtomicLongArray(BANDS); // when, on the ticker
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
    long now = ticker.nanoTime();
    long took = Math.max(0, now - (ticket & ~BAND_MASK));
    int band = (int) (ticket & BAND_MASK); // the load it arrived at
    if (!measured) {
      measured = true;
    }
    while (true) {
      long old = latency.get(band);
      // An estimate older than MAX_AGE says what the server did long ago: the new one starts over.
      boolean stale = old != 0 && now - updatedAt.get(band) > MAX_AGE_NANOS;
      long next = old == 0 || stale ? Math.max(1, took) : old + (took - old) / 8;
      if (latency.compareAndSet(band, old, Math.max(1, next))) {
        updatedAt.set(band, now);
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
   * the load it would make (fading while the server is idle and the estimate older than {@link
   * #LATENCY_MAX_AGE}); before any request ended, how long the first has been waiting (0 if none is
   * in flight).
   */
  public long expectedLatencyNanos() {
    long since = firstStart.get();
    if (!measured) {
      // Nothing has ended yet: a request arriving now waits at least as long as the first has.
      return since == 0 || requestsInFlight() == 0 ? 0 : Math.max(0, ticker.nanoTime() - since);
    }
    int inFlightNow = requestsInFlight();
    int band = nearestMeasured(band(inFlightNow + 1));
    if (band < 0) {
      return 0;
    }
    long estimate = latency.get(band);
    long age = ticker.nanoTime() - updatedAt.get(band);
    if (inFlightNow > 0 || age <= MAX_AGE_NANOS) {
      return estimate;
    }
    // Idle, and measured long ago: the estimate halves each further MAX_AGE.
    return Math.max(1, (long) (estimate * Math.exp(-LN2 * (age - MAX_AGE_NANOS) / MAX_AGE_NANOS)));
  }

  /**
   * The band whose estimate answers for {@code band}: itself, else the nearest with one, below
   * first, then above; -1 if none has one.
   */
  private int nearestMeasured(int band) {
    if (latency.get(band) != 0) {
      return band;
    }
    for (int b = band - 1; b >= 0; b--) {
      if (latency.get(b) != 0) {
        return b;
      }
    }
    for (int b = band + 1; b < BANDS; b++) {
      if (latency.get(b) != 0) {
        return b;
      }
    }
    return -1;
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
