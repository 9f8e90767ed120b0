package io.loadstar.core;

import io.loadstar.api.BalancedCall;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PeerPosition;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryStats;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import io.loadstar.core.internal.SharedThreads;
import io.loadstar.core.internal.SourceContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes. The balancer wires its parts and keeps the endpoint list; each concern has its own
 * file: SnapshotBuilder (tiers, panic, spill-over, slow start), TieredPicker (the published
 * snapshot and its failure messages), OutlierDetector (passive health and ejection), RetryEngine
 * (the service's retry policy and budget), HealthCheckService (active checks).
 *
 * Threading: every state change (a source's update, a probe result, an ejection, close) runs as a
 * task on one SerialExecutor, which owns no thread; fields marked "serial only" are touched only
 * by those tasks. Picks run on any thread and read one volatile field, `picker`, an immutable
 * snapshot. A change builds a new snapshot completely and then publishes it with one volatile
 * write, so a pick sees either the old or the new state, never a mix, and never waits for a change.
 *
 * Reconciliation: endpoints are matched by Endpoint.key(). A surviving endpoint keeps its
 * EndpointState (in-flight counts, latency estimate) even when its weight or attributes change; a
 * list equal to the current one (same endpoints, same attributes, after sorting and de-duplication)
 * publishes nothing. Removed states are dropped after the new snapshot is published, so calls in
 * flight on them still report into a live object.
 *
 * Stale-while-error: a discovery error, or an empty list when acceptEmptyUpdates is off, never
 * replaces a non-empty set. The error is kept for messages and reported to the listener.
 */
/** The lb-core {@link LoadBalancer}. Thread-safe. */
final class DefaultLoadBalancer implements LoadBalancer {

  static final String NO_ENDPOINTS = "0 candidates, no endpoints discovered yet";

  private static final Logger logger = LoggerFactory.getLogger(DefaultLoadBalancer.class);

  private final String name;
  private final SerialExecutor serialExecutor;
  private final EndpointSource source;
  private final Ticker ticker;
  private final long keepLastFailingNanos;
  private final long keepLastEmptyNanos;
  private final SharedThreads.Lease threads;
  private final long seed;
  private final EndpointState.Factory stateFactory;
  private final @Nullable ActiveHealth health;
  private final @Nullable OutlierDetector outliers;
  private final SnapshotBuilder snapshots;
  private final ServiceEvents events;
  private final RetryEngine retries;
  private final ListenerSet listeners;
  private final Inspection inspection = new BalancerInspection();
  private final Control control = new BalancerControl();
  private final CountDownLatch ready = new CountDownLatch(1);

  private volatile Picker picker;
  private volatile List<Endpoint> endpoints = List.of();
  // The last published build: each endpoint's status, for snapshot(), explain() and subsetting.
  private volatile SnapshotBuilder.Snapshot current;
  private volatile boolean closed;

  // Serial only.
  private boolean sourceStarted = true;
  private Map<String, EndpointState> states = Map.of();
  private long lastAnswerNanos; // when discovery last answered with endpoints
  private int publications;
  private @Nullable ScheduledFuture<?> rampTimer;
  private @Nullable ScheduledFuture<?> returnTimer;
  private long returnAtNanos;
  private final @Nullable CanaryDriver canary;
  private final SelectionStrategy strategy;
  private final @Nullable Affinity affinity;
  private final @Nullable Subsetting subsetting;
  // Serial only, with subsetting: the whole list discovery gave, and this client's position.
  private List<Endpoint> discovered = List.of();
  private volatile int discoveredSize; // read by explain()
  private int positionIndex = -1;
  private int positionCount;
  private boolean subsetPending;

  DefaultLoadBalancer(LoadBalancers.Builder b) {
    this.name = b.name;
    this.serialExecutor = new SerialExecutor(b.name);
    this.source = b.sources.size() == 1 ? b.sources.get(0) : CompositeEndpointSource.of(b.sources);
    this.ticker = b.ticker;
    this.keepLastFailingNanos = b.keepLastFailingNanos;
    this.keepLastEmptyNanos = b.keepLastEmptyNanos;
    this.threads = new SharedThreads.Lease("LoadBalancer '" + b.name + "'", b.scheduler);
    this.seed = b.seed;
    // Disabled settings cost nothing per call: no outlier state at all, as before it had a default.
    Host host = new Host();
    this.outliers =
        b.outlierDetection != null && b.outlierDetection.isEnabled()
            ? new OutlierDetector(
                b.name, b.outlierDetection, b.seed, b.ticker, serialExecutor, host)
            : null;
    this.health =
        b.healthChecks != null
            ? new ActiveHealth(
                b.name, b.healthChecks, b.ownsHealthChecks, serialExecutor, host, outliers)
            : null;
    this.listeners = new ListenerSet(b.name, b.eventListener);
    this.events = new ServiceEvents(b.name, listeners);
    LongAdder total = new LongAdder();
    this.snapshots = SnapshotBuilder.of(b, total, events);
    this.strategy = b.strategy;
    this.affinity = b.affinity;
    this.subsetting = b.subsetting;
    if (b.subsetting != null && b.subsetting.count() > 0) {
      this.positionIndex = b.subsetting.index();
      this.positionCount = b.subsetting.count();
    }
    this.canary =
        b.split != null
            ? new CanaryDriver(
                b.split,
                snapshots,
                ticker,
                serialExecutor,
                this::scheduler,
                () -> states.values(),
                () -> {
                  if (!closed) {
                    publish(states);
                  }
                },
                events)
            : null;
    this.stateFactory = EndpointState.factory(b, total, outliers);
    this.retries = new RetryEngine(b, events, host);
    this.current = snapshots.build(List.of(), ticker.nanoTime());
    this.picker = current.picker();
  }

  /**
   * Starts the source and timers. A source that cannot start (one already serving another balancer,
   * say) fails the build: the balancer is closed and the source's exception thrown.
   */
  void start() {
    RuntimeException[] failed = new RuntimeException[2]; // the source's failure, the position's
    // The executor is new and idle: the task runs on this thread before execute() returns.
    serialExecutor.execute(
        () -> {
          if (canary != null) {
            canary.start();
          }
          try {
            source.start(
                new SourceContext(
                    name,
                    update -> serialExecutor.execute(() -> onUpdate(update)),
                    serialExecutor,
                    threads,
                    ticker,
                    seed));
          } catch (RuntimeException e) {
            failed[0] = e;
            return;
          }
          if (outliers != null) {
            outliers.start();
          }
          PeerPosition peers = subsetting != null ? subsetting.peers() : null;
          if (peers != null) {
            try {
              peers.start(
                  (index, count) -> {
                    Subsetting.checkPosition(index, count);
                    serialExecutor.execute(() -> positionChanged(index, count));
                  });
            } catch (RuntimeException e) {
              failed[1] = e;
            }
          }
        });
    if (failed[0] != null) {
      sourceStarted = false; // not this balancer's to close: it may serve another one
      close();
      throw failed[0];
    }
    if (failed[1] != null) {
      close();
      throw failed[1];
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public PickResult pick(PickContext context) {
    return picker.pick(context);
  }

  @Override
  public BalancedCall newCall(PickContext context, boolean idempotent) {
    return retries.newCall(Objects.requireNonNull(context, "context"), idempotent);
  }

  RetryPolicy retryPolicy() {
    return retries.policy();
  }

  RetryStats retryStats() {
    return retries.stats();
  }

  @Override
  public Inspection inspect() {
    return inspection;
  }

  @Override
  public Control control() {
    return control;
  }

  @Override
  public Subscription addListener(LbEventListener listener) {
    return listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Where a pick would go, without keeping its slot: a pick, cancelled at once. */
  Optional<Endpoint> peek(PickContext context) {
    PickResult result = picker.pick(Objects.requireNonNull(context, "context"));
    if (!result.isAvailable()) {
      return Optional.empty();
    }
    result.handle().onCancel();
    return Optional.of(result.endpoint());
  }

  @Override
  public <T> T execute(PickContext context, EndpointCall<T> call) throws Exception {
    return retries.execute(context, call);
  }

  List<Endpoint> endpoints() {
    checkOpen();
    return endpoints;
  }

  /** After close(), the methods that act or answer for the balancer refuse. */
  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("LoadBalancer '" + name + "' is closed");
    }
  }

  @Override
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    return ready.await(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS) && !closed;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    ready.countDown(); // wake waiters: awaitReady reports false once closed
    Picker closedPicker = TieredPicker.empty("LoadBalancer '" + name + "' is closed", events);
    picker = closedPicker;
    // Waits for the close task: it is queued behind a change another thread may be applying right
    // now, and close() promises sources, timers and threads released when it returns.
    boolean done =
        serialExecutor.executeAndWait(
            () -> {
              // An update that was running when close() began may have published after the write
              // above; this task runs after it, and later updates see `closed` and do nothing.
              picker = closedPicker;
              if (sourceStarted) {
                try {
                  source.close();
                } catch (RuntimeException e) {
                  logger.warn("[{}] source {} threw on close", name, source, e);
                }
              }
              PeerPosition peers = subsetting != null ? subsetting.peers() : null;
              if (peers != null) {
                try {
                  peers.close();
                } catch (RuntimeException e) {
                  logger.warn("[{}] peer position {} threw on close", name, peers, e);
                }
              }
              if (health != null) {
                health.close(states.values());
              }
              if (outliers != null) {
                outliers.close(states.values());
              }
              if (rampTimer != null) {
                rampTimer.cancel(false);
                rampTimer = null;
              }
              if (canary != null) {
                canary.close();
              }
              if (returnTimer != null) {
                returnTimer.cancel(false);
                returnTimer = null;
              }
              threads.close(); // this balancer's timers are cancelled above
              states = Map.of();
              logger.info("[{}] closed", name);
            },
            TimeUnit.SECONDS.toNanos(10));
    if (!done) {
      logger.warn("[{}] close() gave up waiting 10 s for the control loop", name);
    }
  }

  /** The scheduler for timers; serial only. */
  ScheduledExecutorService scheduler() {
    return threads.scheduler();
  }

  /** Runs {@code task} on the control loop; for timers and tests. */
  void executeSerially(Runnable task) {
    serialExecutor.execute(task);
  }

  /** How many snapshots were published; serial only (tests read it through executeSerially). */
  int publications() {
    return publications;
  }

  Picker currentPicker() {
    return picker;
  }

  /** The per-thread counts of strategies that read no in-flight count; for tests. */
  CallLedger ledger() {
    return stateFactory.ledger();
  }

  // ---- control loop ----

  private void onUpdate(EndpointUpdate update) {
    if (closed) {
      return;
    }
    String conflict =
        update.isError() ? null : EndpointLists.conflictingDuplicate(update.endpoints());
    if (conflict != null) {
      // Which of the two is right cannot be known: keep the last good list, as for an error.
      update = EndpointUpdate.failed(new IllegalArgumentException("discovery: " + conflict));
    }
    List<Endpoint> next =
        update.isError() ? List.of() : EndpointLists.canonical(update.endpoints());
    long now = ticker.nanoTime();
    // What is wrong with the update: discovery's error, or its answer that there is none, with the
    // reason it gave (an empty list without one says nothing to keep in failed picks' messages).
    Throwable error =
        update.isError()
            ? update.error().orElseThrow()
            : next.isEmpty() && !update.reason().isEmpty()
                ? ServiceEvents.noEndpoints(update.reason(), 0)
                : null;
    if (next.isEmpty() && (error != null || !states.isEmpty())) {
      long keepNanos = update.isError() ? keepLastFailingNanos : keepLastEmptyNanos;
      if (states.isEmpty() || now - lastAnswerNanos < keepNanos) { // stale-while-error
        events.discoveryFailed(
            update.isError() || states.isEmpty()
                ? error
                : ServiceEvents.noEndpoints(update.reason(), states.size()),
            states.size());
        return;
      }
      events.lastEndpointsDropped(states.size(), keepNanos, error);
    } else {
      events.discoveryAnswered(next.size());
    }
    if (!next.isEmpty()) {
      lastAnswerNanos = now;
    }
    discovered = next;
    discoveredSize = next.size();
    reconcile(subsetOf(next));
  }

  /** Makes {@code next} the listed endpoints: states kept by key, added, removed; publishes. */
  private void reconcile(List<Endpoint> next) {
    if (next.equals(endpoints)) {
      return;
    }
    long now = ticker.nanoTime();
    Map<String, EndpointState> previous = states;
    Map<String, EndpointState> reconciled = new LinkedHashMap<>();
    int added = 0;
    for (Endpoint e : next) {
      EndpointState state = previous.get(e.key());
      if (state == null) {
        state = stateFactory.create(e);
        if (health != null) {
          health.watch(state);
        }
        added++;
      } else {
        state.setEndpoint(e);
      }
      reconciled.put(e.key(), state);
    }
    if (snapshots.settings().slowStartNanos() > 0 && added < next.size()) {
      for (EndpointState state : reconciled.values()) {
        if (!previous.containsKey(state.key())) {
          state.control.rampStartNanos = now; // joins a running set: ramp up
        }
      }
    }
    publish(reconciled);
    states = reconciled;
    endpoints = next;
    if (canary != null) {
      canary.listed();
    }
    if (!next.isEmpty()) {
      ready.countDown();
    }
    int removed = 0;
    for (Map.Entry<String, EndpointState> e : previous.entrySet()) {
      if (!reconciled.containsKey(e.getKey())) {
        removed++;
        if (health != null) {
          health.unwatch(e.getValue()); // after publishing: probes stop the moment it is gone
        }
        if (outliers != null) {
          outliers.removed(e.getValue());
        }
        stateFactory.removed(e.getValue());
      }
    }
    if (outliers != null) {
      outliers.listChanged();
    }
    events.endpointsUpdated(added, removed, next);
  }

  /** This client's position among its peers changed; control loop. */
  private void positionChanged(int index, int count) {
    if (closed || (index == positionIndex && count == positionCount)) {
      return;
    }
    logger.info("[{}] this client is {} of {}: subsetting follows", name, index, count);
    positionIndex = index;
    positionCount = count;
    reconcile(subsetOf(discovered));
  }

  /**
   * This client's subset of {@code all}, widened by one usable endpoint for each member that is not
   * usable (unhealthy, ejected); {@code all} itself without subsetting or a known position.
   */
  private List<Endpoint> subsetOf(List<Endpoint> all) {
    Subsetting s = subsetting;
    if (s == null || positionCount == 0 || all.isEmpty()) {
      return all;
    }
    int size = s.sizeFor(all.size(), positionCount);
    if (size >= all.size()) {
      return all;
    }
    SubsetPlan plan = SubsetPlan.of(all, positionCount, size);
    List<Endpoint> subset = new ArrayList<>(plan.subset(positionIndex));
    Map<String, EndpointStatus> byKey = new HashMap<>();
    for (EndpointStatus st : current.statuses()) {
      byKey.put(st.state.key(), st);
    }
    int missing = 0;
    for (Endpoint e : subset) {
      missing += usable(e, byKey) ? 0 : 1;
    }
    if (missing > 0) {
      for (Endpoint e : plan.widening(positionIndex)) {
        if (missing == 0) {
          break;
        }
        subset.add(e);
        missing -= usable(e, byKey) ? 1 : 0;
      }
    }
    return EndpointLists.canonical(subset);
  }

  /**
   * Whether the endpoint of {@code e}'s key is usable by the last build's status (healthy, not
   * ejected, not drained), or not listed yet (assumed usable).
   */
  private boolean usable(Endpoint e, Map<String, EndpointStatus> byKey) {
    EndpointStatus status = byKey.get(e.key());
    return status == null || status.usable();
  }

  /**
   * Re-evaluates the subset after a state changed, once the current control-loop task is done (the
   * detector or health check that changed it may still be running); changes coalesce.
   */
  private void resubsetSoon() {
    if (subsetPending || positionCount == 0) {
      return;
    }
    subsetPending = true;
    serialExecutor.execute(
        () -> {
          subsetPending = false;
          if (!closed && !discovered.isEmpty()) {
            reconcile(subsetOf(discovered));
          }
        });
  }

  PickExplanation explain(PickContext context) {
    Objects.requireNonNull(context, "context");
    checkOpen();
    CanaryDriver c = canary;
    return Explainer.explain(
        name,
        strategy,
        current,
        snapshots,
        affinity,
        c == null ? "" : c.rolledBack(),
        subsetting != null ? discoveredSize : 0,
        context,
        ticker.nanoTime());
  }

  List<EndpointSnapshot> snapshot() {
    checkOpen();
    List<EndpointStatus> statuses = current.statuses();
    List<EndpointSnapshot> out = new ArrayList<>(statuses.size());
    long now = ticker.nanoTime();
    int maxInFlight = snapshots.settings().maxInFlight();
    for (EndpointStatus st : statuses) {
      out.add(st.snapshot(now, maxInFlight));
    }
    return out;
  }

  /** Builds the snapshot of {@code reconciled} and publishes it with one volatile write. */
  private void publish(Map<String, EndpointState> reconciled) {
    SnapshotBuilder.Snapshot built = snapshots.build(reconciled.values(), ticker.nanoTime());
    if (built.ramping() && rampTimer == null) {
      long step = Math.max(snapshots.settings().slowStartNanos() / 20, 1);
      rampTimer =
          scheduler()
              .schedule(
                  () ->
                      serialExecutor.execute(
                          () -> {
                            rampTimer = null;
                            if (!closed) {
                              publish(states);
                            }
                          }),
                  step,
                  TimeUnit.NANOSECONDS);
    }
    if (built.rebuildAtNanos() != Long.MAX_VALUE) {
      scheduleReturn(built.rebuildAtNanos());
    }
    current = built;
    picker = built.picker();
    publications++;
    events.panic(built.panicReason(), snapshots.settings().failFastInPanic());
  }

  /** Rebuilds at {@code atNanos}, when an endpoint's sticky keys may return to it. */
  private void scheduleReturn(long atNanos) {
    if (returnTimer != null && returnAtNanos <= atNanos) {
      return; // an earlier rebuild is already due; it schedules the next
    }
    if (returnTimer != null) {
      returnTimer.cancel(false);
    }
    returnAtNanos = atNanos;
    returnTimer =
        scheduler()
            .schedule(
                () ->
                    serialExecutor.execute(
                        () -> {
                          returnTimer = null;
                          if (!closed) {
                            publish(states);
                          }
                        }),
                Math.max(0, atNanos - ticker.nanoTime()),
                TimeUnit.NANOSECONDS);
  }

  private void startRamp(EndpointState s) {
    if (snapshots.settings().slowStartNanos() > 0) {
      s.control.rampStartNanos = ticker.nanoTime();
    }
  }

  // ---- runtime drain and weight (any thread; applied on the control loop) ----

  void drain(String endpointKey) {
    checkOpen();
    requireCurrent(endpointKey);
    serialExecutor.execute(() -> setDraining(endpointKey, true));
  }

  void resume(String endpointKey) {
    checkOpen();
    requireCurrent(endpointKey);
    serialExecutor.execute(() -> setDraining(endpointKey, false));
  }

  void setWeight(String endpointKey, int weight) {
    if (weight < -1 || weight > Endpoint.MAX_WEIGHT) {
      throw new IllegalArgumentException(
          "weight: " + weight + " (expected: -1..1000000, -1 = discovery's weight)");
    }
    checkOpen();
    requireCurrent(endpointKey);
    serialExecutor.execute(
        () -> {
          EndpointState state = states.get(endpointKey);
          if (closed || state == null || state.control.weightOverride == weight) {
            return;
          }
          boolean wasOut = state.baseWeight() == 0;
          state.control.weightOverride = weight;
          if (wasOut && state.baseWeight() > 0) {
            startRamp(state);
          }
          logger.info("[{}] {} weight set to {}", name, state.endpoint(), weight);
          publish(states);
        });
  }

  private void requireCurrent(String endpointKey) {
    Objects.requireNonNull(endpointKey, "endpointKey");
    for (Endpoint e : endpoints) {
      if (e.key().equals(endpointKey)) {
        return;
      }
    }
    throw new IllegalArgumentException(
        "endpointKey: " + endpointKey + " (expected: the key of a current endpoint)");
  }

  private void setDraining(String endpointKey, boolean draining) {
    EndpointState state = states.get(endpointKey);
    if (closed || state == null || state.control.draining == draining) {
      return;
    }
    state.control.draining = draining;
    if (!draining) {
      startRamp(state);
    }
    logger.info("[{}] {} {}", name, state.endpoint(), draining ? "draining" : "resumed");
    publish(states);
    events.stateChanged(
        state.endpoint(),
        draining ? EndpointSnapshot.State.DRAINING : EndpointSnapshot.State.READY,
        draining ? "drained by the application" : "");
  }

  private boolean isCurrent(EndpointState state) {
    return !closed && states.get(state.key()) == state;
  }

  @Override
  public String toString() {
    return "LoadBalancer{" + name + ", " + endpoints.size() + " endpoints}";
  }

  /** {@link #inspect()}: reads of the balancer's state. */
  private final class BalancerInspection implements Inspection {
    @Override
    public List<Endpoint> endpoints() {
      return DefaultLoadBalancer.this.endpoints();
    }

    @Override
    public List<EndpointSnapshot> snapshot() {
      return DefaultLoadBalancer.this.snapshot();
    }

    @Override
    public PickExplanation explain(PickContext context) {
      return DefaultLoadBalancer.this.explain(context);
    }

    @Override
    public Optional<Endpoint> peek(PickContext context) {
      return DefaultLoadBalancer.this.peek(context);
    }

    @Override
    public RetryPolicy retryPolicy() {
      return DefaultLoadBalancer.this.retryPolicy();
    }

    @Override
    public RetryStats retryStats() {
      return DefaultLoadBalancer.this.retryStats();
    }

    @Override
    public String toString() {
      return "Inspection{" + name + '}';
    }
  }

  /** {@link #control()}: operations on the balancer's endpoints. */
  private final class BalancerControl implements Control {
    @Override
    public void drain(String endpointKey) {
      DefaultLoadBalancer.this.drain(endpointKey);
    }

    @Override
    public void resume(String endpointKey) {
      DefaultLoadBalancer.this.resume(endpointKey);
    }

    @Override
    public void setWeight(String endpointKey, int weight) {
      DefaultLoadBalancer.this.setWeight(endpointKey, weight);
    }

    @Override
    public String toString() {
      return "Control{" + name + '}';
    }
  }

  /** What the balancer's parts see of it; control loop. */
  private final class Host implements BalancerHost, RetryEngine.Picking {
    @Override
    public PickResult pick(PickContext context) {
      return picker.pick(context);
    }

    @Override
    public @Nullable String nothingLeft(PickContext context) {
      Picker current = picker;
      if (!PickPeek.of(current, context).none()) {
        return null;
      }
      PickResult result = current.pick(context); // unavailable, with the reason why
      if (result.isAvailable()) {
        result.handle().onCancel();
        return null;
      }
      return result.reason();
    }

    @Override
    public boolean awaitFirstAnswer(long nanos) throws InterruptedException {
      return !closed && ready.await(nanos, TimeUnit.NANOSECONDS) && !closed;
    }

    @Override
    public boolean isClosed() {
      return closed;
    }

    @Override
    public Collection<EndpointState> states() {
      return states.values();
    }

    @Override
    public boolean isCurrent(EndpointState state) {
      return DefaultLoadBalancer.this.isCurrent(state);
    }

    @Override
    public ScheduledExecutorService scheduler() {
      return DefaultLoadBalancer.this.scheduler();
    }

    @Override
    public void startRamp(EndpointState state) {
      DefaultLoadBalancer.this.startRamp(state);
    }

    @Override
    public void republish() {
      publish(states);
      if (subsetting != null) {
        resubsetSoon(); // a member's usability may have changed: widen or narrow
      }
    }

    @Override
    public void stateChanged(Endpoint endpoint, EndpointSnapshot.State state, String reason) {
      events.stateChanged(endpoint, state, reason);
      if (canary != null && state == EndpointSnapshot.State.EJECTED) {
        canary.endpointEjected();
      }
    }
  }
}
