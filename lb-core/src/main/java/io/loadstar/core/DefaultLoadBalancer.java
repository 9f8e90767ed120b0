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
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import io.loadstar.core.internal.SharedThreads;
import io.loadstar.core.internal.SourceContext;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
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
 * Picks read the EndpointTable's published snapshot: one volatile read, no lock. The table keeps
 * the listed endpoints and their states, reconciles each new list and publishes once per task.
 */
/** The lb-core {@link LoadBalancer}. Thread-safe. */
final class DefaultLoadBalancer implements LoadBalancer {

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
  private final ServiceEvents events;
  private final RetryEngine retries;
  private final ListenerSet listeners;
  private final Inspection inspection;
  private final Control control;
  private final CountDownLatch ready = new CountDownLatch(1);

  private final EndpointTable table; // the balancer is closed when the table is
  private final @Nullable CanaryDriver canary;
  private final @Nullable Subsetting subsetting;
  private final DiscoveryPipeline discovery;
  private boolean sourceStarted = true; // serial only

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
    SnapshotBuilder snapshots = SnapshotBuilder.of(b, total, events, threads::workers);
    this.subsetting = b.subsetting();
    this.canary = b.split() != null ? new CanaryDriver(b.split(), snapshots, host) : null;
    this.stateFactory = new EndpointStateFactory(b, total, outliers, host);
    this.table =
        new EndpointTable(
            serialExecutor,
            this::scheduler,
            ticker,
            snapshots,
            stateFactory,
            health,
            outliers,
            canary,
            events,
            ready);
    this.discovery = new DiscoveryPipeline(b, events, serialExecutor, table);
    this.control =
        new BalancerControl(
            host, this::checkOpen, table::endpoints, table::state, table.rebuilds()::publishNow);
    this.retries = new RetryEngine(b, events, host, stateFactory.latency());
    this.inspection =
        new BalancerInspection(
            name,
            this::checkOpen,
            this::settle,
            table,
            b.strategy(),
            snapshots,
            b.affinity(),
            () -> canary == null ? "" : canary.rolledBack(),
            () -> subsetting != null ? discovery.discoveredSize() : 0,
            retries,
            ticker);
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
          stateFactory.start();
          PeerPosition peers = subsetting != null ? subsetting.peers() : null;
          if (peers != null) {
            try {
              peers.start(discovery.positionListener());
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
    return table.picker().pick(context);
  }

  @Override
  public BalancedCall newCall(PickContext context, boolean idempotent) {
    return retries.newCall(Objects.requireNonNull(context, "context"), idempotent);
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

  @Override
  public <T> T execute(PickContext context, EndpointCall<T> call) throws Exception {
    return retries.execute(context, call);
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
    if (table.isClosed()) {
      throw new IllegalStateException("LoadBalancer '" + name + "' is closed");
    }
  }

  @Override
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    return ready.await(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS) && !table.isClosed();
  }

  @Override
  public void close() {
    if (table.isClosed()) {
      return;
    }
    Picker closedPicker = TieredPicker.empty("LoadBalancer '" + name + "' is closed", events);
    table.closeWith(closedPicker); // closed from here on
    ready.countDown(); // wake waiters: awaitReady reports false once closed
    // Waits for the close task: it is queued behind a change another thread may be applying right
    // now, and close() promises sources, timers and threads released when it returns.
    boolean done =
        serialExecutor.executeAndWait(
            () -> {
              // An update that was running when close() began may have published after the write
              // above; this task runs after it, and later updates see it closed and do nothing.
              table.closeWith(closedPicker);
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
                health.close(table.states());
              }
              if (outliers != null) {
                outliers.close(table.states());
              }
              if (canary != null) {
                canary.close();
              }
              stateFactory.close();
              table.clear();
              threads.close(); // this balancer's timers are cancelled above
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
    if (table.isClosed()) {
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
    return table.publications();
  }

  Picker currentPicker() {
    return table.picker();
  }

  /** The per-thread counts of strategies that read no in-flight count; for tests. */
  CallLedger ledger() {
    return stateFactory.ledger();
  }

  @Override
  public String toString() {
    return "LoadBalancer{" + name + ", " + table.endpoints().size() + " endpoints}";
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
      return table.picker().pick(context);
    }

    @Override
    public @Nullable String nothingLeft(PickContext context) {
      return PickPeek.nothingLeft(table.picker(), context);
    }

    @Override
    public int usableEndpoints() {
      return table.current().picker().usableCount();
    }

    @Override
    public boolean awaitFirstAnswer(long nanos) throws InterruptedException {
      return !table.isClosed() && ready.await(nanos, TimeUnit.NANOSECONDS) && !table.isClosed();
    }

    @Override
    public boolean isClosed() {
      return table.isClosed();
    }

    @Override
    public Collection<EndpointState> states() {
      return table.states();
    }

    @Override
    public boolean isCurrent(EndpointState state) {
      return table.isCurrent(state);
    }

    @Override
    public ScheduledExecutorService scheduler() {
      return DefaultLoadBalancer.this.scheduler();
    }

    @Override
    public Executor hedges() {
      return threads.hedges();
    }

    @Override
    public void startRamp(EndpointState state) {
      table.startRamp(state);
    }

    @Override
    public void republish() {
      if (table.isClosed()) {
        return; // a part's late task: nothing to publish to
      }
      table.rebuilds().request(); // published after the part's task, with whatever else it changed
      if (subsetting != null) {
        discovery.resubsetSoon(); // a member's usability may have changed: widen or narrow
      }
    }

    @Override
    public void republishThen(Runnable then) {
      if (table.isClosed()) {
        then.run();
        return;
      }
      table.rebuilds().afterNextPublish(then);
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
