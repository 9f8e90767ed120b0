package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.FailureClassifier;
import io.loadstar.api.HealthChecker;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.api.Ticker;
import io.loadstar.api.internal.Checks;
import io.loadstar.core.internal.Sleeper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/** Builds {@link LoadBalancer}s: {@code LoadBalancers.builder("orders")...build()}. */
public final class LoadBalancers {

  /** The largest per-endpoint in-flight limit accepted. */
  public static final int MAX_IN_FLIGHT_LIMIT = 1_000_000;

  private LoadBalancers() {}

  /** The environment variable a balancer reads its zone from, unless told: LOADSTAR_ZONE. */
  public static final String ZONE_VARIABLE = ZoneRouting.ZONE_VARIABLE;

  /**
   * Returns a builder for the balancer of service {@code name}.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static Builder builder(String name) {
    requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name: '" + name + "' (expected: not blank)");
    }
    return new Builder(name);
  }

  /**
   * Configures and builds a {@link LoadBalancer}. Not thread-safe; the balancer it builds is.
   * Setters validate at once; the last call to a setter wins.
   */
  public static final class Builder {
    private final String name;
    private final List<EndpointSource> sources = new ArrayList<>();
    private SelectionStrategy strategy = Strategies.leastRequest();
    private int maxInFlightPerEndpoint = Integer.MAX_VALUE;
    private Ticker ticker = Ticker.system();
    private @Nullable ScheduledExecutorService scheduler;
    private LbEventListener eventListener = LbEventListener.NONE;
    private long seed = ThreadLocalRandom.current().nextLong();
    private long keepLastFailingNanos = Long.MAX_VALUE;
    private long keepLastEmptyNanos = Long.MAX_VALUE;
    private @Nullable HealthCheckService healthChecks;
    private @Nullable HealthChecker ownedChecker;
    private @Nullable HealthCheckConfig ownedCheckConfig;
    private @Nullable OutlierDetectionConfig outlierDetection = OutlierDetectionConfig.defaults();
    private TierConfig tiers = TierConfig.defaults();
    private long selectionTimeoutNanos;
    private @Nullable SlowStartConfig slowStart;
    private RetryPolicy retryPolicy = RetryPolicy.defaults();
    private Sleeper sleeper = Sleeper.SYSTEM;
    private FailureClassifier failureClassifier = FailureClassifier.standard();
    private String zone = ZoneRouting.zoneFromEnvironment(System.getenv(ZONE_VARIABLE));
    private ZoneRouting zoneRouting = ZoneRouting.defaults();
    private @Nullable SplitControl split;
    private @Nullable Affinity affinity;
    private @Nullable Subsetting subsetting;

    private Builder(String name) {
      this.name = name;
    }

    /**
     * Adds a discovery source. With several sources the balancer uses the union of their lists
     * ({@link CompositeEndpointSource}). The balancer owns its sources: it starts them on {@link
     * #build()} and closes them on {@link LoadBalancer#close()}. At least one source (or {@link
     * #endpoints}) is required.
     */
    public Builder source(EndpointSource source) {
      sources.add(requireNonNull(source, "source"));
      return this;
    }

    /**
     * Adds a fixed list of endpoints: shorthand for {@code source(StaticEndpointSource.of(...))}.
     */
    public Builder endpoints(Endpoint... endpoints) {
      return source(StaticEndpointSource.of(endpoints));
    }

    /**
     * Adds a fixed list of endpoints: shorthand for {@code source(StaticEndpointSource.of(...))}.
     */
    public Builder endpoints(List<Endpoint> endpoints) {
      return source(StaticEndpointSource.of(endpoints));
    }

    /**
     * Sets the selection strategy. Defaults to {@link Strategies#leastRequest()}: the endpoint with
     * fewer calls in flight of two drawn at random (weight-aware), which sends a slow or stuck
     * endpoint few calls, since its calls pile up, where round robin keeps sending it its share (in
     * a loopback test with one of three backends 100 ms slow, round robin served 486 calls per
     * second, least request 22,673). {@link Strategies#roundRobin()} spreads calls evenly and costs
     * a little less per pick.
     */
    public Builder strategy(SelectionStrategy strategy) {
      this.strategy = requireNonNull(strategy, "strategy");
      return this;
    }

    /**
     * Limits the calls in flight to each endpoint (HAProxy's {@code maxconn}): an endpoint at its
     * limit is skipped, and a pick fails when every endpoint is at its limit. Defaults to
     * unlimited.
     *
     * @throws IllegalArgumentException if not in {@code 1..1000000}
     */
    public Builder maxInFlightPerEndpoint(int limit) {
      if (limit < 1 || limit > MAX_IN_FLIGHT_LIMIT) {
        throw new IllegalArgumentException(
            "maxInFlightPerEndpoint: " + limit + " (expected: 1.." + MAX_IN_FLIGHT_LIMIT + ")");
      }
      this.maxInFlightPerEndpoint = limit;
      return this;
    }

    /** Sets the ticker for all timing (latencies, decay). Defaults to {@link Ticker#system()}. */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the scheduler for the balancer's timers. The balancer does not shut it down. Defaults to
     * one daemon thread ({@code loadstar-timer}) shared by every balancer of the JVM, started when
     * the first needs a timer and stopped when the last of them is closed.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets the listener for the service's events: endpoint lists and state changes, discovery
     * failures and recoveries, panic, canary rollbacks, failed picks, and the retry budget running
     * out and refilling (every way the service's calls are made shares its one budget). Defaults to
     * {@link LbEventListener#NONE}. Called on the thread the event happens on (the control loop, a
     * picking or reporting thread): it must be fast and must not block.
     */
    public Builder eventListener(LbEventListener eventListener) {
      this.eventListener = requireNonNull(eventListener, "eventListener");
      return this;
    }

    /**
     * Sets the seed of the balancer's randomness (cursor starts, random draws), for reproducible
     * tests. Defaults to a random seed, so clients in a fleet do not pick in lock-step.
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Sets how long the balancer keeps serving its last good endpoints while discovery fails or
     * answers with none (a DNS error or NXDOMAIN, a registry that lists nobody): at most {@code
     * maxAge} after discovery last answered with endpoints. Past that, the next failing or empty
     * answer drops them, and picks fail naming the discovery error. {@link Duration#ZERO} applies
     * such an answer at once. The one setting for every source; {@link #keepLastEndpoints(Duration,
     * Duration)} tells a failure from an empty answer.
     *
     * <p>Defaults to forever: an outage of discovery never empties a service that still answers.
     *
     * @throws IllegalArgumentException if not in {@code 0..365d}
     */
    public Builder keepLastEndpoints(Duration maxAge) {
      return keepLastEndpoints(maxAge, maxAge);
    }

    /**
     * Sets how long the last good endpoints are kept while discovery cannot be asked ({@code
     * whileFailing}: a DNS timeout or SERVFAIL, a registry that cannot be reached) and while it
     * answers that there are none ({@code whileEmpty}: NXDOMAIN or no records, a registry that
     * lists nobody), each counted from when discovery last answered with endpoints. For example,
     * {@code keepLastEndpoints(Duration.ofDays(365), Duration.ZERO)} drops a name that answers
     * NXDOMAIN at once, but keeps the last list while the DNS servers are down. Both default to
     * forever.
     *
     * @throws IllegalArgumentException if either is not in {@code 0..365d}
     */
    public Builder keepLastEndpoints(Duration whileFailing, Duration whileEmpty) {
      requireNonNull(whileFailing, "whileFailing");
      requireNonNull(whileEmpty, "whileEmpty");
      Checks.duration("keepLastEndpoints", whileFailing, Duration.ZERO, Duration.ofDays(365));
      Checks.duration("keepLastEndpoints", whileEmpty, Duration.ZERO, Duration.ofDays(365));
      this.keepLastFailingNanos = whileFailing.toNanos();
      this.keepLastEmptyNanos = whileEmpty.toNanos();
      return this;
    }

    /**
     * Sets the zone this balancer runs in (an availability zone, a rack), so that picks prefer
     * endpoints whose {@link io.loadstar.api.Endpoint#zone()} is the same, as {@link
     * #zoneRouting(ZoneRouting)} says. The empty string means unknown: no zone preference. Defaults
     * to the environment variable {@value #ZONE_VARIABLE}, or unknown if it is not set.
     *
     * @throws IllegalArgumentException if longer than 128 characters or with blanks around it
     */
    public Builder zone(String localZone) {
      requireNonNull(localZone, "localZone");
      this.zone = Checks.zone("zone", localZone);
      return this;
    }

    /**
     * Sets how picks prefer the {@linkplain #zone(String) local zone}. Defaults to {@link
     * ZoneRouting#defaults()}: even load per endpoint across the fleet (Envoy's zone-aware
     * routing), from 3 endpoints per tier.
     */
    public Builder zoneRouting(ZoneRouting routing) {
      this.zoneRouting = requireNonNull(routing, "routing");
      return this;
    }

    /**
     * Talks to a subset of the discovered endpoints, chosen from this client's position among its
     * peers so that every endpoint gets an even share of clients and requests (see {@link
     * Subsetting}). {@link LoadBalancer.Inspection#endpoints()} and {@link
     * LoadBalancer.Inspection#snapshot()} then list the subset (with its balancing weights, scaled
     * by 100), and health checks probe it only. Defaults to none: every client talks to every
     * endpoint.
     */
    public Builder subsetting(Subsetting subsetting) {
      this.subsetting = requireNonNull(subsetting, "subsetting");
      return this;
    }

    /**
     * Makes picks with a hash key sticky: a key keeps its endpoint while that one is usable, moves
     * to one fallback when it is not, and moves back as {@code affinity} says. Picks without a key
     * are unchanged. Defaults to none (a consistent-hash strategy still maps keys, but spreads the
     * keys of an endpoint that leaves and takes them back at once).
     */
    public Builder affinity(Affinity affinity) {
      this.affinity = requireNonNull(affinity, "affinity");
      return this;
    }

    /**
     * Splits the traffic between the endpoints that {@code split} names (a canary) and the others.
     * To change or end it at run time, use {@link #trafficSplit(SplitControl)}. Defaults to none.
     */
    public Builder trafficSplit(TrafficSplit split) {
      this.split = SplitControl.of(split);
      return this;
    }

    /**
     * Splits the traffic as {@code control} says now and whenever it is changed: {@link
     * SplitControl#set} and {@link SplitControl#clear} apply before they return. Several balancers
     * may share one control.
     */
    public Builder trafficSplit(SplitControl control) {
      this.split = requireNonNull(control, "control");
      return this;
    }

    /**
     * Checks endpoints actively with a shared service: endpoints whose checks fail {@code fall}
     * times in a row are taken out until they pass {@code rise} times in a row. Balancers that
     * share a service share its probes (one probe per endpoint and interval). The balancer does not
     * close a shared service. Defaults to no active checks.
     */
    public Builder healthChecks(HealthCheckService service) {
      this.healthChecks = requireNonNull(service, "service");
      this.ownedChecker = null;
      this.ownedCheckConfig = null;
      return this;
    }

    /**
     * Checks endpoints actively with {@code checker} and {@code config}, on a service the balancer
     * owns: built by {@link #build()} with the balancer's scheduler and seed (whenever they were
     * set), closed with the balancer.
     */
    public Builder healthChecks(HealthChecker checker, HealthCheckConfig config) {
      this.ownedChecker = requireNonNull(checker, "checker");
      this.ownedCheckConfig = requireNonNull(config, "config");
      this.healthChecks = null;
      return this;
    }

    /**
     * Sets passive outlier detection: endpoints whose real calls fail are ejected for a while (see
     * {@link OutlierDetectionConfig}). Defaults to {@link OutlierDetectionConfig#defaults()}: on,
     * so that a dead endpoint stops costing retries (with 1 of 3 endpoints dead, its share of calls
     * is more than the retry budget allows). {@link OutlierDetectionConfig#disabled()} turns it
     * off.
     */
    public Builder outlierDetection(OutlierDetectionConfig config) {
      this.outlierDetection = requireNonNull(config, "config");
      return this;
    }

    /**
     * Turns on slow start ({@link SlowStartConfig}): an endpoint that joins a running balancer, or
     * comes back from being unhealthy, ejected or drained, starts at 10% of its weight (by default)
     * and ramps linearly to full weight over the window, like HAProxy's {@code slowstart}. Defaults
     * to off.
     */
    public Builder slowStart(SlowStartConfig config) {
      this.slowStart = requireNonNull(config, "config");
      return this;
    }

    /**
     * Turns on slow start over {@code window}: {@code slowStart(SlowStartConfig.of(window))}.
     *
     * @throws IllegalArgumentException if not in {@code 1s..1h}
     */
    public Builder slowStart(Duration window) {
      return slowStart(SlowStartConfig.of(window));
    }

    /**
     * Sets how the balancer uses its priority tiers and when it panics ({@link TierConfig}: panic
     * threshold, fail fast in panic, spill-over). Defaults to {@link TierConfig#defaults()}.
     */
    public Builder tiers(TierConfig config) {
      this.tiers = requireNonNull(config, "config");
      return this;
    }

    /**
     * Sets how long a call's first attempt waits for discovery's first answer while the balancer
     * knows no endpoint yet, so that calls made during start-up do not fail while DNS is still
     * answering: calls through {@link LoadBalancer#execute} and through a {@link
     * LoadBalancer#newCall balanced call}, which the OkHttp interceptor and other drivers use (at
     * most the call's remaining time). Once endpoints are known nothing waits; {@link
     * LoadBalancer#pick} and {@link LoadBalancer.Inspection#peek} never wait. Defaults to 0 (no
     * wait).
     *
     * @throws IllegalArgumentException if not in {@code 0..5m}
     */
    public Builder selectionTimeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      Checks.duration("selectionTimeout", timeout, Duration.ZERO, Duration.ofMinutes(5));
      this.selectionTimeoutNanos = timeout.toNanos();
      return this;
    }

    /**
     * Sets how {@link LoadBalancer#execute} retries a failed call on another endpoint. Defaults to
     * {@link io.loadstar.api.RetryPolicy#defaults()}: calls that were not sent (connect refused)
     * are tried up to 3 times; calls that may have been processed are retried only if the policy
     * says {@code retryPossiblyProcessed}. {@link io.loadstar.api.RetryPolicy#disabled()} makes one
     * attempt per call.
     */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Sets how {@link LoadBalancer#execute} reads what a call threw: whether the request was sent,
     * and whether the exception is the endpoint's failure at all (return {@code null} for an
     * application error such as a constraint violation). Defaults to {@link
     * io.loadstar.api.FailureClassifier#standard()}, which reads the cause chain, so a JDBC
     * driver's or Redis client's wrapped {@code ConnectException} counts as not sent.
     */
    public Builder failureClassifier(FailureClassifier classifier) {
      this.failureClassifier = requireNonNull(classifier, "classifier");
      return this;
    }

    /**
     * Sets how {@link LoadBalancer#execute} waits out retry backoffs. Defaults to parking the
     * calling thread; tests pass one that advances their fake ticker. Not API.
     */
    Builder sleeper(Sleeper sleeper) {
      this.sleeper = requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Builds the balancer and starts its sources.
     *
     * @throws IllegalStateException if no source was added, or a source cannot start: one that
     *     already serves another balancer (an {@link EndpointSource} serves one balancer; build one
     *     per balancer) or was closed
     */
    public LoadBalancer build() {
      // Checked before anything is built: a builder that cannot build stays as it was.
      if (sources.isEmpty()) {
        throw new IllegalStateException(
            "LoadBalancer '" + name + "' needs a source() or endpoints()");
      }
      if (subsetting != null && !subsetting.hasPosition()) {
        throw new IllegalStateException(
            "LoadBalancer '"
                + name
                + "': subsetting "
                + subsetting
                + " needs this client's position: .instance(index, count) or .peers(position)");
      }
      DefaultLoadBalancer lb = new DefaultLoadBalancer(settings());
      lb.start();
      return lb;
    }

    /** The settings as they are now, copied; the builder is left as it was. */
    BalancerSettings settings() {
      return new BalancerSettings(
          name,
          sources,
          strategy,
          maxInFlightPerEndpoint,
          ticker,
          scheduler,
          eventListener,
          seed,
          keepLastFailingNanos,
          keepLastEmptyNanos,
          BalancerSettings.checks(healthChecks, ownedChecker, ownedCheckConfig, seed, scheduler),
          ownedChecker != null,
          outlierDetection,
          tiers,
          slowStart,
          selectionTimeoutNanos,
          retryPolicy,
          sleeper,
          failureClassifier,
          zone,
          zoneRouting,
          split,
          affinity,
          subsetting);
    }
  }
}
