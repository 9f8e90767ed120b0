package io.loadstar.core;

import io.loadstar.api.BalancedCall;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.EndpointSource;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes. The balancer wires its parts and keeps the endpoint list; each concern has its own
 * file: DiscoveryPipeline (checks, keep-last, subsetting: what discovery says, on its way here),
 * SnapshotBuilder and its routing stages, TieredPicker (the published snapshot and its failure
 * messages), OutlierDetector (passive health and ejection), RetryEngine (the service's retry
 * policy and budget), HealthCheckService (active checks).
 *
 * Threading: every state change (a source's update, a probe result, an ejection, close) runs as a
 * task on one SerialExecutor, which owns no thread; fields marked "serial only" are touched only
 * by those tasks. A source's thread, a worker or the timer runs the tasks it submits; a request
 * thread never does: a call that crosses a threshold (the fifth failure, a canary failure, a
 * trial's outcome) records it and hands the task off to the timer thread (SerialExecutor.handOff),
 * so no caller pays for an ejection, a rebuild or a user's listener. Answers about the state
 * (snapshot, explain, peek, endpoints) first let the loop run what is queued, so they reflect
 * every outcome reported before them.
 *
 * Picks run on any thread and read one volatile field, `picker`, an immutable snapshot. A change
 * builds a new snapshot completely and then publishes it with one volatile write, so a pick sees
 * either the old or the new state, never a mix, and never waits for a change. The parts ask for a
 * rebuild through the RebuildPacer, which publishes once after the task that asked, however many
 * changes it made.
 *
 * Reconciliation: endpoints are matched by Endpoint.key(). A surviving endpoint keeps its
 * EndpointState (in-flight counts, latency estimate) even when its weight or attributes change; a
 * list equal to the current one (same endpoints, same attributes, after sorting and de-duplication)
 * publishes nothing. Removed states are dropped after the new snapshot is published, so calls in
 * flight on them still report into a live object.
 */
/** The lb-core {@link LoadBalancer}. Thread-safe. */
final class DefaultLoadBalancer implements LoadBalancer {

  static final String NO_ENDPOINTS = "0 candidates, no endpoints discovered yet";

  private static final long SETTLE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final Logger logger = LoggerFactory.getLogger(DefaultLoadBalancer.class);

  private final String name;
  private final SerialExecutor serialExecutor;
  private final EndpointSource source;
  private final Ticker ticker;
  private final SharedThreads.Lease threads;
  private final long seed;
  private final EndpointStateFactory stateFactory;
  private final @Nullable ActiveHealth health;
  private final @Nullable OutlierDetector outliers;
  private final SnapshotBuilder snapshots;
  private final ServiceEvents events;
  private final RetryEngine retries;
  private final ListenerSet listeners;
  private final Inspection inspection = new BalancerInspection();
  private final Control control;
  private final CountDownLatch ready = new CountDownLatch(1);

  private volatile Picker picker;
  private volatile List<Endpoint> endpoints = List.of();
  // The last published build: each endpoint's status, for snapshot(), explain() and subsetting.
  private volatile SnapshotBuilder.Snapshot current;
  private volatile boolean closed;

  // Serial only.
  private boolean sourceStarted = true;
  private Map<String, EndpointState> states = Map.of();
  private int publications;
  private final RebuildPacer rebuilds; // one publish per task, however many parts ask
  private final ControlTimer rampStep; // slow start: rebuilds while an endpoint ramps
  private final ControlTimer keyReturn; // sticky keys: rebuilds when an endpoint may take them back
  private final @Nullable CanaryDriver canary;
  private final SelectionStrategy strategy;
  private final @Nullable Affinity affinity;
  private final @Nullable Subsetting subsetting;
  private final DiscoveryPipeline discovery;

  DefaultLoadBalancer(BalancerSettings b) {
    this.name = b.name();
    this.serialExecutor = new SerialExecutor(b.name(), this::drainElsewhere);
    this.source =
        b.sources().size() == 1 ? b.sources().get(0) : CompositeEndpointSource.of(b.sources());
    this.ticker = b.ticker();
    this.threads = new SharedThreads.Lease("LoadBalancer '" + b.name() + "'", b.scheduler());
    this.seed = b.seed();
    // Disabled settings cost nothing per call: no outlier state at all, as before it had a default.
    Host host = new Host();
    this.outliers =
        b.outlierDetection() != null && b.outlierDetection().isEnabled()
            ? new OutlierDetector(b.outlierDetection(), b.seed(), host)
            : null;
    this.health =
        b.healthChecks() != null
            ? new ActiveHealth(b.healthChecks(), b.ownsHealthChecks(), host, outliers)
            : null;
    this.listeners = new ListenerSet(b.name(), b.eventListener());
    this.events = new ServiceEvents(b.name(), listeners);
    LongAdder total = new LongAdder();
    this.snapshots = SnapshotBuilder.of(b, total, events);
    this.strategy = b.strategy();
    this.affinity = b.affinity();
    this.subsetting = b.subsetting();
    this.discovery = new DiscoveryPipeline(b, events, serialExecutor, new Listed());
    this.rebuilds = new RebuildPacer(serialExecutor, this::publish);
    this.control =
        new BalancerControl(
            host, this::checkOpen, () -> endpoints, key -> states.get(key), rebuilds::publishNow);
    this.canary = b.split() != null ? new CanaryDriver(b.split(), snapshots, host) : null;
    this.stateFactory = new EndpointStateFactory(b, total, outliers);
    this.retries = new RetryEngine(b, events, host);
    this.rampStep = new ControlTimer(this::scheduler, serialExecutor, ticker, this::republish);
    this.keyReturn = new ControlTimer(this::scheduler, serialExecutor, ticker, this::republish);
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
                    update -> serialExecutor.execute(() -> discovery.onUpdate(update)),
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
                    serialExecutor.execute(() -> discovery.positionChanged(index, count));
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
    Objects.requireNonNull(context, "context");
    settle();
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
    settle();
    return endpoints;
  }

  /**
   * Lets the control loop apply what is queued (an ejection a request thread handed off, say)
   * before an answer about the balancer's state, so it reflects every outcome reported before the
   * question; waits at most a second (the answer is then the published state).
   */
  void settle() {
    if (!serialExecutor.settle(SETTLE_NANOS)) {
      logger.debug("[{}] answering with the published state: the control loop is busy", name);
    }
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
              rampStep.cancel();
              if (canary != null) {
                canary.close();
              }
              keyReturn.cancel();
              threads.close(); // this balancer's timers are cancelled above
              states = Map.of();
              logger.info("[{}] closed", name);
            },
            TimeUnit.SECONDS.toNanos(10));
    if (!done) {
      logger.warn("[{}] close() gave up waiting 10 s for the control loop", name);
    }
  }

  /**
   * Runs a drain of the control loop that a request thread handed off: on the balancer's timer
   * thread (the shared one, or the user's scheduler), whose tasks are all short control-loop turns.
   * After close() nothing is left to run.
   */
  private void drainElsewhere(Runnable drain) {
    if (closed) {
      return;
    }
    try {
      threads.scheduler().execute(drain);
    } catch (IllegalStateException | RejectedExecutionException e) {
      logger.debug("[{}] control loop hand-off after close dropped", name, e);
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
          state.routing.rampStartNanos = now; // joins a running set: ramp up
        }
      }
    }
    states = reconciled;
    endpoints = next;
    if (canary != null) {
      canary.listed();
    }
    if (outliers != null) {
      outliers.listChanged(); // the cap may have room now: its ejections join this publish
    }
    rebuilds.publishNow();
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
    events.endpointsUpdated(added, removed, next);
  }

  PickExplanation explain(PickContext context) {
    Objects.requireNonNull(context, "context");
    checkOpen();
    settle();
    CanaryDriver c = canary;
    return Explainer.explain(
        name,
        strategy,
        current,
        snapshots,
        affinity,
        c == null ? "" : c.rolledBack(),
        subsetting != null ? discovery.discoveredSize() : 0,
        context,
        ticker.nanoTime());
  }

  List<EndpointSnapshot> snapshot() {
    checkOpen();
    settle();
    List<EndpointStatus> statuses = current.statuses();
    List<EndpointSnapshot> out = new ArrayList<>(statuses.size());
    long now = ticker.nanoTime();
    int maxInFlight = snapshots.settings().maxInFlight();
    for (EndpointStatus st : statuses) {
      out.add(st.snapshot(now, maxInFlight));
    }
    return out;
  }

  /**
   * Builds the snapshot of the listed states and publishes it with one volatile write; through
   * {@link #rebuilds} only, so that one task publishes once.
   */
  private void publish() {
    if (closed) {
      return; // close() published the closed picker; a late rebuild must not replace it
    }
    SnapshotBuilder.Snapshot built = snapshots.build(states.values(), ticker.nanoTime());
    if (built.ramping()) {
      rampStep.runAfter(Math.max(snapshots.settings().slowStartNanos() / 20, 1));
    }
    if (built.rebuildAtNanos() != Long.MAX_VALUE) {
      keyReturn.runAt(built.rebuildAtNanos());
    }
    current = built;
    picker = built.picker();
    publications++;
    if (outliers != null) {
      outliers.published(states.values(), built.panicReason() != null);
    }
    events.panic(built.panicReason(), snapshots.settings().failFastInPanic());
  }

  /** A timer's rebuild: publishes the listed states again, as time has changed them. */
  private void republish() {
    if (!closed) {
      rebuilds.request();
    }
  }

  private void startRamp(EndpointState s) {
    if (snapshots.settings().slowStartNanos() > 0) {
      s.routing.rampStartNanos = ticker.nanoTime();
    }
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

  /** What the discovery pipeline hands its lists to. */
  private final class Listed implements DiscoveryPipeline.Sink {
    @Override
    public void reconcile(List<Endpoint> listed) {
      DefaultLoadBalancer.this.reconcile(listed);
    }

    @Override
    public int listedCount() {
      return states.size();
    }

    @Override
    public List<EndpointStatus> statuses() {
      return current.statuses();
    }

    @Override
    public boolean isClosed() {
      return closed;
    }
  }

  /** What the balancer's parts see of it; control loop. */
  private final class Host implements BalancerHost, RetryEngine.Picking {
    @Override
    public String name() {
      return name;
    }

    @Override
    public Ticker ticker() {
      return ticker;
    }

    @Override
    public SerialExecutor controlLoop() {
      return serialExecutor;
    }

    @Override
    public ServiceEvents events() {
      return events;
    }

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
      if (closed) {
        return; // a part's late task: nothing to publish to
      }
      rebuilds.request(); // published after the part's task, with whatever else it changed
      if (subsetting != null) {
        discovery.resubsetSoon(); // a member's usability may have changed: widen or narrow
      }
    }

    @Override
    public void republishThen(Runnable then) {
      if (closed) {
        then.run();
        return;
      }
      rebuilds.afterNextPublish(then);
      republish();
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
