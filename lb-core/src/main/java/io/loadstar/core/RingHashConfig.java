package io.loadstar.core;

/**
 * Settings of {@link Strategies#ringHash(RingHashConfig)}: ring size limits and bounded load.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not.
 */
public final class RingHashConfig {

  /** The largest ring size accepted. */
  public static final int MAX_RING_SIZE = 8_388_608;

  private static final RingHashConfig DEFAULTS = builder().build();

  private final int minRingSize;
  private final int maxRingSize;
  private final double boundedLoadFactor;

  private RingHashConfig(Builder b) {
    this.minRingSize = b.minRingSize;
    this.maxRingSize = b.maxRingSize;
    this.boundedLoadFactor = b.boundedLoadFactor;
  }

  /** Returns the default settings: ring of 1024 to 262144 points, no load bound. */
  public static RingHashConfig defaults() {
    return DEFAULTS;
  }

  /** Returns a new builder with default settings. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder initialised with these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.minRingSize = minRingSize;
    b.maxRingSize = maxRingSize;
    b.boundedLoadFactor = boundedLoadFactor;
    return b;
  }

  /** Returns the least number of points on the ring. */
  public int minRingSize() {
    return minRingSize;
  }

  /** Returns the most points on the ring. */
  public int maxRingSize() {
    return maxRingSize;
  }

  /** Returns the bounded-load factor, or 0 when load is not bounded. */
  public double boundedLoadFactor() {
    return boundedLoadFactor;
  }

  @Override
  public String toString() {
    return "minRingSize="
        + minRingSize
        + ", maxRingSize="
        + maxRingSize
        + (boundedLoadFactor > 0 ? ", boundedLoadFactor=" + boundedLoadFactor : "");
  }

  /** Builds a {@link RingHashConfig}. Not thread-safe. */
  public static final class Builder {
    private int minRingSize = 1024;
    private int maxRingSize = 262_144;
    private double boundedLoadFactor;

    private Builder() {}

    /**
     * Sets the least number of points on the ring; small sets get more points per endpoint.
     * Defaults to 1024.
     *
     * @throws IllegalArgumentException if not in {@code 1..8388608}
     */
    public Builder minRingSize(int minRingSize) {
      checkSize("minRingSize", minRingSize);
      this.minRingSize = minRingSize;
      return this;
    }

    /**
     * Sets the most points on the ring (12 bytes of memory each, with the lookup index). Each
     * endpoint gets 2048 points per unit of weight until this limit; beyond it every endpoint gets
     * proportionally fewer, which evens load less well. Defaults to 262144.
     *
     * @throws IllegalArgumentException if not in {@code 1..8388608}
     */
    public Builder maxRingSize(int maxRingSize) {
      checkSize("maxRingSize", maxRingSize);
      this.maxRingSize = maxRingSize;
      return this;
    }

    /**
     * Bounds each endpoint's load: an endpoint holding at least {@code factor} times the mean
     * in-flight count (weighted) is skipped and the key moves to the next endpoint on the ring.
     * Defaults to unbounded.
     *
     * @throws IllegalArgumentException if not in {@code 1.0..100.0}
     */
    public Builder boundedLoadFactor(double factor) {
      this.boundedLoadFactor = ConsistentHashPicker.checkBoundedLoadFactor(factor);
      return this;
    }

    /**
     * Builds the settings.
     *
     * @throws IllegalStateException if minRingSize is greater than maxRingSize
     */
    public RingHashConfig build() {
      if (minRingSize > maxRingSize) {
        throw new IllegalStateException(
            "minRingSize " + minRingSize + " cannot be greater than maxRingSize " + maxRingSize);
      }
      return new RingHashConfig(this);
    }

    private static void checkSize(String name, int size) {
      if (size < 1 || size > MAX_RING_SIZE) {
        throw new IllegalArgumentException(
            name + ": " + size + " (expected: 1.." + MAX_RING_SIZE + ")");
      }
    }
  }
}
