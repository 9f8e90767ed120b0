package io.loadstar.dns;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.Endpoint;
import io.loadstar.api.internal.Checks;
import io.loadstar.api.internal.HostNames;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Name;
import org.xbill.DNS.ResolverConfig;

/*
 * Design notes. The source is the refresh loop; its parts have files of their own: DnsQuerier
 * (servers, attempts, CNAME chains, parsing), AddressLookup (A/AAAA per the address policy),
 * SrvLookup (SRV onto tiers and weights), SearchPath (resolv.conf's search domains and ndots), and
 * DnsCache (answers shared by every source of the JVM).
 *
 * Refresh: at the answer's TTL, with backoff after a failure (RefreshSchedule, whose notes say
 * how); what a failure or an empty answer does to the endpoints is the balancer's keepLastEndpoints.
 *
 * Threading: the source starts no thread. It uses the balancer's timers and Loadstar's shared
 * workers (dnsjava completes its answers there). State is guarded by one lock; each answer is
 * offered under it (AbstractEndpointSource keeps the latest) and flushed to the balancer outside
 * it, so a newer lookup's list can never be overwritten by an older one and the balancer's
 * listeners never run under the lock.
 */
/**
 * An endpoint source that follows a DNS name's A and/or AAAA records, or its SRV records, at their
 * TTL.
 *
 * <p>Thread-safe. Starts no thread of its own: it runs on its balancer's timer and Loadstar's
 * shared worker threads. {@link #close()} cancels its timer.
 */
public final class DnsEndpointSource extends AbstractEndpointSource {

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
  private final boolean srv;
  private final SearchPath searchPath;
  private final DnsQuerier querier;
  private final AddressLookup addresses;
  private final SrvLookup srvLookup;
  private final long minTtlNanos;
  private final long maxTtlNanos;
  private final @Nullable ScheduledExecutorService userScheduler;
  private final @Nullable Long userSeed;
  private final String zone;
  private final Map<String, String> tags;
  private final Object lock = new Object();

  // Set by start, guarded by lock:
  private @Nullable Context context;
  private boolean holdsSelector; // guarded by lock: counted in DnsSelector
  private @Nullable RefreshSchedule schedule;
  private @Nullable ScheduledFuture<?> timer;
  private boolean closed;
  private long generation;

  private DnsEndpointSource(Builder b) {
    this.name = b.name;
    this.port = b.port;
    this.srv = b.srv;
    this.searchPath = SearchPath.of(b.text, b.name, b.searchPath, b.ndots);
    this.minTtlNanos = b.minTtl.toNanos();
    this.maxTtlNanos = b.maxTtl.toNanos();
    List<InetSocketAddress> servers =
        b.servers != null ? b.servers : ResolverConfig.getCurrentConfig().servers();
    this.querier =
        new DnsQuerier(name.toString(), servers, b.queryTimeout, b.attempts, b.cache, maxTtlNanos);
    this.addresses = new AddressLookup(querier, b.policy);
    this.srvLookup = new SrvLookup(name.toString(), querier, addresses);
    this.userScheduler = b.scheduler;
    this.userSeed = b.seed;
    this.zone = b.zone;
    this.tags = Map.copyOf(b.tags);
  }

  /**
   * Returns a builder for the A/AAAA records of {@code hostname}; every address becomes an endpoint
   * on {@code port}. A name with a trailing dot is absolute; one without goes through the search
   * path (see {@link Builder#searchPath}).
   *
   * @throws IllegalArgumentException if the name is not a DNS name (an IP address, a URL, a port or
   *     blanks in it) or the port is not in {@code 1..65535}
   */
  public static Builder builder(String hostname, int port) {
    DnsNames.check("hostname", hostname);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    return new Builder(hostname, DnsNames.parse("hostname", hostname), port, false);
  }

  /**
   * Returns a builder for the SRV records of {@code name} (e.g. {@code _http._tcp.orders}): each
   * target's addresses become endpoints on the record's port; the record's priority becomes the
   * endpoint's tier (the lowest priority first) and its weight the endpoint's weight, weight 0
   * meaning a small chance (RFC 2782). Relative names go through the search path.
   *
   * @throws IllegalArgumentException if the name is not a valid DNS name
   */
  public static Builder srv(String name) {
    DnsNames.check("name", name);
    return new Builder(name, DnsNames.parse("name", name), 0, true);
  }

  /** Starts for a balancer: on its timers, control loop and seed, unless the builder set others. */
  @Override
  protected void onStart(Context context) {
    synchronized (lock) {
      this.context = context;
      DnsSelector.acquire();
      this.holdsSelector = true;
      this.schedule =
          new RefreshSchedule(
              name.toString(),
              minTtlNanos,
              maxTtlNanos,
              userSeed != null ? userSeed : context.seed());
    }
    lookup();
  }

  @Override
  protected String oneSourcePerBalancerHint() {
    return "; build one for each, they share DnsCache.shared(), so the name is still looked up once"
        + " per TTL";
  }

  @Override
  public void refresh() {
    lookup();
  }

  @Override
  protected void onClose() {
    ScheduledFuture<?> t;
    boolean selector;
    synchronized (lock) {
      closed = true;
      t = timer;
      timer = null;
      selector = holdsSelector;
      holdsSelector = false;
    }
    if (selector) {
      DnsSelector.release(); // the last source stops dnsjava's selector thread
    }
    if (t != null) {
      t.cancel(false);
    }
  }

  @Override
  public String toString() {
    return "DnsEndpointSource{" + name + ":" + port + ", " + addresses.policy() + "}";
  }

  /** The endpoint with the zone and tags this source gives all of its endpoints. */
  private Endpoint labelled(Endpoint e) {
    Endpoint out = zone.isEmpty() ? e : e.withZone(zone);
    for (Map.Entry<String, String> t : tags.entrySet()) {
      out = out.withTag(t.getKey(), t.getValue());
    }
    return out;
  }

  private void lookup() {
    long gen;
    Executor executor;
    synchronized (lock) {
      if (closed || context == null) {
        return;
      }
      gen = ++generation; // a newer lookup supersedes an older one still in flight
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
      executor = context.executor();
    }
    CompletableFuture<LookupResult> result =
        srv
            ? searchPath.resolve(candidate -> srvLookup.resolve(candidate, executor))
            : searchPath.resolve(candidate -> addresses.resolve(candidate, port, 0, executor));
    result.whenComplete((r, error) -> onResult(gen, r, error));
  }

  private void onResult(long gen, @Nullable LookupResult result, @Nullable Throwable error) {
    Throwable queryFailure = error != null ? error : result.error();
    Throwable failure = queryFailure != null ? lookupFailed(queryFailure) : null;
    List<Endpoint> endpoints = new ArrayList<>(failure == null ? result.endpoints() : List.of());
    if (!zone.isEmpty() || !tags.isEmpty()) {
      endpoints.replaceAll(this::labelled);
    }
    endpoints.sort(null);
    String emptyAnswer = null; // the servers answered: there is none (not a failure to ask)
    if (failure == null && endpoints.isEmpty()) {
      emptyAnswer =
          (result.nxdomain() ? "NXDOMAIN" : "no " + types() + " records") + " for " + name;
      failure = new UnknownHostException(emptyAnswer);
    }
    synchronized (lock) {
      if (closed || gen != generation || context == null) {
        return;
      }
      Context c = context;
      RefreshSchedule.Step step =
          failure == null
              ? schedule.answered(endpoints, result.ttlNanos())
              : schedule.failed(failure, emptyAnswer);
      ScheduledExecutorService scheduler = userScheduler != null ? userScheduler : c.scheduler();
      timer = scheduler.schedule(this::lookup, step.delayNanos(), TimeUnit.NANOSECONDS);
      if (step.update() != null) {
        offer(step.update()); // in lookup order: a newer list is never overwritten by an older one
      }
    }
    flush();
  }

  /** A query's error as the balancer reports it: what was looked up, where, what went wrong. */
  private Throwable lookupFailed(Throwable queryFailure) {
    UnknownHostException e =
        new UnknownHostException(
            "DNS lookup of "
                + name
                + " ("
                + types()
                + ") failed at "
                + querier.servers()
                + ": "
                + queryFailure);
    e.initCause(queryFailure);
    return e;
  }

  private String types() {
    return srv ? "SRV" : addresses.types();
  }

  /** Builds a {@link DnsEndpointSource}. Not thread-safe. */
  public static final class Builder {
    private final String text;
    private final Name name;
    private final int port;
    private final boolean srv;
    private @Nullable List<Name> searchPath;
    private int ndots = -1;
    private @Nullable List<InetSocketAddress> servers;
    private Duration queryTimeout = Duration.ofSeconds(2);
    private int attempts = 2;
    private DnsCache cache = DnsCache.shared();
    private Duration minTtl = Duration.ofSeconds(1);
    private Duration maxTtl = Duration.ofSeconds(60);
    private AddressPolicy policy = AddressPolicy.BOTH;
    private @Nullable ScheduledExecutorService scheduler;
    private @Nullable Long seed;
    private String zone = "";
    private final Map<String, String> tags = new TreeMap<>();

    private Builder(String text, Name name, int port, boolean srv) {
      this.text = text;
      this.name = name;
      this.port = port;
      this.srv = srv;
    }

    /**
     * Sets the search domains tried for a relative name (one without a trailing dot). Defaults to
     * the system's ({@code search} in {@code /etc/resolv.conf}).
     *
     * @throws IllegalArgumentException if a domain is not a valid DNS name
     */
    public Builder searchPath(List<String> domains) {
      requireNonNull(domains, "domains");
      List<Name> names = new ArrayList<>();
      for (String d : domains) {
        HostNames.checkDnsName("searchPath", d, DnsNames.EXPECTED);
        names.add(DnsNames.parse("searchPath", d.endsWith(".") ? d : d + "."));
      }
      this.searchPath = List.copyOf(names);
      return this;
    }

    /**
     * Sets how many dots make a relative name be tried as-is before the search domains. Defaults to
     * the system's ({@code options ndots} in {@code /etc/resolv.conf}, usually 1).
     *
     * @throws IllegalArgumentException if not in {@code 0..15}
     */
    public Builder ndots(int ndots) {
      if (ndots < 0 || ndots > 15) {
        throw new IllegalArgumentException("ndots: " + ndots + " (expected: 0..15)");
      }
      this.ndots = ndots;
      return this;
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
      Checks.duration("queryTimeout", queryTimeout, Duration.ofMillis(10), Duration.ofMinutes(1));
      this.queryTimeout = queryTimeout;
      return this;
    }

    /**
     * Sets the answer cache. Defaults to {@link DnsCache#shared()}, shared by every source of the
     * JVM, so sources following the same name cost one query per TTL.
     */
    public Builder cache(DnsCache cache) {
      this.cache = requireNonNull(cache, "cache");
      return this;
    }

    /**
     * Sets how many times one server is asked before the next is tried, when a query times out (UDP
     * datagrams get lost). Defaults to 2, as resolv.conf's {@code attempts}.
     *
     * @throws IllegalArgumentException if not in {@code 1..5}
     */
    public Builder attempts(int attempts) {
      if (attempts < 1 || attempts > 5) {
        throw new IllegalArgumentException("attempts: " + attempts + " (expected: 1..5)");
      }
      this.attempts = attempts;
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
      Checks.duration("minTtl", minTtl, Duration.ofSeconds(1), Duration.ofHours(1));
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
     * Sets the scheduler of refresh timers; the source does not shut it down. Defaults to the
     * balancer's: Loadstar's shared timer thread unless the balancer was given one.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets the seed of the refresh jitter, for reproducible tests. Defaults to the balancer's seed
     * (random when started without a balancer).
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Puts every endpoint of this name in {@code zone}, for zone-aware routing (DNS records carry
     * no zone): one source per zone's name, such as {@code api.eu-1a.internal}, joined with {@code
     * CompositeEndpointSource}. Defaults to none.
     *
     * @throws IllegalArgumentException if blank around, or longer than 128 characters
     */
    public Builder zone(String zone) {
      Checks.zone("zone", zone);
      this.zone = zone;
      return this;
    }

    /**
     * Gives every endpoint of this name the tag {@code name=value} (for a canary split, say: one
     * source per version's name). May be called for several tags.
     */
    public Builder tag(String name, String value) {
      tags.put(requireNonNull(name, "name"), requireNonNull(value, "value"));
      return this;
    }

    /** Builds the source; it starts looking up when a balancer starts it. */
    public DnsEndpointSource build() {
      return new DnsEndpointSource(this);
    }
  }
}
