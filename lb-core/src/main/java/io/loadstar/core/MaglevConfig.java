package io.loadstar.core;

/**
 * Settings of {@link Strategies#maglev(MaglevConfig)}: lookup table size and bounded load.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not.
 */
public final class MaglevConfig {

  /** The smallest table size accepted. */
  public static final int MIN_TABLE_SIZE = 251;

  /** The largest table size accepted. */
  public static final int MAX_TABLE_SIZE = 16_777_213;

  private static final MaglevConfig DEFAULTS = builder().build();

  private final int tableSize;
  private final double boundedLoadFactor;

  private MaglevConfig(Builder b) {
    this.tableSize = b.tableSize;
    this.boundedLoadFactor = b.boundedLoadFactor;
  }

  /** Returns the default settings: automatic table size (65537 up to 655 endpoints), no bound. */
  public static MaglevConfig defaults() {
    return DEFAULTS;
  }

  /** Returns a new builder with default settings. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder initialised with these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.tableSize = tableSize;
    b.boundedLoadFactor = boundedLoadFactor;
    return b;
  }

  /** Returns the configured table size, or 0 for automatic. */
  public int tableSize() {
    return tableSize;
  }

  /** Returns the bounded-load factor, or 0 when load is not bounded. */
  public double boundedLoadFactor() {
    return boundedLoadFactor;
  }

  @Override
  public String toString() {
    return "tableSize="
        + (tableSize == 0 ? "auto" : Integer.toString(tableSize))
        + (boundedLoadFactor > 0 ? ", boundedLoadFactor=" + boundedLoadFactor : "");
  }

  static boolean isPrime(int n) {
    if (n < 2) {
      return false;
    }
    if (n % 2 == 0) {
      return n == 2;
    }
    for (int d = 3; (long) d * d <= n; d += 2) {
      if (n % d == 0) {
        return false;
      }
    }
    return true;
  }

  static int nextPrime(int n) {
    int p = n;
    while (!isPrime(p)) {
      p++;
    }
    return p;
  }

  /** Builds a {@link MaglevConfig}. Not thread-safe. */
  public static final class Builder {
    private int tableSize;
    private double boundedLoadFactor;

    private Builder() {}

    /**
     * Sets the lookup table size, a prime. A larger table balances more evenly (Maglev keeps each
     * endpoint's share within about n / size) and costs 4 bytes per slot and a longer rebuild.
     * Defaults to automatic: the first size of a fixed ladder of primes (65537, 131101, 262147,
     * 524309, ... about 65536 x 2^k) with at least 100 slots per endpoint, shares within 1%, up to
     * 262147 (2,621 endpoints); beyond, the first with at least 25 slots per endpoint, shares
     * within 4% (262147 up to 10,485 endpoints, then 524309, ...). Pin a size to keep the mapping
     * when the endpoint count crosses a rung, or for finer shares past 2,621 endpoints. A size
     * smaller than the endpoint count is raised to the automatic size, with a warning.
     *
     * @throws IllegalArgumentException if not a prime in {@code 251..16777213}
     */
    public Builder tableSize(int tableSize) {
      if (tableSize < MIN_TABLE_SIZE || tableSize > MAX_TABLE_SIZE || !isPrime(tableSize)) {
        throw new IllegalArgumentException(
            "tableSize: "
                + tableSize
                + " (expected: a prime in "
                + MIN_TABLE_SIZE
                + ".."
                + MAX_TABLE_SIZE
                + ")");
      }
      this.tableSize = tableSize;
      return this;
    }

    /**
     * Bounds each endpoint's load: an endpoint holding at least {@code factor} times the mean
     * in-flight count (weighted) is skipped and the key spills to its next endpoint. Defaults to
     * unbounded.
     *
     * @throws IllegalArgumentException if not in {@code 1.0..100.0}
     */
    public Builder boundedLoadFactor(double factor) {
      this.boundedLoadFactor = ConsistentHashPicker.checkBoundedLoadFactor(factor);
      return this;
    }

    /** Builds the settings. */
    public MaglevConfig build() {
      return new MaglevConfig(this);
    }
  }
}
