package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a caller tells the balancer about one pick: an optional hash key (for consistent hashing),
 * the endpoints already tried by earlier attempts of the same call (never picked again), the time
 * the call has left (strategies that predict an endpoint's latency skip one that could not answer
 * in time, where another could), and free attributes for custom strategies.
 *
 * <p>Immutable and safe to share between threads; a context without a per-request key can be built
 * once and reused for every call. The key is hashed once, with {@link KeyHash}, when the context is
 * built: a context holds the key's hash, not the key, so however many times it is picked (a call
 * and its retries) the key is never hashed again, and a byte key is not copied.
 */
public final class PickContext {

  private static final PickContext EMPTY =
      new PickContext(false, 0, List.of(), Map.of(), Long.MAX_VALUE);

  private final boolean hasKey;
  private final long hash;
  private final List<Endpoint> tried;
  private final Map<String, Object> attributes;
  private final long timeBudgetNanos;

  private PickContext(
      boolean hasKey,
      long hash,
      List<Endpoint> tried,
      Map<String, Object> attributes,
      long timeBudgetNanos) {
    this.hasKey = hasKey;
    this.hash = hash;
    this.tried = tried;
    this.attributes = attributes;
    this.timeBudgetNanos = timeBudgetNanos;
  }

  /** Returns the context with no key, nothing tried and no attributes. */
  public static PickContext empty() {
    return EMPTY;
  }

  /**
   * Returns a context whose hash key is the UTF-8 encoding of {@code key} (hashed without encoding
   * or copying it).
   */
  public static PickContext ofHashKey(CharSequence key) {
    return new PickContext(
        true, KeyHash.hash(requireNonNull(key, "key"), 0), List.of(), Map.of(), Long.MAX_VALUE);
  }

  /** Returns a context whose hash key is {@code key} (hashed now; the array is not kept). */
  public static PickContext ofHashKey(byte[] key) {
    return new PickContext(
        true, KeyHash.hash(requireNonNull(key, "key"), 0), List.of(), Map.of(), Long.MAX_VALUE);
  }

  /** Returns a context whose hash key is {@code key}. */
  public static PickContext ofHashKey(long key) {
    return new PickContext(true, KeyHash.hash(key, 0), List.of(), Map.of(), Long.MAX_VALUE);
  }

  /** Returns a new builder. Builders are not thread-safe. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder initialised with this context's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.hasKey = hasKey;
    b.hash = hash;
    b.tried.addAll(tried);
    b.attributes.putAll(attributes);
    b.timeBudgetNanos = timeBudgetNanos;
    return b;
  }

  /** Returns true if this context carries a hash key. */
  public boolean hasHashKey() {
    return hasKey;
  }

  /**
   * Returns the 64-bit hash of the key with {@link KeyHash} and seed 0, computed when the context
   * was built.
   *
   * @throws IllegalStateException if there is no key
   */
  public long hashKey() {
    if (!hasKey) {
      throw new IllegalStateException("this PickContext has no hash key");
    }
    return hash;
  }

  /** Returns the endpoints already tried by this call, in the order they were tried. */
  public List<Endpoint> tried() {
    return tried;
  }

  /** Returns how many endpoints were already tried; 0 for a first attempt. */
  public int triedCount() {
    return tried.size();
  }

  /** Returns true if an endpoint with the same {@link Endpoint#key()} was already tried. */
  public boolean isTried(Endpoint endpoint) {
    List<Endpoint> t = tried;
    for (int i = 0, n = t.size(); i < n; i++) {
      if (t.get(i).key().equals(endpoint.key())) {
        return true;
      }
    }
    return false;
  }

  /** Returns a copy that also excludes {@code endpoint}, for the next attempt of a call. */
  public PickContext withTried(Endpoint endpoint) {
    requireNonNull(endpoint, "endpoint");
    List<Endpoint> next = new ArrayList<>(tried.size() + 1);
    next.addAll(tried);
    next.add(endpoint);
    return new PickContext(hasKey, hash, List.copyOf(next), attributes, timeBudgetNanos);
  }

  /**
   * Returns the time the call has left, in nanoseconds, as its driver said when this attempt was
   * picked; {@code Long.MAX_VALUE} when it has no deadline.
   */
  public long timeBudgetNanos() {
    return timeBudgetNanos;
  }

  /**
   * Returns a copy for a call with {@code nanos} left ({@code Long.MAX_VALUE}: no deadline; less
   * than 0 counts as 0).
   */
  public PickContext withTimeBudget(long nanos) {
    long budget = Math.max(0, nanos);
    if (budget == timeBudgetNanos) {
      return this;
    }
    return new PickContext(hasKey, hash, tried, attributes, budget);
  }

  /** Returns the attributes; unmodifiable. */
  public Map<String, Object> attributes() {
    return attributes;
  }

  /** Returns the attribute {@code name}, or {@code null}. */
  public @Nullable Object attribute(String name) {
    return attributes.get(name);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("PickContext{");
    String sep = "";
    if (hasKey) {
      sb.append("hashKey=").append(Long.toHexString(hash));
      sep = ", ";
    }
    if (!tried.isEmpty()) {
      sb.append(sep).append("tried=").append(tried);
      sep = ", ";
    }
    if (!attributes.isEmpty()) {
      sb.append(sep).append("attributes=").append(attributes.keySet());
      sep = ", ";
    }
    if (timeBudgetNanos != Long.MAX_VALUE) {
      sb.append(sep).append("timeBudget=").append(timeBudgetNanos / 1_000_000).append("ms");
    }
    return sb.append('}').toString();
  }

  /** Builds a {@link PickContext}. Not thread-safe. */
  public static final class Builder {
    private boolean hasKey;
    private long hash;
    private final List<Endpoint> tried = new ArrayList<>();
    private final Map<String, Object> attributes = new LinkedHashMap<>();
    private long timeBudgetNanos = Long.MAX_VALUE;

    private Builder() {}

    /** Sets the hash key to the UTF-8 encoding of {@code key}. The last key set wins. */
    public Builder hashKey(CharSequence key) {
      return hashed(KeyHash.hash(requireNonNull(key, "key"), 0));
    }

    /** Sets the hash key to {@code key} (hashed now; the array is not kept). Last one wins. */
    public Builder hashKey(byte[] key) {
      return hashed(KeyHash.hash(requireNonNull(key, "key"), 0));
    }

    /** Sets the hash key to {@code key}. The last key set wins. */
    public Builder hashKey(long key) {
      return hashed(KeyHash.hash(key, 0));
    }

    private Builder hashed(long keyHash) {
      this.hash = keyHash;
      this.hasKey = true;
      return this;
    }

    /** Adds an endpoint that must not be picked (already tried by this call). */
    public Builder tried(Endpoint endpoint) {
      tried.add(requireNonNull(endpoint, "endpoint"));
      return this;
    }

    /** Sets an attribute for custom strategies. */
    public Builder attribute(String name, Object value) {
      attributes.put(requireNonNull(name, "name"), requireNonNull(value, "value"));
      return this;
    }

    /**
     * Sets the time the call has left ({@code Long.MAX_VALUE}, the default: no deadline; less than
     * 0 counts as 0).
     */
    public Builder timeBudgetNanos(long nanos) {
      this.timeBudgetNanos = Math.max(0, nanos);
      return this;
    }

    /** Builds the context. */
    public PickContext build() {
      if (!hasKey && tried.isEmpty() && attributes.isEmpty() && timeBudgetNanos == Long.MAX_VALUE) {
        return EMPTY;
      }
      return new PickContext(
          hasKey,
          hash,
          List.copyOf(tried),
          Collections.unmodifiableMap(new LinkedHashMap<>(attributes)),
          timeBudgetNanos);
    }
  }
}
