package io.loadstar.core;

/**
 * How a balancer uses its priority tiers ({@link io.loadstar.api.Endpoint#withPriority}) and when
 * it panics: give it to {@link LoadBalancers.Builder#tiers}.
 *
 * <p>Panic: when fewer than {@link #panicThreshold()} percent of the serving tier's endpoints are
 * usable (healthy and not ejected), picks spread over all of the tier's endpoints rather than
 * overload the few left, as Envoy does; or fail, with {@link Builder#failFastInPanic}. Spill-over:
 * instead of all-or-nothing, each tier keeps {@code min(100%, 1.4 x its usable share)} of the
 * traffic and the next tiers take the rest, so a primary tier with half its endpoints usable keeps
 * 70%.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not.
 */
public final class TierConfig {

  private static final TierConfig DEFAULTS = builder().build();

  private final int panicThreshold;
  private final boolean failFastInPanic;
  private final boolean spillover;

  private TierConfig(Builder b) {
    this.panicThreshold = b.panicThreshold;
    this.failFastInPanic = b.failFastInPanic;
    this.spillover = b.spillover;
  }

  /**
   * Returns the defaults: panic below 50% usable (picks spread over the whole tier), no spill-over
   * (the first tier with a usable endpoint takes all traffic).
   */
  public static TierConfig defaults() {
    return DEFAULTS;
  }

  /** Returns a new builder with the default settings. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder initialised with these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.panicThreshold = panicThreshold;
    b.failFastInPanic = failFastInPanic;
    b.spillover = spillover;
    return b;
  }

  /** Returns the percentage of usable endpoints below which a tier panics; 0 = never. */
  public int panicThreshold() {
    return panicThreshold;
  }

  /** Returns whether picks fail, instead of spreading over all endpoints, in panic. */
  public boolean failFastInPanic() {
    return failFastInPanic;
  }

  /** Returns whether load spills over to the next tiers by the tiers' health. */
  public boolean spillover() {
    return spillover;
  }

  @Override
  public String toString() {
    return "TierConfig{panicThreshold="
        + panicThreshold
        + (failFastInPanic ? ", failFastInPanic" : "")
        + (spillover ? ", spillover" : "")
        + '}';
  }

  /** Builds a {@link TierConfig}. Not thread-safe. */
  public static final class Builder {
    private int panicThreshold = 50;
    private boolean failFastInPanic;
    private boolean spillover;

    private Builder() {}

    /**
     * Sets the panic threshold: when less than this percentage of a tier's endpoints is usable,
     * picks spread over all of the tier's endpoints. Defaults to 50; 0 turns panic off.
     *
     * @throws IllegalArgumentException if not in {@code 0..100}
     */
    public Builder panicThreshold(int percent) {
      if (percent < 0 || percent > 100) {
        throw new IllegalArgumentException(
            "panicThreshold: " + percent + " (expected: 0..100, 0 = off)");
      }
      this.panicThreshold = percent;
      return this;
    }

    /**
     * Whether picks fail, instead of spreading over all endpoints, while a tier is in panic.
     * Defaults to false.
     */
    public Builder failFastInPanic(boolean failFastInPanic) {
      this.failFastInPanic = failFastInPanic;
      return this;
    }

    /**
     * Spreads load over priority tiers by their health, as Envoy does: a tier keeps {@code
     * min(100%, 1.4 x its usable share)} of the traffic and the next tiers take the rest. Panic
     * then starts when the tiers' combined health falls below the panic threshold. Defaults to off:
     * the first tier with a usable endpoint takes all traffic.
     */
    public Builder spillover(boolean spillover) {
      this.spillover = spillover;
      return this;
    }

    /** Builds the settings. */
    public TierConfig build() {
      return new TierConfig(this);
    }
  }
}
