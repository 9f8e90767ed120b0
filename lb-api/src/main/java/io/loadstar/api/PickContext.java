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
 * the endpoints already tried by earlier attempts of the same call (never picked again), and free
 * attributes for custom strategies.
 *
 * <p>Immutable and safe to share between threads; a context without a per-request key can be built
 * once and reused for every call. The key is hashed on every pick with {@link KeyHash}, so the cost
 * of hashing is part of the pick and a context holds the key, not its hash.
 */
public final class PickContext {

  private static final PickContext EMPTY =
      new PickContext(KeyKind.NONE, null, 0, List.of(), Map.of());

  private enum KeyKind {
    NONE,
    BYTES,
    CHARS,
    LONG
  }

  private final KeyKind keyKind;
  private final @Nullable Object key;
  private final long longKey;
  private final List<Endpoint> tried;
  private final Map<String, Object> attributes;

  private PickContext(
      KeyKind keyKind,
      @Nullable Object key,
      long longKey,
      List<Endpoint> tried,
      Map<String, Object> attributes) {
    this.keyKind = keyKind;
    this.key = key;
    this.longKey = longKey;
    this.tried = tried;
    this.attributes = attributes;
  }

  /** Returns the context with no key, nothing tried and no attributes. */
  public static PickContext empty() {
    return EMPTY;
  }

  /** Returns a context whose hash key is the UTF-8 encoding of {@code key}. */
  public static PickContext ofHashKey(CharSequence key) {
    return builder().hashKey(key).build();
  }

  /** Returns a context whose hash key is a copy of {@code key}. */
  public static PickContext ofHashKey(byte[] key) {
    return builder().hashKey(key).build();
  }

  /** Returns a context whose hash key is {@code key}. */
  public static PickContext ofHashKey(long key) {
    return builder().hashKey(key).build();
  }

  /** Returns a new builder. Builders are not thread-safe. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder initialised with this context's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.keyKind = keyKind;
    b.key = key;
    b.longKey = longKey;
    b.tried.addAll(tried);
    b.attributes.putAll(attributes);
    return b;
  }

  /** Returns true if this context carries a hash key. */
  public boolean hasHashKey() {
    return keyKind != KeyKind.NONE;
  }

  /**
   * Returns the 64-bit hash of the key with {@link KeyHash} and seed 0, computed on each call.
   *
   * @throws IllegalStateException if there is no key
   */
  public long hashKey() {
    switch (keyKind) {
      case BYTES:
        return KeyHash.hash((byte[]) key, 0);
      case CHARS:
        return KeyHash.hash((CharSequence) key, 0);
      case LONG:
        return KeyHash.hash(longKey, 0);
      default:
        throw new IllegalStateException("this PickContext has no hash key");
    }
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
    return new PickContext(keyKind, key, longKey, List.copyOf(next), attributes);
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
    if (keyKind != KeyKind.NONE) {
      sb.append("hashKey=").append(Long.toHexString(hashKey()));
      sep = ", ";
    }
    if (!tried.isEmpty()) {
      sb.append(sep).append("tried=").append(tried);
      sep = ", ";
    }
    if (!attributes.isEmpty()) {
      sb.append(sep).append("attributes=").append(attributes.keySet());
    }
    return sb.append('}').toString();
  }

  /** Builds a {@link PickContext}. Not thread-safe. */
  public static final class Builder {
    private KeyKind keyKind = KeyKind.NONE;
    private @Nullable Object key;
    private long longKey;
    private final List<Endpoint> tried = new ArrayList<>();
    private final Map<String, Object> attributes = new LinkedHashMap<>();

    private Builder() {}

    /** Sets the hash key to the UTF-8 encoding of {@code key}. The last key set wins. */
    public Builder hashKey(CharSequence key) {
      this.key = requireNonNull(key, "key").toString();
      this.keyKind = KeyKind.CHARS;
      return this;
    }

    /** Sets the hash key to a copy of {@code key}. The last key set wins. */
    public Builder hashKey(byte[] key) {
      this.key = requireNonNull(key, "key").clone();
      this.keyKind = KeyKind.BYTES;
      return this;
    }

    /** Sets the hash key to {@code key}. The last key set wins. */
    public Builder hashKey(long key) {
      this.key = null;
      this.longKey = key;
      this.keyKind = KeyKind.LONG;
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

    /** Builds the context. */
    public PickContext build() {
      if (keyKind == KeyKind.NONE && tried.isEmpty() && attributes.isEmpty()) {
        return EMPTY;
      }
      return new PickContext(
          keyKind,
          key,
          longKey,
          List.copyOf(tried),
          Collections.unmodifiableMap(new LinkedHashMap<>(attributes)));
    }
  }
}
