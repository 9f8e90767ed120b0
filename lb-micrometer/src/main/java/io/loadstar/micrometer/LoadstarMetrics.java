package io.loadstar.micrometer;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: nothing on the call path. Per-endpoint call counts, in-flight and weights are read
 * from the balancer's snapshot() when the registry polls (one snapshot per service per 100 ms,
 * shared by all its meters), retries from retryStats(); ejections, panic, canary rollbacks and
 * discovery health come from a listener this class adds to the balancer when it is bound. An
 * endpoint's meters are registered when it is listed and removed from the registry when it
 * leaves, so tags stay bounded by the live endpoint set.
 */
/**
 * Micrometer meters for Loadstar balancers: {@link #bind} each one, in one call.
 *
 * <pre>{@code
 * LoadstarMetrics metrics = LoadstarMetrics.of(registry);
 * LoadBalancer api = LoadBalancers.builder("api").endpoints(...).build();
 * metrics.bind(api);
 * }</pre>
 *
 * <p>Meters, all tagged {@code service}; the endpoint ones also {@code endpoint} ({@code
 * host:port}) and {@code zone}:
 *
 * <ul>
 *   <li>{@code loadstar.endpoint.state} (gauge): 0 ready, 1 ramping, 2 at limit, 3 draining, 4
 *       unhealthy, 5 ejected ({@link EndpointSnapshot.State} in order);
 *   <li>{@code loadstar.endpoint.in.flight} (gauge): calls in flight;
 *   <li>{@code loadstar.endpoint.weight} (gauge): the effective weight (0 when not usable);
 *   <li>{@code loadstar.endpoint.calls} (function counter, tag {@code outcome}: {@code success} or
 *       {@code failure}): completed calls;
 *   <li>{@code loadstar.retries} and {@code loadstar.retries.refused} (function counters): retries
 *       made, and retries the budget refused;
 *   <li>{@code loadstar.retry.budget.used} (gauge): retries / calls in the budget's window;
 *   <li>{@code loadstar.ejections} (counter, tag {@code reason}: {@code consecutive_failures},
 *       {@code failure_rate}, {@code slow_calls} or {@code other});
 *   <li>{@code loadstar.panic} (gauge): 1 while the balancer is in panic;
 *   <li>{@code loadstar.discovery.staleness} (gauge, seconds): how long discovery has been failing
 *       since its last good answer, 0 while it answers;
 *   <li>{@code loadstar.canary.rollbacks} (counter).
 * </ul>
 *
 * Thread-safe.
 */
public final class LoadstarMetrics implements AutoCloseable {

  private static final long SNAPSHOT_MAX_AGE_NANOS = 100_000_000L;

  private final MeterRegistry registry;
  private final long snapshotMaxAgeNanos;
  private final Map<String, Service> services = new ConcurrentHashMap<>();
  private final Listener listener = new Listener();

  private LoadstarMetrics(MeterRegistry registry, long snapshotMaxAgeNanos) {
    this.registry = registry;
    this.snapshotMaxAgeNanos = snapshotMaxAgeNanos;
  }

  /** Meters for balancers, in {@code registry}. */
  public static LoadstarMetrics of(MeterRegistry registry) {
    return of(registry, SNAPSHOT_MAX_AGE_NANOS);
  }

  /** For tests: meters that read a fresh snapshot when older than {@code maxAgeNanos}. */
  static LoadstarMetrics of(MeterRegistry registry, long maxAgeNanos) {
    return new LoadstarMetrics(requireNonNull(registry, "registry"), maxAgeNanos);
  }

  /**
   * Registers {@code lb}'s meters and adds a listener to it for its events (ejections, panic,
   * canary rollbacks, discovery health), and follows its endpoint list: meters of endpoints that
   * leave are removed. Binding the same balancer again does nothing.
   *
   * @throws IllegalStateException if another balancer of the same name is bound already
   */
  public void bind(LoadBalancer lb) {
    requireNonNull(lb, "lb");
    Service s = service(lb.name());
    synchronized (s) {
      if (s.lb == lb) {
        return;
      }
      if (s.lb != null) {
        throw new IllegalStateException(
            "a balancer named '" + lb.name() + "' is bound already (expected: one per service)");
      }
      s.lb = lb;
      s.subscription = lb.addListener(listener);
      s.bindServiceMeters();
      s.endpoints(lb.inspect().endpoints());
    }
  }

  /** Removes every meter this instance registered. */
  @Override
  public void close() {
    for (Service s : services.values()) {
      s.removeAll();
    }
    services.clear();
  }

  private Service service(String name) {
    return services.computeIfAbsent(name, Service::new);
  }

  /** Classifies an ejection's reason in words into a bounded tag value. */
  static String ejectionReason(String reason) {
    String r = reason.toLowerCase(Locale.ROOT);
    if (r.contains("consecutive")) {
      return "consecutive_failures";
    }
    if (r.contains("failure rate") || r.contains("error rate")) {
      return "failure_rate";
    }
    if (r.contains("slow")) {
      return "slow_calls";
    }
    return "other";
  }

  /** The meters of one service. */
  private final class Service {
    final String name;
    final Tags tags;
    @Nullable LoadBalancer lb;
    LoadBalancer.@Nullable Subscription subscription;
    final Map<String, List<Meter>> endpointMeters = new HashMap<>();
    final List<Meter> serviceMeters = new ArrayList<>();
    final Map<String, Counter> ejections = new ConcurrentHashMap<>();
    volatile boolean panic;
    volatile long lastGoodNanos = System.nanoTime();
    volatile boolean discoveryFailing;
    private @Nullable Map<String, EndpointSnapshot> snapshot;
    private long snapshotNanos;
    boolean serviceBound;

    Service(String name) {
      this.name = name;
      this.tags = Tags.of("service", name);
    }

    void bindServiceMeters() { // holding this
      if (serviceBound) {
        return;
      }
      serviceBound = true;
      serviceMeters.add(
          FunctionCounter.builder("loadstar.retries", this, s -> s.retries(false))
              .tags(tags)
              .description("retries on another endpoint")
              .register(registry));
      serviceMeters.add(
          FunctionCounter.builder("loadstar.retries.refused", this, s -> s.retries(true))
              .tags(tags)
              .description("retries the retry budget refused")
              .register(registry));
      serviceMeters.add(
          Gauge.builder("loadstar.retry.budget.used", this, Service::budgetUsed)
              .tags(tags)
              .description("retries / calls in the retry budget's window")
              .register(registry));
      serviceMeters.add(
          Gauge.builder("loadstar.panic", this, s -> s.panic ? 1 : 0)
              .tags(tags)
              .description("1 while too few endpoints are usable and picks spread over all")
              .register(registry));
      serviceMeters.add(
          Gauge.builder("loadstar.discovery.staleness", this, Service::staleness)
              .tags(tags)
              .baseUnit("seconds")
              .description("how long discovery has failed since its last good answer")
              .register(registry));
      serviceMeters.add(
          Counter.builder("loadstar.canary.rollbacks")
              .tags(tags)
              .description("canary splits rolled back to 0%")
              .register(registry));
    }

    double retries(boolean refused) {
      LoadBalancer l = lb;
      if (l == null) {
        return 0;
      }
      return refused
          ? l.inspect().retryStats().refusedByBudget()
          : l.inspect().retryStats().retries();
    }

    double budgetUsed() {
      LoadBalancer l = lb;
      if (l == null) {
        return 0;
      }
      long calls = l.inspect().retryStats().windowCalls();
      return calls == 0 ? 0 : (double) l.inspect().retryStats().windowRetries() / calls;
    }

    double staleness() {
      return discoveryFailing ? (System.nanoTime() - lastGoodNanos) / 1e9 : 0;
    }

    /** Registers meters of new endpoints and removes those of endpoints that left. */
    synchronized void endpoints(List<Endpoint> now) {
      if (lb == null) {
        return; // bind() registers them
      }
      Map<String, Endpoint> byKey = new HashMap<>();
      for (Endpoint e : now) {
        byKey.put(e.key(), e);
      }
      for (String gone : new ArrayList<>(endpointMeters.keySet())) {
        if (!byKey.containsKey(gone)) {
          for (Meter m : endpointMeters.remove(gone)) {
            registry.remove(m);
          }
        }
      }
      for (Endpoint e : now) {
        if (!endpointMeters.containsKey(e.key())) {
          endpointMeters.put(e.key(), register(e));
        }
      }
    }

    private List<Meter> register(Endpoint e) {
      Tags t = tags.and("endpoint", e.key(), "zone", e.zone());
      String key = e.key();
      List<Meter> meters = new ArrayList<>(5);
      meters.add(gauge("loadstar.endpoint.state", t, key, s -> s.state().ordinal(), "state"));
      meters.add(gauge("loadstar.endpoint.in.flight", t, key, EndpointSnapshot::inFlight, "calls"));
      meters.add(
          gauge("loadstar.endpoint.weight", t, key, EndpointSnapshot::effectiveWeight, "weight"));
      meters.add(
          FunctionCounter.builder(
                  "loadstar.endpoint.calls", this, s -> s.value(key, EndpointSnapshot::successes))
              .tags(t.and("outcome", "success"))
              .description("completed calls")
              .register(registry));
      meters.add(
          FunctionCounter.builder(
                  "loadstar.endpoint.calls", this, s -> s.value(key, EndpointSnapshot::failures))
              .tags(t.and("outcome", "failure"))
              .description("completed calls")
              .register(registry));
      return meters;
    }

    private Gauge gauge(
        String meter, Tags t, String key, ToDoubleFunction<EndpointSnapshot> f, String what) {
      return Gauge.builder(meter, this, s -> s.value(key, f))
          .tags(t)
          .description("the endpoint's " + what)
          .register(registry);
    }

    /** Reads one endpoint's value from a snapshot at most 100 ms old. */
    synchronized double value(String key, ToDoubleFunction<EndpointSnapshot> f) {
      LoadBalancer l = lb;
      if (l == null) {
        return Double.NaN;
      }
      long now = System.nanoTime();
      if (snapshot == null || now - snapshotNanos >= snapshotMaxAgeNanos) {
        List<EndpointSnapshot> all;
        try {
          all = l.inspect().snapshot();
        } catch (IllegalStateException closed) {
          return Double.NaN; // closed: its meters stay until removed, with no value
        }
        Map<String, EndpointSnapshot> m = new HashMap<>();
        for (EndpointSnapshot s : all) {
          m.put(s.endpoint().key(), s);
        }
        snapshot = m;
        snapshotNanos = now;
      }
      EndpointSnapshot s = snapshot.get(key);
      return s == null ? Double.NaN : f.applyAsDouble(s);
    }

    void ejected(String reason) {
      ejections
          .computeIfAbsent(
              ejectionReason(reason),
              r ->
                  Counter.builder("loadstar.ejections")
                      .tags(tags.and("reason", r))
                      .description("endpoints ejected by outlier detection")
                      .register(registry))
          .increment();
    }

    void rolledBack() {
      registry.counter("loadstar.canary.rollbacks", tags).increment();
    }

    synchronized void removeAll() {
      if (subscription != null) {
        subscription.close();
        subscription = null;
      }
      for (List<Meter> ms : endpointMeters.values()) {
        for (Meter m : ms) {
          registry.remove(m);
        }
      }
      endpointMeters.clear();
      for (Meter m : serviceMeters) {
        registry.remove(m);
      }
      for (Counter c : ejections.values()) {
        registry.remove(c);
      }
    }
  }

  /** Turns the balancers' events into meter updates. */
  private final class Listener extends LbEventListener {

    @Override
    public void endpointsUpdated(String service, List<Endpoint> endpoints) {
      Service s = service(service);
      s.lastGoodNanos = System.nanoTime();
      s.discoveryFailing = false;
      s.endpoints(endpoints);
    }

    @Override
    public void discoveryFailed(String service, Throwable error) {
      service(service).discoveryFailing = true;
    }

    @Override
    public void discoveryRecovered(String service, int endpoints) {
      Service s = service(service);
      s.lastGoodNanos = System.nanoTime();
      s.discoveryFailing = false;
    }

    @Override
    public void endpointStateChanged(
        String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {
      if (state == EndpointSnapshot.State.EJECTED) {
        service(service).ejected(reason);
      }
    }

    @Override
    public void panicChanged(String service, boolean panic, String reason) {
      service(service).panic = panic;
    }

    @Override
    public void canaryRolledBack(String service, String reason) {
      service(service).rolledBack();
    }
  }
}
