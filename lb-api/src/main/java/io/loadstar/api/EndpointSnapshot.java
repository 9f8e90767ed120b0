package io.loadstar.api;

import static java.util.Objects.requireNonNull;

/**
 * What a balancer knows about one endpoint at one moment: its state, the reason in words, its
 * weights, calls in flight and outcome counters. Returned by {@link
 * LoadBalancer.Inspection#snapshot()}.
 *
 * <p>Immutable and thread-safe; a copy, not a live view.
 */
public final class EndpointSnapshot {

  /** An endpoint's state, from the balancer's point of view. */
  public enum State {
    /** Picked normally. */
    READY,
    /** Picked, with a weight still ramping up after joining or recovering (slow start). */
    RAMPING,
    /** Listed and healthy, but at its in-flight limit right now. */
    AT_LIMIT,
    /** Taken out of rotation by the application: no new calls, calls in flight finish. */
    DRAINING,
    /** Taken out of rotation by active health checks. */
    UNHEALTHY,
    /** Taken out of rotation for a while by outlier detection (failed real calls). */
    EJECTED
  }

  private final Endpoint endpoint;
  private final State state;
  private final String reason;
  private final double effectiveWeight;
  private final int inFlight;
  private final long successes;
  private final long failures;

  private EndpointSnapshot(Builder b) {
    this.endpoint = b.endpoint;
    this.state = b.state;
    this.reason = b.reason;
    this.effectiveWeight = b.effectiveWeight;
    this.inFlight = b.inFlight;
    this.successes = b.successes;
    this.failures = b.failures;
  }

  /** Returns a builder; for implementations of {@link LoadBalancer}. Not thread-safe. */
  public static Builder builder(Endpoint endpoint, State state) {
    return new Builder(endpoint, state);
  }

  /** Returns the endpoint, with the weight discovery reported. */
  public Endpoint endpoint() {
    return endpoint;
  }

  /** Returns the state. */
  public State state() {
    return state;
  }

  /**
   * Returns why the endpoint is in its state, e.g. {@code "ejected: 5 consecutive failures, for 30
   * s"} or {@code "check failed: connection refused on port 9200"}. Empty when READY, unless the
   * endpoint is failing and an ejection was refused (the max-ejection cap was reached): then it
   * says so.
   */
  public String reason() {
    return reason;
  }

  /** Returns the weight discovery (or a runtime override) gives the endpoint. */
  public int weight() {
    return endpoint.weight();
  }

  /**
   * Returns the weight in effect now, in the same units as {@link #weight()}: lower while ramping
   * up (slow start), 0 when out of rotation.
   */
  public double effectiveWeight() {
    return effectiveWeight;
  }

  /** Returns the calls in flight. */
  public int inFlight() {
    return inFlight;
  }

  /** Returns the calls reported successful since the endpoint was first listed. */
  public long successes() {
    return successes;
  }

  /** Returns the calls reported failed since the endpoint was first listed. */
  public long failures() {
    return failures;
  }

  @Override
  public String toString() {
    return endpoint.key()
        + " "
        + state
        + (reason.isEmpty() ? "" : " (" + reason + ")")
        + " weight="
        + weight()
        + "/"
        + effectiveWeight
        + " inFlight="
        + inFlight
        + " ok="
        + successes
        + " failed="
        + failures;
  }

  /** Builds an {@link EndpointSnapshot}. Not thread-safe. */
  public static final class Builder {
    private final Endpoint endpoint;
    private final State state;
    private String reason = "";
    private double effectiveWeight;
    private int inFlight;
    private long successes;
    private long failures;

    private Builder(Endpoint endpoint, State state) {
      this.endpoint = requireNonNull(endpoint, "endpoint");
      this.state = requireNonNull(state, "state");
    }

    /** Sets the reason in words. */
    public Builder reason(String reason) {
      this.reason = requireNonNull(reason, "reason");
      return this;
    }

    /** Sets the weight in effect. */
    public Builder effectiveWeight(double effectiveWeight) {
      this.effectiveWeight = effectiveWeight;
      return this;
    }

    /** Sets the calls in flight. */
    public Builder inFlight(int inFlight) {
      this.inFlight = inFlight;
      return this;
    }

    /** Sets the outcome counters. */
    public Builder counters(long successes, long failures) {
      this.successes = successes;
      this.failures = failures;
      return this;
    }

    /** Builds the snapshot. */
    public EndpointSnapshot build() {
      return new EndpointSnapshot(this);
    }
  }
}
