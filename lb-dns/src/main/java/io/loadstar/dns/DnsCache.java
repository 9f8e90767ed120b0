package io.loadstar.dns;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.loadstar.api.Ticker;
import io.loadstar.api.internal.Checks;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Name;

/*
 * Design notes: a Caffeine AsyncCache of DNS answers keyed by (name, type, servers). The cache
 * holds the future of the query, so concurrent lookups of the same key share one query in flight
 * (two services with one name cost one query). An entry expires at its answer's TTL (the smallest
 * TTL of the records used), NXDOMAIN and empty answers at min(TTL, negativeTtl), and failures at
 * once: a timeout is never served from the cache. Answers carry the cache ticker's time of
 * fetching, so a source computes the TTL that remains and refreshes when the entry expires.
 */
/**
 * A private cache of DNS answers shared by {@link DnsEndpointSource}s: never dnsjava's global
 * cache, never the JVM's {@code InetAddress} cache.
 *
 * <p>Thread-safe. Sources use {@link #shared()} unless given another.
 */
public final class DnsCache {

  private static final class Holder {
    static final DnsCache SHARED = builder().build();
  }

  private final @Nullable AsyncCache<Key, DnsAnswer> cache;
  private final Ticker ticker;

  private DnsCache(Builder b) {
    this.ticker = b.ticker;
    if (b.maximumSize == 0) {
      this.cache = null;
      return;
    }
    long negativeNanos = b.negativeTtl.toNanos();
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(b.maximumSize)
            .ticker(b.ticker::nanoTime)
            // Maintenance (a few evictions) on the calling thread: no ForkJoinPool.commonPool(),
            // which on a small machine runs each task on a thread of its own.
            .executor(Runnable::run)
            .expireAfter(
                new Expiry<Key, DnsAnswer>() {
                  @Override
                  public long expireAfterCreate(Key key, DnsAnswer answer, long currentTime) {
                    if (answer.error != null) {
                      return 0;
                    }
                    long ttl = TimeUnit.SECONDS.toNanos(answer.ttlSeconds);
                    return answer.records.isEmpty() ? Math.min(ttl, negativeNanos) : ttl;
                  }

                  @Override
                  public long expireAfterUpdate(
                      Key key, DnsAnswer answer, long currentTime, long currentDuration) {
                    return expireAfterCreate(key, answer, currentTime);
                  }

                  @Override
                  public long expireAfterRead(
                      Key key, DnsAnswer answer, long currentTime, long currentDuration) {
                    return currentDuration;
                  }
                })
            .buildAsync();
  }

  /** Returns the JVM-wide cache that sources use by default (system ticker, 10,000 entries). */
  public static DnsCache shared() {
    return Holder.SHARED;
  }

  /** Returns a cache that caches nothing (every lookup queries). */
  public static DnsCache none() {
    return builder().maximumSize(0).build();
  }

  /** Returns a builder. Not thread-safe. */
  public static Builder builder() {
    return new Builder();
  }

  Ticker ticker() {
    return ticker;
  }

  /**
   * Returns the cached answer, or the answer of {@code query} shared by concurrent callers. An
   * entry older than {@code maxAgeNanos} (the asking source's maxTtl) is fetched again, so a huge
   * record TTL cannot outlive a source's clamp.
   */
  CompletableFuture<DnsAnswer> get(
      Name name,
      int type,
      List<InetSocketAddress> servers,
      long maxAgeNanos,
      Supplier<CompletableFuture<DnsAnswer>> query) {
    AsyncCache<Key, DnsAnswer> c = cache;
    if (c == null) {
      return query.get();
    }
    Key key = new Key(name, type, servers);
    CompletableFuture<DnsAnswer> existing = c.getIfPresent(key);
    if (existing != null && existing.isDone() && !existing.isCompletedExceptionally()) {
      DnsAnswer cached = existing.join();
      if (ticker.nanoTime() - cached.fetchedNanos >= maxAgeNanos) {
        CompletableFuture<DnsAnswer> fresh = query.get();
        c.put(key, fresh);
        return fresh;
      }
    }
    return c.get(key, (k, executor) -> query.get());
  }

  /** Cache key: the question and who is asked. */
  private static final class Key {
    final Name name;
    final int type;
    final List<InetSocketAddress> servers;

    Key(Name name, int type, List<InetSocketAddress> servers) {
      this.name = name;
      this.type = type;
      this.servers = servers;
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Key
          && ((Key) o).type == type
          && ((Key) o).name.equals(name)
          && ((Key) o).servers.equals(servers);
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, type, servers);
    }
  }

  /** Builds a {@link DnsCache}. Not thread-safe. */
  public static final class Builder {
    private Ticker ticker = Ticker.system();
    private long maximumSize = 10_000;
    private Duration negativeTtl = Duration.ofSeconds(5);

    private Builder() {}

    /** Sets the time source of expiry, for tests. Defaults to {@link Ticker#system()}. */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the most answers kept. Defaults to 10,000; 0 caches nothing.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder maximumSize(long maximumSize) {
      if (maximumSize < 0) {
        throw new IllegalArgumentException(
            "maximumSize: " + maximumSize + " (expected: 0 or more)");
      }
      this.maximumSize = maximumSize;
      return this;
    }

    /**
     * Caps how long NXDOMAIN and empty answers are kept. Defaults to 5 seconds.
     *
     * @throws IllegalArgumentException if not in {@code 0s..1h}
     */
    public Builder negativeTtl(Duration negativeTtl) {
      requireNonNull(negativeTtl, "negativeTtl");
      Checks.duration("negativeTtl", negativeTtl, Duration.ZERO, Duration.ofHours(1));
      this.negativeTtl = negativeTtl;
      return this;
    }

    /** Builds the cache. */
    public DnsCache build() {
      return new DnsCache(this);
    }
  }
}
