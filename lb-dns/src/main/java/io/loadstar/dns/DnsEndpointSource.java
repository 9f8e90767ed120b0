package io.loadstar.dns;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/*
 * Design notes.
 *
 * Queries go straight to the configured servers with dnsjava's SimpleResolver (one per server,
 * each with the per-query timeout; dnsjava retries over TCP when a UDP answer is truncated). No
 * dnsjava Lookup, no dnsjava Cache and no InetAddress lookup is involved, so neither dnsjava's
 * global cache nor the JVM's networkaddress.cache.ttl can hold a stale answer. A failed or
 * SERVFAIL/REFUSED answer moves on to the next server.
 *
 * Refresh: after an answer, the next lookup is due at the smallest TTL of the records used
 * (following CNAMEs), clamped to [minTtl, maxTtl], times a random factor in [0.9, 1.1], without
 * waiting for traffic. After a failure (timeout, SERVFAIL, REFUSED, network error; and NXDOMAIN or
 * an empty answer while a last good set exists) the last good set stays published and the lookup
 * is retried with exponential backoff, 1 s doubling to 32 s, +-20% (Resilience4j's
 * IntervalFunction). One WARN when lookups start failing, one INFO when they recover; a new list
 * is published only when it differs from the last one.
 *
 * Bad data is skipped, never fatal: records for a name outside the CNAME chain and records of
 * other types are ignored (counted and logged at DEBUG), TTLs are clamped to the range.
 *
 * Threading: start/refresh/close come from the balancer's control loop; answers arrive on
 * dnsjava's threads and timers on the scheduler. All state is guarded by one lock; the listener
 * (the balancer, which only queues the update) is called outside it.
 */
/**
 * An endpoint source that follows a DNS name's A and/or AAAA records at their TTL.
 *
 * <p>Thread-safe. {@link #close()} cancels every timer; with the default scheduler it also stops
 * the source's timer thread.
 */
public final class DnsEndpointSource implements EndpointSource {

  private static final Logger logger = LoggerFactory.getLogger(DnsEndpointSource.class);

  /** Which address families to use. */
  public enum AddressPolicy {
    /** A records only. */
    IPV4_ONLY,
    /** AAAA records only. */
    IPV6_ONLY,
    /** A and AAAA records, each address an endpoint. */
    BOTH,
    /** A records if there are any, else AAAA. */
    PREFER_IPV4,
    /** AAAA records if there are any, else A. */
    PREFER_IPV6
  }

  private final Name name;
  private final int port;
  private final List<SimpleResolver> resolvers;
  private final AddressPolicy policy;
  private final long minTtlNanos;
  private final long maxTtlNanos;
  private final ScheduledExecutorService scheduler;
  private final @Nullable ScheduledThreadPoolExecutor ownScheduler;
  private final IntervalFunction backoff =
      IntervalFunction.ofExponentialRandomBackoff(
          Duration.ofSeconds(1), 2.0, 0.2, Duration.ofSeconds(32));
  private final Object lock = new Object();
  // Guarded by lock:
  private final SplittableRandom random;
  private @Nullable Listener listener;
  private List<Endpoint> lastGood = List.of();
  private int failuresInARow;
  private @Nullable ScheduledFuture<?> timer;
  private boolean closed;
  private long generation;

  private DnsEndpointSource(Builder b) {
    this.name = b.name;
    this.port = b.port;
    this.policy = b.policy;
    this.minTtlNanos = b.minTtl.toNanos();
    this.maxTtlNanos = b.maxTtl.toNanos();
    this.random = new SplittableRandom(b.seed);
    List<InetSocketAddress> servers =
        b.servers != null ? b.servers : ResolverConfig.getCurrentConfig().servers();
    List<SimpleResolver> rs = new ArrayList<>();
    for (InetSocketAddress server : servers) {
      SimpleResolver r = new SimpleResolver(server);
      r.setTimeout(b.queryTimeout);
      rs.add(r);
    }
    this.resolvers = List.copyOf(rs);
    if (b.scheduler != null) {
      this.scheduler = b.scheduler;
      this.ownScheduler = null;
    } else {
      ScheduledThreadPoolExecutor s =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread t = new Thread(r, "loadstar-dns-" + name);
                t.setDaemon(true);
                return t;
              });
      s.setRemoveOnCancelPolicy(true);
      this.scheduler = s;
      this.ownScheduler = s;
    }
  }

  /**
   * Returns a builder for the A/AAAA records of {@code hostname}; every address becomes an endpoint
   * on {@code port}. The name is absolute (a trailing dot is optional).
   *
   * @throws IllegalArgumentException if the name is not a valid DNS name or the port is not in
   *     {@code 1..65535}
   */
  public static Builder builder(String hostname, int port) {
    requireNonNull(hostname, "hostname");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    Name n;
    try {
      n = Name.fromString(hostname.endsWith(".") ? hostname : hostname + ".");
    } catch (TextParseException e) {
      throw new IllegalArgumentException(
          "hostname: '" + hostname + "' (expected: a DNS name): " + e.getMessage());
    }
    return new Builder(n, port);
  }

  @Override
  public void start(Listener listener) {
    requireNonNull(listener, "listener");
    synchronized (lock) {
      if (this.listener != null) {
        throw new IllegalStateException("DnsEndpointSource for " + name + " is already started");
      }
      this.listener = listener;
    }
    lookup();
  }

  @Override
  public void refresh() {
    lookup();
  }

  @Override
  public void close() {
    ScheduledFuture<?> t;
    synchronized (lock) {
      closed = true;
      listener = null;
      t = timer;
      timer = null;
    }
    if (t != null) {
      t.cancel(false);
    }
    if (ownScheduler != null) {
      ownScheduler.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "DnsEndpointSource{" + name + ":" + port + ", " + policy + "}";
  }

  private void lookup() {
    long gen;
    synchronized (lock) {
      if (closed) {
        return;
      }
      gen = ++generation; // a newer lookup supersedes an older one still in flight
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }
    List<Integer> types = new ArrayList<>();
    if (policy != AddressPolicy.IPV6_ONLY) {
      types.add(Type.A);
    }
    if (policy != AddressPolicy.IPV4_ONLY) {
      types.add(Type.AAAA);
    }
    List<CompletableFuture<Answer>> answers = new ArrayList<>();
    for (int type : types) {
      answers.add(query(type, 0).toCompletableFuture());
    }
    CompletableFuture.allOf(answers.toArray(new CompletableFuture<?>[0]))
        .whenComplete((ignored, error) -> onAnswers(gen, answers));
  }

  /** One record type's outcome. */
  private static final class Answer {
    final int type;
    final List<InetAddress> addresses;
    final long ttlSeconds;
    final int rcode;
    final @Nullable Throwable error;

    Answer(
        int type,
        List<InetAddress> addresses,
        long ttlSeconds,
        int rcode,
        @Nullable Throwable error) {
      this.type = type;
      this.addresses = addresses;
      this.ttlSeconds = ttlSeconds;
      this.rcode = rcode;
      this.error = error;
    }
  }

  private CompletionStage<Answer> query(int type, int serverIndex) {
    SimpleResolver resolver = resolvers.get(serverIndex);
    Message query = Message.newQuery(Record.newRecord(name, type, DClass.IN));
    return resolver
        .sendAsync(query)
        .handle(
            (response, error) -> {
              if (error == null) {
                int rcode = response.getRcode();
                if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                  return CompletableFuture.completedFuture(parse(type, response));
                }
                error =
                    new UnknownHostException(
                        Rcode.string(rcode) + " from " + resolver.getAddress());
              }
              if (serverIndex + 1 < resolvers.size()) {
                return query(type, serverIndex + 1);
              }
              Throwable cause =
                  error instanceof java.util.concurrent.CompletionException
                          && error.getCause() != null
                      ? error.getCause()
                      : error;
              return CompletableFuture.completedFuture(new Answer(type, List.of(), 0, -1, cause));
            })
        .thenCompose(stage -> stage);
  }

  private Answer parse(int type, Message response) {
    if (response.getRcode() == Rcode.NXDOMAIN) {
      return new Answer(type, List.of(), 0, Rcode.NXDOMAIN, null);
    }
    Set<Name> chain = new HashSet<>();
    chain.add(name);
    List<Record> answers = response.getSection(Section.ANSWER);
    boolean grew = true;
    long ttl = Long.MAX_VALUE;
    while (grew) { // follow CNAMEs in any order
      grew = false;
      for (Record r : answers) {
        if (r instanceof CNAMERecord
            && chain.contains(r.getName())
            && chain.add(((CNAMERecord) r).getTarget())) {
          ttl = Math.min(ttl, r.getTTL());
          grew = true;
        }
      }
    }
    List<InetAddress> addresses = new ArrayList<>();
    int skipped = 0;
    for (Record r : answers) {
      if (r.getType() != type) {
        continue;
      }
      if (!chain.contains(r.getName())) {
        skipped++; // a record for another name: never trusted
        continue;
      }
      InetAddress a =
          r instanceof ARecord ? ((ARecord) r).getAddress() : ((AAAARecord) r).getAddress();
      addresses.add(a);
      ttl = Math.min(ttl, r.getTTL());
    }
    if (skipped > 0) {
      logger.debug("[{}] skipped {} records for names outside the CNAME chain", name, skipped);
    }
    return new Answer(type, addresses, ttl == Long.MAX_VALUE ? 0 : ttl, Rcode.NOERROR, null);
  }

  private void onAnswers(long gen, List<CompletableFuture<Answer>> futures) {
    List<Answer> answers = new ArrayList<>();
    for (CompletableFuture<Answer> f : futures) {
      answers.add(f.join()); // all completed normally: errors are inside the Answer
    }
    Throwable failure = null;
    boolean allNx = true;
    long ttl = Long.MAX_VALUE;
    List<InetAddress> v4 = new ArrayList<>();
    List<InetAddress> v6 = new ArrayList<>();
    for (Answer a : answers) {
      if (a.error != null) {
        failure = a.error;
      }
      allNx &= a.rcode == Rcode.NXDOMAIN;
      if (!a.addresses.isEmpty()) {
        ttl = Math.min(ttl, a.ttlSeconds);
        (a.type == Type.A ? v4 : v6).addAll(a.addresses);
      }
    }
    List<InetAddress> chosen = new ArrayList<>();
    switch (policy) {
      case PREFER_IPV4:
        chosen.addAll(v4.isEmpty() ? v6 : v4);
        break;
      case PREFER_IPV6:
        chosen.addAll(v6.isEmpty() ? v4 : v6);
        break;
      default:
        chosen.addAll(v4);
        chosen.addAll(v6);
    }
    List<Endpoint> endpoints = new ArrayList<>();
    for (InetAddress a : chosen) {
      try {
        // dnsjava names each address after its record; an endpoint's host must be the IP literal.
        InetAddress literal = InetAddress.getByAddress(a.getAddress());
        endpoints.add(Endpoint.of(new InetSocketAddress(literal, port)));
      } catch (UnknownHostException e) {
        throw new IllegalStateException("a 4- or 16-byte address was rejected", e);
      }
    }
    endpoints.sort(null);
    if (failure == null && endpoints.isEmpty()) {
      failure =
          new UnknownHostException(
              (allNx ? "NXDOMAIN" : "no " + policyTypes() + " records") + " for " + name);
    }
    EndpointUpdate update = null;
    Listener l;
    synchronized (lock) {
      if (closed || gen != generation) {
        return;
      }
      l = listener;
      long delayNanos;
      if (failure == null) {
        if (failuresInARow > 0) {
          logger.info("[{}] DNS lookups recovered after {} failures", name, failuresInARow);
        }
        failuresInARow = 0;
        if (!endpoints.equals(lastGood)) {
          lastGood = List.copyOf(endpoints);
          update = EndpointUpdate.of(lastGood);
        }
        long ttlNanos = TimeUnit.SECONDS.toNanos(ttl);
        long clamped = Math.max(minTtlNanos, Math.min(maxTtlNanos, ttlNanos));
        delayNanos = (long) (clamped * (0.9 + 0.2 * random.nextDouble()));
      } else {
        failuresInARow++;
        if (failuresInARow == 1) {
          logger.warn(
              "[{}] DNS lookup failed; keeping the last {} endpoints: {}",
              name,
              lastGood.size(),
              failure.toString());
        } else {
          logger.debug(
              "[{}] DNS lookup failed again ({} in a row): {}",
              name,
              failuresInARow,
              failure.toString());
        }
        update = EndpointUpdate.failed(failure);
        delayNanos = TimeUnit.MILLISECONDS.toNanos(backoff.apply(failuresInARow));
      }
      timer = scheduler.schedule(this::lookup, delayNanos, TimeUnit.NANOSECONDS);
    }
    if (update != null && l != null) {
      l.onUpdate(update);
    }
  }

  private String policyTypes() {
    switch (policy) {
      case IPV4_ONLY:
        return "A";
      case IPV6_ONLY:
        return "AAAA";
      default:
        return "A or AAAA";
    }
  }

  /** Builds a {@link DnsEndpointSource}. Not thread-safe. */
  public static final class Builder {
    private final Name name;
    private final int port;
    private @Nullable List<InetSocketAddress> servers;
    private Duration queryTimeout = Duration.ofSeconds(2);
    private Duration minTtl = Duration.ofSeconds(1);
    private Duration maxTtl = Duration.ofSeconds(60);
    private AddressPolicy policy = AddressPolicy.BOTH;
    private @Nullable ScheduledExecutorService scheduler;
    private long seed = java.util.concurrent.ThreadLocalRandom.current().nextLong();

    private Builder(Name name, int port) {
      this.name = name;
      this.port = port;
    }

    /**
     * Queries these servers, in order, the next on failure. Defaults to the system's (from {@code
     * /etc/resolv.conf} on Linux).
     *
     * @throws IllegalArgumentException if {@code servers} is empty
     */
    public Builder servers(List<InetSocketAddress> servers) {
      requireNonNull(servers, "servers");
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("servers: [] (expected: at least one server)");
      }
      this.servers = List.copyOf(servers);
      return this;
    }

    /**
     * Sets how long one query to one server may take. Defaults to 2 seconds.
     *
     * @throws IllegalArgumentException if not in {@code 10ms..1m}
     */
    public Builder queryTimeout(Duration queryTimeout) {
      requireNonNull(queryTimeout, "queryTimeout");
      if (queryTimeout.compareTo(Duration.ofMillis(10)) < 0
          || queryTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException(
            "queryTimeout: " + queryTimeout + " (expected: PT0.01S..PT1M)");
      }
      this.queryTimeout = queryTimeout;
      return this;
    }

    /**
     * Sets the range record TTLs are clamped to before they schedule the next lookup. Defaults to 1
     * second to 60 seconds.
     *
     * @throws IllegalArgumentException if minTtl is not in {@code 1s..1h} or maxTtl is below it or
     *     above 1 day
     */
    public Builder ttlRange(Duration minTtl, Duration maxTtl) {
      requireNonNull(minTtl, "minTtl");
      requireNonNull(maxTtl, "maxTtl");
      if (minTtl.compareTo(Duration.ofSeconds(1)) < 0
          || minTtl.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException("minTtl: " + minTtl + " (expected: PT1S..PT1H)");
      }
      if (maxTtl.compareTo(minTtl) < 0 || maxTtl.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException(
            "maxTtl: " + maxTtl + " (expected: " + minTtl + "..PT24H)");
      }
      this.minTtl = minTtl;
      this.maxTtl = maxTtl;
      return this;
    }

    /** Sets which address families become endpoints. Defaults to {@link AddressPolicy#BOTH}. */
    public Builder addressPolicy(AddressPolicy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Sets the scheduler of refresh timers; the source does not shut it down. Defaults to a daemon
     * thread the source owns and stops on close.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /** Sets the seed of the refresh jitter, for reproducible tests. Defaults to random. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Builds the source; it starts looking up when a balancer starts it. */
    public DnsEndpointSource build() {
      return new DnsEndpointSource(this);
    }
  }
}
