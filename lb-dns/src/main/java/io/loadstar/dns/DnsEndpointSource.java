package io.loadstar.dns;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.Ticker;
import io.loadstar.api.internal.Checks;
import io.loadstar.api.internal.HostNames;
import io.loadstar.core.internal.SerialExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
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
import org.xbill.DNS.SRVRecord;
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
 * global cache nor the JVM's networkaddress.cache.ttl can hold a stale answer. A timed-out query
 * is asked again (attempts, default 2, as resolv.conf); a failed or SERVFAIL/REFUSED answer moves
 * on to the next server.
 *
 * Refresh: after an answer, the next lookup is due when the smallest TTL of the records used
 * (following CNAMEs) runs out, clamped to [minTtl, maxTtl], times a random factor in [1.0, 1.1]
 * (upward only, so the shared DnsCache entry has expired when the lookup runs), without waiting
 * for traffic. After a failure (timeout, SERVFAIL, REFUSED, network error; and NXDOMAIN or
 * an empty answer while a last good set exists) the last good set stays published and the lookup
 * is retried with exponential backoff, 1 s doubling to 32 s (Resilience4j's IntervalFunction),
 * +-20% from the source's seeded random. One WARN when lookups start failing, one INFO when they recover; a new list
 * is published only when it differs from the last one.
 *
 * Bad data is skipped, never fatal: records for a name outside the CNAME chain and records of
 * other types are ignored (counted and logged at DEBUG), TTLs are clamped to the range.
 *
 * Threading: start/refresh/close come from the balancer's control loop; answers arrive on
 * dnsjava's threads and timers on the scheduler. All state is guarded by one lock. Updates are
 * queued for the listener under that lock and delivered outside it (SerialExecutor enqueue/drain,
 * as DynamicEndpointSource does), so they arrive in the order they were decided.
 */
/**
 * An endpoint source that follows a DNS name's A and/or AAAA records at their TTL.
 *
 * <p>Thread-safe. {@link #close()} cancels every timer; with the default scheduler it also stops
 * the source's timer thread.
 */
public final class DnsEndpointSource implements EndpointSource {

  private static final Logger logger = LoggerFactory.getLogger(DnsEndpointSource.class);

  private static final String EXPECTED_NAME =
      "a DNS name such as api.internal, without scheme, port or path";

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
  private final List<Name> candidates; // names to try in order (search path applied)
  private final boolean srv;
  private final int port;
  private final List<SimpleResolver> resolvers;
  private final List<InetSocketAddress> serverAddresses;
  private final int attempts;
  private final DnsCache cache;
  private final boolean keepLastOnEmpty;
  private final long maxStalenessNanos;
  private final Ticker ticker;
  private final AddressPolicy policy;
  private final long minTtlNanos;
  private final long maxTtlNanos;
  private final ScheduledExecutorService scheduler;
  private final @Nullable ScheduledThreadPoolExecutor ownScheduler;
  // Jittered +-20% with the source's own seeded random: Resilience4j's random variant draws from
  // Math.random, which a seeded test cannot repeat.
  private final IntervalFunction backoff =
      IntervalFunction.ofExponentialBackoff(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(32));
  private final Object lock = new Object();
  private final SerialExecutor delivery;
  // Guarded by lock:
  private final SplittableRandom random;
  private @Nullable Listener listener;
  private List<Endpoint> lastGood = List.of();
  private int failuresInARow;
  private long lastSuccessNanos;
  private boolean staleDropped;
  private @Nullable ScheduledFuture<?> timer;
  private boolean closed;
  private long generation;

  private DnsEndpointSource(Builder b) {
    this.name = b.name;
    this.delivery = new SerialExecutor("DnsEndpointSource " + b.name);
    this.srv = b.srv;
    this.candidates = b.candidates();
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
    this.serverAddresses = List.copyOf(servers);
    this.attempts = b.attempts;
    this.cache = b.cache;
    this.keepLastOnEmpty = b.keepLastOnEmpty;
    this.maxStalenessNanos = b.maxStalenessNanos;
    this.ticker = b.ticker;
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
   * on {@code port}. A name with a trailing dot is absolute; one without goes through the search
   * path (see {@link Builder#searchPath}).
   *
   * @throws IllegalArgumentException if the name is not a DNS name (an IP address, a URL, a port or
   *     blanks in it) or the port is not in {@code 1..65535}
   */
  public static Builder builder(String hostname, int port) {
    checkName("hostname", hostname);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    return new Builder(hostname, parse("hostname", hostname), port, false);
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
    checkName("name", name);
    return new Builder(name, parse("name", name), 0, true);
  }

  /** Rejects what can never be a name to look up: an address, a URL, a host:port, blanks. */
  private static void checkName(String what, String name) {
    requireNonNull(name, what);
    if (HostNames.parseLiteral(name) != null) {
      throw new IllegalArgumentException(
          what + ": '" + name + "' (expected: a DNS name; for an IP address use Endpoint.of)");
    }
    HostNames.checkDnsName(what, name, EXPECTED_NAME);
  }

  private static Name parse(String what, String text) {
    try {
      return Name.fromString(text, text.endsWith(".") ? null : Name.root);
    } catch (TextParseException e) {
      throw new IllegalArgumentException(
          what + ": '" + text + "' (expected: a DNS name): " + e.getMessage());
    }
  }

  @Override
  public void start(Listener listener) {
    requireNonNull(listener, "listener");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(
            this + " is closed (expected: a new source for a new balancer)");
      }
      if (this.listener != null) {
        throw new IllegalStateException(
            this
                + " already serves a balancer (expected: one source per balancer; build one for"
                + " each, they share DnsCache.shared(), so the name is still looked up once per"
                + " TTL)");
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
    tryCandidate(0).whenComplete((result, error) -> onResult(gen, result, error));
  }

  /** Tries the names of the search path in order; NXDOMAIN or no data moves to the next. */
  private CompletableFuture<Result> tryCandidate(int index) {
    Name candidate = candidates.get(index);
    CompletableFuture<Result> attempt =
        srv ? resolveSrv(candidate) : resolveAddresses(candidate, port, 0);
    return attempt.thenCompose(
        r -> {
          boolean notFound = r.error == null && r.endpoints.isEmpty();
          return notFound && index + 1 < candidates.size()
              ? tryCandidate(index + 1)
              : CompletableFuture.completedFuture(r);
        });
  }

  /** What one name resolved to. */
  private static final class Result {
    final List<Endpoint> endpoints;
    final long ttlNanos; // the TTL that remains
    final boolean nxdomain;
    final @Nullable Throwable error;

    Result(List<Endpoint> endpoints, long ttlNanos, boolean nxdomain, @Nullable Throwable error) {
      this.endpoints = endpoints;
      this.ttlNanos = ttlNanos;
      this.nxdomain = nxdomain;
      this.error = error;
    }
  }

  /** Resolves the A/AAAA records of {@code target} (per the policy) into endpoints on a port. */
  private CompletableFuture<Result> resolveAddresses(Name target, int endpointPort, int priority) {
    List<CompletableFuture<DnsAnswer>> answers = new ArrayList<>();
    if (policy != AddressPolicy.IPV6_ONLY) {
      answers.add(query(target, Type.A, 0));
    }
    if (policy != AddressPolicy.IPV4_ONLY) {
      answers.add(query(target, Type.AAAA, 0));
    }
    return CompletableFuture.allOf(answers.toArray(new CompletableFuture<?>[0]))
        .thenApply(
            ignored -> {
              Throwable failure = null;
              boolean allNx = true;
              long ttl = Long.MAX_VALUE;
              List<InetAddress> v4 = new ArrayList<>();
              List<InetAddress> v6 = new ArrayList<>();
              for (CompletableFuture<DnsAnswer> f : answers) {
                DnsAnswer a = f.join();
                if (a.error != null) {
                  failure = a.error;
                }
                allNx &= a.nxdomain;
                for (Record r : a.records) {
                  ttl = Math.min(ttl, a.remainingNanos);
                  if (r instanceof ARecord) {
                    v4.add(((ARecord) r).getAddress());
                  } else if (r instanceof AAAARecord) {
                    v6.add(((AAAARecord) r).getAddress());
                  }
                }
              }
              List<Endpoint> endpoints = new ArrayList<>();
              for (InetAddress address : choose(v4, v6)) {
                endpoints.add(endpoint(address, endpointPort).withPriority(priority));
              }
              return new Result(endpoints, ttl == Long.MAX_VALUE ? 0 : ttl, allNx, failure);
            });
  }

  private List<InetAddress> choose(List<InetAddress> v4, List<InetAddress> v6) {
    switch (policy) {
      case PREFER_IPV4:
        return v4.isEmpty() ? v6 : v4;
      case PREFER_IPV6:
        return v6.isEmpty() ? v4 : v6;
      default:
        List<InetAddress> all = new ArrayList<>(v4);
        all.addAll(v6);
        return all;
    }
  }

  private static Endpoint endpoint(InetAddress address, int port) {
    try {
      // dnsjava names each address after its record; an endpoint's host must be the IP literal.
      InetAddress literal = InetAddress.getByAddress(address.getAddress());
      return Endpoint.of(new InetSocketAddress(literal, port));
    } catch (UnknownHostException e) {
      throw new IllegalStateException("a 4- or 16-byte address was rejected", e);
    }
  }

  /** Resolves SRV records, then their targets' addresses (from the additional section if there). */
  private CompletableFuture<Result> resolveSrv(Name srvName) {
    return query(srvName, Type.SRV, 0)
        .thenCompose(
            answer -> {
              if (answer.error != null || answer.records.isEmpty()) {
                return CompletableFuture.completedFuture(
                    new Result(List.of(), 0, answer.nxdomain, answer.error));
              }
              TreeSet<Integer> priorities = new TreeSet<>();
              List<SRVRecord> usable = new ArrayList<>();
              for (Record r : answer.records) {
                SRVRecord s = (SRVRecord) r;
                if (s.getPort() == 0) {
                  logger.debug("[{}] skipped SRV record with port 0: {}", name, s);
                  continue;
                }
                usable.add(s);
                priorities.add(s.getPriority());
              }
              List<Integer> ranks = new ArrayList<>(priorities);
              List<CompletableFuture<Result>> targets = new ArrayList<>();
              for (SRVRecord s : usable) {
                int tier = Math.min(ranks.indexOf(s.getPriority()), Endpoint.MAX_PRIORITY);
                int weight =
                    s.getWeight() == 0 ? 1 : Math.min(s.getWeight() * 15, Endpoint.MAX_WEIGHT);
                List<InetAddress> glued = new ArrayList<>();
                List<InetAddress> glued6 = new ArrayList<>();
                for (Record extra : answer.additional) {
                  if (extra.getName().equals(s.getTarget())) {
                    if (extra instanceof ARecord) {
                      glued.add(((ARecord) extra).getAddress());
                    } else if (extra instanceof AAAARecord) {
                      glued6.add(((AAAARecord) extra).getAddress());
                    }
                  }
                }
                List<InetAddress> addresses = choose(glued, glued6);
                if (!addresses.isEmpty()) {
                  List<Endpoint> endpoints = new ArrayList<>();
                  for (InetAddress a : addresses) {
                    endpoints.add(endpoint(a, s.getPort()).withPriority(tier).withWeight(weight));
                  }
                  targets.add(
                      CompletableFuture.completedFuture(
                          new Result(endpoints, answer.remainingNanos, false, null)));
                } else {
                  int w = weight;
                  targets.add(
                      resolveAddresses(s.getTarget(), s.getPort(), tier)
                          .thenApply(
                              r -> {
                                List<Endpoint> weighted = new ArrayList<>();
                                for (Endpoint e : r.endpoints) {
                                  weighted.add(e.withWeight(w));
                                }
                                return new Result(weighted, r.ttlNanos, r.nxdomain, r.error);
                              }));
                }
              }
              return CompletableFuture.allOf(targets.toArray(new CompletableFuture<?>[0]))
                  .thenApply(
                      ignored -> {
                        List<Endpoint> all = new ArrayList<>();
                        long ttl = answer.remainingNanos;
                        Throwable failure = null;
                        for (CompletableFuture<Result> f : targets) {
                          Result r = f.join();
                          all.addAll(r.endpoints);
                          if (!r.endpoints.isEmpty()) {
                            ttl = Math.min(ttl, r.ttlNanos);
                          }
                          if (r.error != null) {
                            failure = r.error;
                          }
                        }
                        // One target failing to resolve must not hide the others.
                        return new Result(all, ttl, false, all.isEmpty() ? failure : null);
                      });
            });
  }

  private CompletableFuture<DnsAnswer> query(Name qname, int type, int serverIndex) {
    return cache
        .get(qname, type, serverAddresses, maxTtlNanos, () -> query(qname, type, serverIndex, 1))
        .thenApply(a -> a.aged(cache.ticker().nanoTime()));
  }

  /** Asks server {@code serverIndex}, {@code attempts} times on timeout, then the next server. */
  private CompletableFuture<DnsAnswer> query(Name qname, int type, int serverIndex, int attempt) {
    SimpleResolver resolver = resolvers.get(serverIndex);
    Message query = Message.newQuery(Record.newRecord(qname, type, DClass.IN));
    return resolver
        .sendAsync(query)
        .handle(
            (response, error) -> {
              if (error == null) {
                int rcode = response.getRcode();
                if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                  return CompletableFuture.completedFuture(parse(qname, type, response));
                }
                error =
                    new UnknownHostException(
                        Rcode.string(rcode) + " from " + resolver.getAddress());
              }
              Throwable root =
                  error instanceof CompletionException && error.getCause() != null
                      ? error.getCause()
                      : error;
              if (root instanceof IOException
                  && !(root instanceof UnknownHostException)
                  && attempt < attempts) {
                return query(qname, type, serverIndex, attempt + 1); // a lost datagram: ask again
              }
              if (serverIndex + 1 < resolvers.size()) {
                return query(qname, type, serverIndex + 1, 1);
              }
              Throwable cause =
                  error instanceof CompletionException && error.getCause() != null
                      ? error.getCause()
                      : error;
              return CompletableFuture.completedFuture(
                  new DnsAnswer(List.of(), List.of(), 0, false, cause, 0));
            })
        .thenCompose(stage -> stage)
        .toCompletableFuture();
  }

  /** Keeps the answer records of {@code type} for {@code qname} and its CNAME chain. */
  private DnsAnswer parse(Name qname, int type, Message response) {
    if (response.getRcode() == Rcode.NXDOMAIN) {
      return new DnsAnswer(List.of(), List.of(), 0, true, null, cache.ticker().nanoTime());
    }
    Set<Name> chain = new HashSet<>();
    chain.add(qname);
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
    List<Record> kept = new ArrayList<>();
    int skipped = 0;
    for (Record r : answers) {
      if (r.getType() != type) {
        continue;
      }
      if (!chain.contains(r.getName())) {
        skipped++; // a record for another name: never trusted
        continue;
      }
      kept.add(r);
      ttl = Math.min(ttl, r.getTTL());
    }
    if (skipped > 0) {
      logger.debug("[{}] skipped {} records for names outside the CNAME chain", name, skipped);
    }
    return new DnsAnswer(
        kept,
        response.getSection(Section.ADDITIONAL),
        ttl == Long.MAX_VALUE ? 0 : ttl,
        false,
        null,
        cache.ticker().nanoTime());
  }

  private void onResult(long gen, @Nullable Result result, @Nullable Throwable error) {
    Throwable queryFailure = error != null ? error : result.error;
    Throwable failure = queryFailure != null ? lookupFailed(queryFailure) : null;
    List<Endpoint> endpoints = new ArrayList<>(failure == null ? result.endpoints : List.of());
    endpoints.sort(null);
    if (failure == null && endpoints.isEmpty() && keepLastOnEmpty) {
      failure =
          new UnknownHostException(
              (result.nxdomain ? "NXDOMAIN" : "no " + policyTypes() + " records") + " for " + name);
    }
    EndpointUpdate update = null;
    synchronized (lock) {
      if (closed || gen != generation) {
        return;
      }
      long delayNanos;
      if (failure == null) {
        boolean recovered = failuresInARow > 0;
        if (recovered) {
          // The balancer logs the recovery (INFO) for every source alike.
          logger.debug("[{}] DNS lookups recovered after {} failures", name, failuresInARow);
        }
        failuresInARow = 0;
        lastSuccessNanos = ticker.nanoTime();
        staleDropped = false;
        // After errors the list goes out even if unchanged: it tells the balancer the outage ended.
        if (recovered || !endpoints.equals(lastGood)) {
          lastGood = List.copyOf(endpoints);
          update = EndpointUpdate.of(lastGood);
        }
        long clamped = Math.max(minTtlNanos, Math.min(maxTtlNanos, Math.max(0, result.ttlNanos)));
        // Jitter only upward: an earlier refresh would find the cached answer still valid.
        delayNanos = (long) (clamped * (1.0 + 0.1 * random.nextDouble()));
      } else {
        failuresInARow++;
        // Reported to the balancer, which logs the outage once (WARN) for every source alike.
        logger.debug(
            "[{}] DNS lookup failed ({} in a row): {}", name, failuresInARow, failure.toString());
        update = EndpointUpdate.failed(failure);
        if (maxStalenessNanos > 0
            && !lastGood.isEmpty()
            && !staleDropped
            && ticker.nanoTime() - lastSuccessNanos > maxStalenessNanos) {
          // Too old to trust: report no endpoints (the balancer applies it only when it accepts
          // empty updates; otherwise it keeps serving and reports the error).
          staleDropped = true;
          logger.warn(
              "[{}] last good answer is older than the maximum staleness; publishing none", name);
          update = EndpointUpdate.of(List.of());
          lastGood = List.of();
        }
        delayNanos =
            (long)
                (TimeUnit.MILLISECONDS.toNanos(backoff.apply(failuresInARow))
                    * (0.8 + 0.4 * random.nextDouble()));
      }
      timer = scheduler.schedule(this::lookup, delayNanos, TimeUnit.NANOSECONDS);
      Listener l = listener;
      if (update != null && l != null) {
        // Queued under the lock, so updates reach the listener in the order they were decided
        // (a newer lookup's list can never be overwritten by an older one); run outside it.
        EndpointUpdate u = update;
        delivery.enqueue(() -> l.onUpdate(u));
      }
    }
    delivery.drain();
  }

  /** A query's error as the balancer reports it: what was looked up, where, what went wrong. */
  private Throwable lookupFailed(Throwable queryFailure) {
    UnknownHostException e =
        new UnknownHostException(
            "DNS lookup of "
                + name
                + " ("
                + policyTypes()
                + ") failed at "
                + serverAddresses
                + ": "
                + queryFailure);
    e.initCause(queryFailure);
    return e;
  }

  private String policyTypes() {
    if (srv) {
      return "SRV";
    }
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
    private boolean keepLastOnEmpty = true;
    private long maxStalenessNanos;
    private Ticker ticker = Ticker.system();
    private Duration minTtl = Duration.ofSeconds(1);
    private Duration maxTtl = Duration.ofSeconds(60);
    private AddressPolicy policy = AddressPolicy.BOTH;
    private @Nullable ScheduledExecutorService scheduler;
    private long seed = ThreadLocalRandom.current().nextLong();

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
        HostNames.checkDnsName("searchPath", d, EXPECTED_NAME);
        names.add(parse("searchPath", d.endsWith(".") ? d : d + "."));
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

    /** The names to try, in order: resolv.conf semantics. */
    List<Name> candidates() {
      if (text.endsWith(".")) {
        return List.of(name); // absolute
      }
      List<Name> search =
          searchPath != null ? searchPath : ResolverConfig.getCurrentConfig().searchPath();
      int dots = ndots >= 0 ? ndots : ResolverConfig.getCurrentConfig().ndots();
      long count = text.chars().filter(c -> c == '.').count();
      List<Name> out = new ArrayList<>();
      if (count >= dots) {
        out.add(name);
      }
      Name relative = name.relativize(Name.root);
      for (Name domain : search) {
        try {
          out.add(Name.concatenate(relative, domain));
        } catch (org.xbill.DNS.NameTooLongException e) {
          logger.debug("skipping search domain {} for {}: {}", domain, text, e.toString());
        }
      }
      if (count < dots) {
        out.add(name);
      }
      return List.copyOf(out);
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
     * Whether NXDOMAIN or an empty answer keeps the last good endpoints (reported as a discovery
     * error) rather than publishing an empty list. Defaults to true; the balancer also ignores
     * empty lists unless built with {@code acceptEmptyUpdates(true)}.
     */
    public Builder keepLastOnEmpty(boolean keepLastOnEmpty) {
      this.keepLastOnEmpty = keepLastOnEmpty;
      return this;
    }

    /**
     * Limits how long the last good answer outlives failing lookups: past {@code maxStaleness}
     * since the last successful lookup, the source publishes an empty list (which a balancer
     * applies only when built with {@code acceptEmptyUpdates(true)}). Defaults to no limit.
     *
     * @throws IllegalArgumentException if not in {@code 1s..7d}
     */
    public Builder maxStaleness(Duration maxStaleness) {
      requireNonNull(maxStaleness, "maxStaleness");
      Checks.duration("maxStaleness", maxStaleness, Duration.ofSeconds(1), Duration.ofDays(7));
      this.maxStalenessNanos = maxStaleness.toNanos();
      return this;
    }

    /** Sets the time source for staleness, for tests. Defaults to {@link Ticker#system()}. */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
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
