package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.SelectionStrategy;
import io.loadstar.api.internal.Checks;
import java.time.Duration;

/**
 * The built-in selection strategies. Every picker they build honours {@link
 * io.loadstar.api.PickContext#tried()}, skips endpoints at their in-flight limit, picks without
 * locks and allocates nothing per pick.
 *
 * <p>Strategies are immutable and may be shared; each balancer keeps its own selection state.
 */
public final class Strategies {

  /** The most choices {@link #leastRequest(int, double)} accepts. */
  public static final int MAX_CHOICES = PerThread.MAX_CHOICES;

  private static final SelectionStrategy ROUND_ROBIN = new RoundRobinStrategy();
  private static final SelectionStrategy RANDOM = new RandomStrategy();
  private static final SelectionStrategy LEAST_REQUEST = new LeastRequestStrategy(2, 1.0);
  private static final SelectionStrategy PEAK_EWMA =
      new PeakEwmaStrategy(
          Duration.ofSeconds(10).toNanos(),
          Duration.ofMillis(10).toNanos(),
          Duration.ofSeconds(1).toNanos());

  private Strategies() {}

  /**
   * Weighted round robin, smooth: endpoints are interleaved by weight (5:3:2 gives A B A C A B A A
   * B C), equal weights never repeat an endpoint back to back, and each cycle gives every endpoint
   * exactly its share. O(1) per pick. Each thread has its own cursor, started at a random position
   * and kept across endpoint updates.
   */
  public static SelectionStrategy roundRobin() {
    return ROUND_ROBIN;
  }

  /** Weighted random, O(1) per pick. */
  public static SelectionStrategy random() {
    return RANDOM;
  }

  /**
   * Least outstanding requests by power of two choices without replacement: of two distinct
   * endpoints drawn in proportion to their weights, the one with the lower {@code inFlight /
   * weight} wins, ties going to the first drawn. Idle endpoints are picked in proportion to their
   * weights; under load, in-flight counts settle in proportion to them.
   */
  public static SelectionStrategy leastRequest() {
    return LEAST_REQUEST;
  }

  /**
   * Least outstanding requests by power of {@code choices} choices without replacement, drawn in
   * proportion to weight, the lowest {@code inFlight^bias / weight} winning: bias 0 ignores load
   * (weighted random), bias 1 (the default) is proportional, higher values favour idle endpoints
   * more strongly.
   *
   * @throws IllegalArgumentException if {@code choices} is not in {@code 2..10} or {@code bias} is
   *     not in {@code 0.0..10.0}
   */
  public static SelectionStrategy leastRequest(int choices, double bias) {
    if (choices < 2 || choices > MAX_CHOICES) {
      throw new IllegalArgumentException(
          "choices: " + choices + " (expected: 2.." + MAX_CHOICES + ")");
    }
    if (!(bias >= 0.0 && bias <= 10.0)) {
      throw new IllegalArgumentException("bias: " + bias + " (expected: 0.0..10.0)");
    }
    return new LeastRequestStrategy(choices, bias);
  }

  /**
   * Latency-aware least loaded (Finagle's peak EWMA): of two distinct random endpoints, the one
   * with the lower {@code latency estimate x (inFlight + 1) / weight} wins. The estimate jumps to
   * any slower call and decays with a 10 s time constant; new endpoints start at 10 ms; a failed
   * call counts as at least 1 s.
   */
  public static SelectionStrategy peakEwma() {
    return PEAK_EWMA;
  }

  /**
   * Latency-aware least loaded with the given decay time constant and starting latency; a failed
   * call counts as at least 1 s.
   *
   * @throws IllegalArgumentException if {@code decay} is not in {@code 100ms..10m} or {@code
   *     defaultRtt} not in {@code 1us..1m}
   */
  public static SelectionStrategy peakEwma(Duration decay, Duration defaultRtt) {
    requireNonNull(decay, "decay");
    requireNonNull(defaultRtt, "defaultRtt");
    Checks.duration("decay", decay, Duration.ofMillis(100), Duration.ofMinutes(10));
    Checks.duration("defaultRtt", defaultRtt, Duration.ofNanos(1000), Duration.ofMinutes(1));
    return new PeakEwmaStrategy(
        decay.toNanos(), defaultRtt.toNanos(), Duration.ofSeconds(1).toNanos());
  }

  /**
   * Consistent hashing on a weighted ring of virtual nodes, with the default {@link
   * RingHashConfig}. A key only ever moves to or from an endpoint that joined or left.
   */
  public static SelectionStrategy ringHash() {
    return ringHash(RingHashConfig.defaults());
  }

  /** Consistent hashing on a weighted ring of virtual nodes. */
  public static SelectionStrategy ringHash(RingHashConfig config) {
    return new RingHashStrategy(requireNonNull(config, "config"));
  }

  /**
   * Consistent hashing with a weighted Maglev lookup table, with the default {@link MaglevConfig}:
   * O(1) per pick, near-perfect balance, near-minimal key movement.
   */
  public static SelectionStrategy maglev() {
    return maglev(MaglevConfig.defaults());
  }

  /** Consistent hashing with a weighted Maglev lookup table. */
  public static SelectionStrategy maglev(MaglevConfig config) {
    return new MaglevStrategy(requireNonNull(config, "config"));
  }

  /**
   * Prequal's probing (NSDI 2024) with the default settings ({@link ProbingConfig}): endpoints are
   * probed asynchronously for their requests in flight and expected latency, a pool of recent
   * answers is kept, and each pick takes, of the answers not among the busiest 20%, the endpoint
   * expected to answer fastest. Probes go out on the balancer's worker threads, never a request
   * thread, at most as many as picks use up. With fewer than 2 fresh answers (at start, or when
   * endpoints do not answer probes, which is logged) it picks by least request. Endpoints answer
   * probes with lb-probe's responder; lb-probe's {@code HttpProber} asks them over HTTP.
   */
  public static SelectionStrategy probing(io.loadstar.api.Prober prober) {
    return probing(ProbingConfig.builder(prober).build());
  }

  /** Prequal's probing with {@code config}'s settings. */
  public static SelectionStrategy probing(ProbingConfig config) {
    return new ProbingStrategy(requireNonNull(config, "config"));
  }

  /**
   * Returns the strategy with default settings named {@code name}, for configuration files and
   * command lines: {@code roundRobin}, {@code random}, {@code leastRequest}, {@code peakEwma},
   * {@code ringHash} or {@code maglev}.
   *
   * @throws IllegalArgumentException if {@code name} is none of those
   */
  public static SelectionStrategy named(String name) {
    requireNonNull(name, "name");
    switch (name) {
      case "roundRobin":
        return roundRobin();
      case "random":
        return random();
      case "leastRequest":
        return leastRequest();
      case "peakEwma":
        return peakEwma();
      case "ringHash":
        return ringHash();
      case "maglev":
        return maglev();
      default:
        throw new IllegalArgumentException(
            "strategy: "
                + name
                + " (expected: roundRobin, random, leastRequest, peakEwma, ringHash or maglev)");
    }
  }
}
