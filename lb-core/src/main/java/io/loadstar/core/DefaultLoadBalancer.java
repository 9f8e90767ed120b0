package io.loadstar.core;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.CallFailure;
import io.loadstar.api.CallHandle;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.EndpointView;
import io.loadstar.api.FailureClassifier;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.NoEndpointAvailableException;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import io.loadstar.api.SelectionStrategy.PickerFactory;
import io.loadstar.api.Ticker;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes.
 *
 * Threading: every state change (a source's update, close) runs as a task on one SerialExecutor,
 * which owns no thread; fields marked "serial only" are touched only by those tasks. Picks run on
 * any thread and read one volatile field, `picker`, an immutable snapshot. A change builds a new
 * snapshot completely and then publishes it with one volatile write, so a pick sees either the
 * old or the new state, never a mix, and never waits for a change.
 *
 * Reconciliation: endpoints are matched by Endpoint.key(). A surviving endpoint keeps its
 * EndpointState (in-flight counts, latency estimate) even when its weight or attributes change; a
 * list equal to the current one (same endpoints, same attributes, after sorting and de-duplication)
 * publishes nothing. Removed states are dropped after the new snapshot is published, so calls in
 * flight on them still report into a live object.
 *
 * Stale-while-error: a discovery error, or an empty list when acceptEmptyUpdates is off, never
 * replaces a non-empty set. The error is kept for messages and reported to the listener.
 *
 * Tiers: endpoints are grouped by priority; the snapshot tries tier 0's picker first and falls to
 * the next tier only when a tier cannot serve the pick (no usable endpoint, or all excluded or at
 * their limit). Failure messages are built only on the failure path.
 *
 * Health: an endpoint is usable when listed with weight > 0, healthy by active checks, and not
 * ejected. Every change of those (a probe flipping, an ejection starting or ending) runs on the
 * control loop and republishes. Panic: when fewer than panicThreshold percent of the serving
 * tier's endpoints are usable (or none of any tier is), that tier is picked over all its listed
 * endpoints, like Envoy's panic routing, unless failFastInPanic.
 *
 * Outlier detection: EndpointState counts on the hot path and signals threshold crossings; the
 * decisions (the max-ejection cap, the ejection time from Resilience4j's exponential random
 * backoff, trial calls, restore) are taken here. Resilience4j's CircuitBreaker is not used per
 * call: its sliding windows take a lock (or allocate a node and a snapshot) on every recorded
 * outcome, which the hot path must not do.
 */
/** The lb-core {@link LoadBalancer}. Thread-safe. */
final class DefaultLoadBalancer implements LoadBalancer {

  private static final Logger logger = LoggerFactory.getLogger(DefaultLoadBalancer.class);
  private static final String NO_ENDPOINTS = "0 candidates, no endpoints discovered yet";

  private final String name;
  private final SerialExecutor serialExecutor;
  private final EndpointSource source;
  private final LbEventListener eventListener;
  private final Ticker ticker;
  private final int maxInFlight;
  private final boolean acceptEmptyUpdates;
  private final PickerFactory pickerFactory;
  private final @Nullable LongAdder totalInFlight;
  private final BuiltinStrategy.@Nullable PeakEwmaSettings latencyTracking;
  private final boolean exactInFlight;
  private final long origin;
  private final @Nullable ScheduledExecutorService userScheduler;
  private final @Nullable HealthCheckService healthChecks;
  private final boolean ownsHealthChecks;
  private final @Nullable OutlierDetectionConfig outlier;
  private final @Nullable IntervalFunction ejectionBackoff;
  private final EndpointState.OutlierSignals outlierSignals;
  private final int panicThreshold;
  private final boolean failFastInPanic;
  private final boolean tierSpillover;
  private final long selectionTimeoutNanos;
  private final Retrier retrier;
  private final FailureClassifier failureClassifier;
  private final Sleeper sleeper;
  private final CountDownLatch ready = new CountDownLatch(1);
  private final CountDownLatch closeDone = new CountDownLatch(1);
  private final PerThread spilloverRandom;
  private final long slowStartNanos;
  private final int slowStartFloorPercent;
  private final int weightScale;

  private volatile Picker picker;
  private volatile List<Endpoint> endpoints = List.of();
  private volatile List<EndpointState> stateList = List.of();
  private volatile @Nullable Throwable lastDiscoveryError;
  private volatile boolean closed;

  // Serial only.
  private final SplittableRandom controlRandom;
  private boolean sourceStarted = true;
  private Map<String, EndpointState> states = Map.of();
  private boolean degraded;
  private @Nullable ScheduledExecutorService sharedTimer;
  private int publications;
  private boolean inPanic;
  private @Nullable ScheduledFuture<?> rampTimer;
  private @Nullable ScheduledFuture<?> sweepTimer;

  DefaultLoadBalancer(LoadBalancers.Builder b) {
    this.name = b.name;
    this.serialExecutor = new SerialExecutor(b.name);
    this.source = b.sources.size() == 1 ? b.sources.get(0) : CompositeEndpointSource.of(b.sources);
    this.eventListener = b.eventListener;
    this.ticker = b.ticker;
    this.maxInFlight = b.maxInFlightPerEndpoint;
    this.acceptEmptyUpdates = b.acceptEmptyUpdates;
    this.userScheduler = b.scheduler;
    this.healthChecks = b.healthChecks;
    this.ownsHealthChecks = b.ownsHealthChecks;
    // Disabled settings cost nothing per call: no outlier state at all, as before it had a default.
    this.outlier =
        b.outlierDetection != null && b.outlierDetection.isEnabled() ? b.outlierDetection : null;
    this.ejectionBackoff =
        outlier == null
            ? null
            : IntervalFunction.ofExponentialBackoff(
                outlier.baseEjectionTime(), 2.0, outlier.maxEjectionTime());
    this.controlRandom = new SplittableRandom(b.seed ^ 0x454a454354L);
    this.outlierSignals =
        new EndpointState.OutlierSignals() {
          @Override
          public void consecutiveFailures(EndpointState state) {
            serialExecutor.execute(() -> onConsecutiveFailures(state));
          }

          @Override
          public void failureRunEnded(EndpointState state) {
            serialExecutor.execute(() -> clearRefusedEjection(state));
          }

          @Override
          public void trialOutcome(EndpointState state, boolean success) {
            serialExecutor.execute(() -> onTrialOutcome(state, success));
          }
        };
    this.panicThreshold = b.panicThreshold;
    this.failFastInPanic = b.failFastInPanic;
    this.tierSpillover = b.tierSpillover;
    this.selectionTimeoutNanos = b.selectionTimeoutNanos;
    this.retrier = Retrier.create(b.name, b.retryPolicy, b.ticker, b.eventListener);
    this.sleeper = b.sleeper;
    this.failureClassifier = b.failureClassifier;
    this.spilloverRandom = new PerThread(b.seed ^ 0x5350494c4cL);
    this.slowStartNanos = b.slowStartNanos;
    this.slowStartFloorPercent = b.slowStartFloorPercent;
    boolean ramps =
        !(b.strategy instanceof BuiltinStrategy) || ((BuiltinStrategy) b.strategy).ramps();
    // Ramping strategies see weights x100 while slow start is on, so a ramp moves in 1% steps.
    this.weightScale = slowStartNanos > 0 && ramps ? 100 : 1;
    this.origin = ticker.nanoTime();
    BuiltinStrategy builtin =
        b.strategy instanceof BuiltinStrategy ? (BuiltinStrategy) b.strategy : null;
    LongAdder total = new LongAdder();
    this.totalInFlight = builtin != null && builtin.tracksTotalInFlight() ? total : null;
    this.latencyTracking = builtin != null ? builtin.latencyTracking() : null;
    // Custom strategies may read in-flight counts: give them exact ones.
    this.exactInFlight = builtin == null || builtin.readsInFlight();
    this.pickerFactory =
        b.strategy.newPickerFactory(new BalancerContext(b.name, b.seed, b.ticker, total));
    this.picker = new SnapshotPicker(List.of(), null, NO_ENDPOINTS);
  }

  /**
   * Starts the source and timers. A source that cannot start (one already serving another balancer,
   * say) fails the build: the balancer is closed and the source's exception thrown.
   */
  void start() {
    RuntimeException[] failed = new RuntimeException[1];
    // The executor is new and idle: the task runs on this thread before execute() returns.
    serialExecutor.execute(
        () -> {
          try {
            source.start(update -> serialExecutor.execute(() -> onUpdate(update)));
          } catch (RuntimeException e) {
            failed[0] = e;
            return;
          }
          if (outlier != null
              && (outlier.failureRateThreshold() > 0 || outlier.slowCallRateThreshold() > 0)) {
            scheduleSweep();
          }
        });
    if (failed[0] != null) {
      sourceStarted = false; // not this balancer's to close: it may serve another one
      close();
      throw failed[0];
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
  public <T> T execute(PickContext context, EndpointCall<T> call) throws Exception {
    retrier.recordCall();
    PickContext attempt = context;
    Throwable previous = null;
    for (int attemptNumber = 1; ; attemptNumber++) {
      PickResult result = pick(attempt);
      if (!result.isAvailable() && attemptNumber == 1 && selectionTimeoutNanos > 0 && !closed) {
        // Start-up: wait for discovery's first answer, then try once more; the second pick's
        // reason also names what went wrong meanwhile (a discovery error, say).
        ready.await(selectionTimeoutNanos, TimeUnit.NANOSECONDS);
        result = pick(attempt);
      }
      if (!result.isAvailable()) {
        NoEndpointAvailableException e =
            new NoEndpointAvailableException(name, result.reason(), lastDiscoveryError);
        if (previous == null) {
          throw e;
        }
        // Every endpoint has been tried: the last attempt's failure is the call's.
        previous.addSuppressed(e);
        throw sneaky(previous);
      }
      Endpoint endpoint = result.endpoint();
      CallHandle handle = result.handle();
      long start = ticker.nanoTime();
      CallFailure failure;
      Throwable thrown;
      try {
        T value = call.call(endpoint);
        handle.onSuccess(ticker.nanoTime() - start);
        return value;
      } catch (Throwable t) {
        if (t instanceof InterruptedException
            || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
          // The caller gave up: says nothing about the endpoint.
          handle.onCancel();
          throw t;
        }
        CallFailure classified = classify(t);
        if (classified == null) {
          // The application's answer (a constraint violation, say): the endpoint did its job.
          handle.onSuccess(ticker.nanoTime() - start);
          throw t;
        }
        failure = classified;
        handle.onFailure(failure, ticker.nanoTime() - start);
        thrown = t;
      }
      if (previous != null) {
        thrown.addSuppressed(previous);
      }
      long delay =
          retrier.retryDelayNanos(
              attemptNumber, failure, retrier.policy().retryPossiblyProcessed(), -1);
      if (delay == Retrier.NO_RETRY) {
        throw sneaky(thrown);
      }
      if (delay > 0) {
        sleeper.sleep(delay, () -> closed);
      }
      previous = thrown;
      attempt = attempt.withTried(endpoint);
    }
  }

  /** Classifies an exception from a call with the user's classifier; null: not a failure. */
  private @Nullable CallFailure classify(Throwable t) {
    try {
      return failureClassifier.classify(t);
    } catch (RuntimeException e) {
      logger.warn("[{}] failure classifier {} threw", name, failureClassifier, e);
      return CallFailure.classify(t);
    }
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E sneaky(Throwable t) throws E {
    throw (E) t;
  }

  @Override
  public List<Endpoint> endpoints() {
    return endpoints;
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
    Picker closedPicker =
        new SnapshotPicker(List.of(), null, "LoadBalancer '" + name + "' is closed");
    picker = closedPicker;
    serialExecutor.execute(
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
          for (EndpointState state : states.values()) {
            closeWatch(state);
            cancelEjectionTimer(state);
          }
          if (sweepTimer != null) {
            sweepTimer.cancel(false);
            sweepTimer = null;
          }
          if (rampTimer != null) {
            rampTimer.cancel(false);
            rampTimer = null;
          }
          if (healthChecks != null && ownsHealthChecks) {
            healthChecks.close();
          }
          if (sharedTimer != null) {
            sharedTimer = null; // this balancer's timers are cancelled above
            SharedTimer.release();
          }
          states = Map.of();
          logger.info("[{}] closed", name);
          closeDone.countDown();
        });
    awaitClose();
  }

  /**
   * Waits until the close task ran: it is queued behind a change another thread may be applying
   * right now, and close() promises sources, timers and threads released when it returns. Not from
   * inside the control loop (a listener that closes the balancer), where it runs right after the
   * current task.
   */
  private void awaitClose() {
    if (serialExecutor.isRunningOnCurrentThread()) {
      return;
    }
    boolean interrupted = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (closeDone.getCount() > 0) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        logger.warn("[{}] close() gave up waiting 10 s for the control loop", name);
        break;
      }
      try {
        closeDone.await(left, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Returns the scheduler for timers: the user's, or the JVM's shared timer thread, taken on first
   * use and given back on close. Serial only.
   */
  ScheduledExecutorService scheduler() {
    if (userScheduler != null) {
      return userScheduler;
    }
    ScheduledExecutorService shared = sharedTimer;
    if (shared == null) {
      if (closed) {
        throw new IllegalStateException("LoadBalancer '" + name + "' is closed");
      }
      sharedTimer = shared = SharedTimer.acquire();
    }
    return shared;
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

  // ---- control loop ----

  private void onUpdate(EndpointUpdate update) {
    if (closed) {
      return;
    }
    if (update.isError()) {
      discoveryFailed(update.error().orElseThrow());
      return;
    }
    List<Endpoint> next = canonical(update.endpoints());
    if (next.isEmpty() && !states.isEmpty() && !acceptEmptyUpdates) {
      discoveryFailed(
          new IllegalStateException(
              "discovery returned no endpoints; keeping the last " + states.size()));
      return;
    }
    if (degraded) {
      degraded = false;
      logger.info("[{}] discovery recovered: {} endpoints", name, next.size());
    }
    lastDiscoveryError = null;
    if (next.equals(endpoints)) {
      return;
    }
    Map<String, EndpointState> previous = states;
    Map<String, EndpointState> reconciled = new LinkedHashMap<>();
    int added = 0;
    for (Endpoint e : next) {
      EndpointState state = previous.get(e.key());
      if (state == null) {
        state = newState(e);
        added++;
      } else {
        state.setEndpoint(e);
      }
      reconciled.put(e.key(), state);
    }
    if (slowStartNanos > 0 && added < next.size()) {
      long now = ticker.nanoTime();
      for (EndpointState state : reconciled.values()) {
        if (!previous.containsKey(state.key())) {
          state.control.rampStartNanos = now; // joins a running set: ramp up
        }
      }
    }
    publish(reconciled);
    states = reconciled;
    endpoints = next;
    if (!next.isEmpty()) {
      ready.countDown();
    }
    int removed = 0;
    for (Map.Entry<String, EndpointState> e : previous.entrySet()) {
      if (!reconciled.containsKey(e.getKey())) {
        removed++;
        closeWatch(e.getValue()); // after publishing: probes stop the moment it is gone
        cancelEjectionTimer(e.getValue());
      }
    }
    if (outlier != null) {
      retryRefusedEjections(); // the cap is a share of the listed endpoints, which changed
    }
    logger.info(
        "[{}] endpoints updated: {} added, {} removed, {} total",
        name,
        added,
        removed,
        next.size());
    notifyListener(() -> eventListener.endpointsUpdated(name, next));
  }

  private EndpointState newState(Endpoint e) {
    EndpointState state =
        new EndpointState(
            e,
            maxInFlight,
            exactInFlight,
            totalInFlight,
            latencyTracking,
            ticker,
            origin,
            outlier,
            outlier != null ? outlierSignals : null);
    HealthCheckService service = healthChecks;
    if (service != null) {
      HealthCheckService.Watch watch =
          service.watch(
              e,
              (up, changed, result) -> serialExecutor.execute(() -> onHealth(state, up, result)));
      state.control.watch = watch;
      state.control.healthy = watch.isUp();
      if (!state.control.healthy) {
        String last = watch.lastFailure();
        state.control.awaitingFirstCheck = last.isEmpty();
        state.control.healthReason = last.isEmpty() ? "not checked yet" : "check failed: " + last;
      }
    }
    return state;
  }

  private void closeWatch(EndpointState state) {
    HealthCheckService.Watch w = state.control.watch;
    if (w != null) {
      state.control.watch = null;
      w.close();
    }
  }

  /** A probe result for {@code state}; control loop. */
  private void onHealth(EndpointState state, boolean up, HealthCheckResult result) {
    if (closed || states.get(state.key()) != state) {
      return; // removed meanwhile
    }
    boolean firstResult = state.control.awaitingFirstCheck;
    state.control.awaitingFirstCheck = false;
    if (state.control.ejected) {
      // HAProxy's rise: one passing probe does not outweigh the calls that failed.
      int rise = healthChecks.config().rise();
      state.control.passesWhileEjected =
          result.isHealthy() ? state.control.passesWhileEjected + 1 : 0;
      if (state.control.passesWhileEjected >= rise) {
        endEjection(state, rise + (rise == 1 ? " health check" : " health checks") + " passed");
      }
    }
    if (up == state.control.healthy) {
      if (firstResult) {
        state.control.healthReason = "check failed: " + result.reason();
        publish(states); // now a panic candidate
      }
      return;
    }
    state.control.healthy = up;
    state.control.healthReason = up ? "" : "check failed: " + result.reason();
    if (up) {
      startRamp(state);
    }
    if (up) {
      logger.info("[{}] {} is healthy again", name, state.endpoint());
    } else {
      logger.warn("[{}] {} is unhealthy: {}", name, state.endpoint(), state.control.healthReason);
    }
    publish(states);
    Endpoint endpoint = state.endpoint();
    EndpointSnapshot.State newState =
        up ? EndpointSnapshot.State.READY : EndpointSnapshot.State.UNHEALTHY;
    String reason = state.control.healthReason;
    notifyListener(() -> eventListener.endpointStateChanged(name, endpoint, newState, reason));
  }

  @Override
  public List<EndpointSnapshot> snapshot() {
    List<EndpointState> list = stateList;
    List<EndpointSnapshot> out = new ArrayList<>(list.size());
    for (EndpointState s : list) {
      EndpointSnapshot.State state;
      String reason = "";
      double effectiveWeight = s.baseWeight() * s.control.rampFactor;
      if (s.control.draining || s.baseWeight() == 0) {
        state = EndpointSnapshot.State.DRAINING;
        reason = s.control.draining ? "drained by the application" : "weight 0";
        effectiveWeight = 0;
      } else if (s.control.ejected) {
        state = EndpointSnapshot.State.EJECTED;
        reason = s.control.ejectionReason;
        effectiveWeight = 0;
      } else if (!s.control.healthy) {
        state = EndpointSnapshot.State.UNHEALTHY;
        reason = s.control.healthReason;
        effectiveWeight = 0;
      } else if (s.atLimit()) {
        state = EndpointSnapshot.State.AT_LIMIT;
        reason = "at in-flight limit " + maxInFlight;
      } else if (s.control.rampFactor < 1) {
        state = EndpointSnapshot.State.RAMPING;
        reason =
            "slow start: "
                + Math.round(s.control.rampFactor * 100)
                + "% of weight, "
                + Math.round(slowStartNanos / 1e9)
                + " s window";
      } else {
        state = EndpointSnapshot.State.READY;
      }
      String refused = s.control.refusedEjection;
      if (!refused.isEmpty() && !s.control.ejected) {
        reason = reason.isEmpty() ? refused : reason + "; " + refused;
      }
      out.add(
          EndpointSnapshot.builder(s.endpoint(), state)
              .reason(reason)
              .effectiveWeight(effectiveWeight)
              .inFlight(s.inFlight())
              .counters(s.successes(), s.failures())
              .build());
    }
    return out;
  }

  /**
   * Once per outage: one WARN when discovery starts failing, DEBUG while it goes on, one INFO when
   * it recovers (in onUpdate). Discovery errors are expected network trouble: their stack traces go
   * to DEBUG only.
   */
  private void discoveryFailed(Throwable error) {
    lastDiscoveryError = error;
    if (!degraded) {
      degraded = true;
      if (states.isEmpty()) {
        logger.warn("[{}] discovery failed, no endpoints known yet: {}", name, error.toString());
      } else {
        logger.warn(
            "[{}] discovery failed; keeping the last {} endpoints: {}",
            name,
            states.size(),
            error.toString());
      }
      logger.debug("[{}] discovery error", name, error);
    } else {
      logger.debug("[{}] discovery still failing: {}", name, error.toString());
    }
    notifyListener(() -> eventListener.discoveryFailed(name, error));
  }

  private void publish(Map<String, EndpointState> reconciled) {
    long now = ticker.nanoTime();
    boolean ramping = false;
    TreeMap<Integer, List<EndpointState>> tiers = new TreeMap<>();
    for (EndpointState s : reconciled.values()) {
      double factor = rampFactor(s, now);
      ramping |= factor < 1;
      s.control.rampFactor = factor;
      int base = s.baseWeight();
      s.effectiveWeight =
          weightScale == 1 ? base : (int) Math.max(1, Math.round(base * weightScale * factor));
      if (base > 0 && !s.control.draining) {
        tiers.computeIfAbsent(s.endpoint().priority(), p -> new ArrayList<>()).add(s);
      }
    }
    if (ramping && rampTimer == null) {
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
                  Math.max(slowStartNanos / 20, 1),
                  TimeUnit.NANOSECONDS);
    }
    List<Picker> pickers = new ArrayList<>(tiers.size());
    if (tierSpillover) {
      publishSpillover(reconciled, tiers);
      return;
    }
    boolean serving = false;
    String panicReason = null;
    for (Map.Entry<Integer, List<EndpointState>> tier : tiers.entrySet()) {
      List<EndpointState> listed = tier.getValue();
      List<EndpointView> usable = usable(listed);
      if (usable.isEmpty()) {
        continue;
      }
      if (!serving) {
        serving = true;
        if ((long) usable.size() * 100 < (long) panicThreshold * listed.size()) {
          panicReason =
              usable.size()
                  + " of "
                  + listed.size()
                  + " endpoints usable in tier "
                  + tier.getKey()
                  + ", below the panic threshold of "
                  + panicThreshold
                  + "%";
          if (failFastInPanic) {
            break;
          }
          addPicker(pickers, panicCandidates(listed));
          continue;
        }
      }
      addPicker(pickers, usable);
    }
    if (!serving && !tiers.isEmpty() && panicThreshold > 0) {
      Map.Entry<Integer, List<EndpointState>> first = tiers.firstEntry();
      List<EndpointView> candidates = panicCandidates(first.getValue());
      if (!candidates.isEmpty()) {
        panicReason = "no usable endpoint in any tier";
        if (!failFastInPanic) {
          addPicker(pickers, candidates);
        }
      }
    }
    finishPublish(reconciled, pickers, null, panicReason);
  }

  /** Publishes the snapshot built from {@code pickers}: one volatile write, then bookkeeping. */
  private void finishPublish(
      Map<String, EndpointState> reconciled,
      List<Picker> pickers,
      int @Nullable [] cumulativeLoad,
      @Nullable String panicReason) {
    picker =
        new SnapshotPicker(pickers, cumulativeLoad, reconciled.isEmpty() ? NO_ENDPOINTS : null);
    stateList = List.copyOf(reconciled.values());
    publications++;
    updatePanic(panicReason);
  }

  /** The endpoints of a tier that may be picked: healthy and not ejected. */
  private static List<EndpointView> usable(List<EndpointState> listed) {
    List<EndpointView> usable = new ArrayList<>(listed.size());
    for (EndpointState s : listed) {
      if (s.control.healthy && !s.control.ejected) {
        usable.add(s);
      }
    }
    return usable;
  }

  /*
   * Envoy's priority load: tier i's health is min(100, 140 x usable_i / listed_i) percent; tiers
   * take min(health_i, what earlier tiers left) in order, and the loads are scaled up to 100 when
   * their sum is lower. Below the panic threshold of combined health, the first tier is picked
   * over all its endpoints.
   */
  private void publishSpillover(
      Map<String, EndpointState> reconciled, TreeMap<Integer, List<EndpointState>> tiers) {
    List<Picker> pickers = new ArrayList<>();
    List<Integer> loads = new ArrayList<>();
    int assigned = 0;
    for (List<EndpointState> listed : tiers.values()) {
      List<EndpointView> usable = usable(listed);
      if (usable.isEmpty()) {
        continue;
      }
      int health = (int) Math.min(100, 140L * usable.size() / listed.size());
      int load = Math.min(health, 100 - assigned);
      assigned += load;
      int before = pickers.size();
      addPicker(pickers, usable);
      if (pickers.size() > before) {
        loads.add(load);
      }
    }
    String panicReason = null;
    if (!tiers.isEmpty() && assigned < panicThreshold) {
      panicReason =
          "combined tier health "
              + assigned
              + "%, below the panic threshold of "
              + panicThreshold
              + "%";
      pickers.clear();
      loads.clear();
      if (!failFastInPanic) {
        addPicker(pickers, panicCandidates(tiers.firstEntry().getValue()));
      }
    }
    int[] cumulative = null;
    if (pickers.size() > 1 && loads.size() == pickers.size()) {
      int total = 0;
      for (int l : loads) {
        total += l;
      }
      cumulative = new int[loads.size()];
      int running = 0;
      for (int i = 0; i < loads.size(); i++) {
        running += total == 0 ? 0 : (int) (10_000L * loads.get(i) / total);
        cumulative[i] = running;
      }
      cumulative[cumulative.length - 1] = 10_000;
    }
    finishPublish(reconciled, pickers, cumulative, panicReason);
  }

  /** Returns the slow-start factor of {@code s} now, ending its ramp when the window is over. */
  private double rampFactor(EndpointState s, long now) {
    if (s.control.rampStartNanos == Long.MIN_VALUE || weightScale == 1) {
      return 1;
    }
    long elapsed = now - s.control.rampStartNanos;
    if (elapsed >= slowStartNanos) {
      s.control.rampStartNanos = Long.MIN_VALUE;
      return 1;
    }
    return Math.max(slowStartFloorPercent / 100.0, (double) elapsed / slowStartNanos);
  }

  private void startRamp(EndpointState s) {
    if (slowStartNanos > 0) {
      s.control.rampStartNanos = ticker.nanoTime();
    }
  }

  // ---- runtime drain and weight (any thread; applied on the control loop) ----

  @Override
  public void drain(String endpointKey) {
    requireCurrent(endpointKey);
    serialExecutor.execute(() -> setDraining(endpointKey, true));
  }

  @Override
  public void resume(String endpointKey) {
    requireCurrent(endpointKey);
    serialExecutor.execute(() -> setDraining(endpointKey, false));
  }

  @Override
  public void setWeight(String endpointKey, int weight) {
    if (weight < -1 || weight > Endpoint.MAX_WEIGHT) {
      throw new IllegalArgumentException(
          "weight: " + weight + " (expected: -1..1000000, -1 = discovery's weight)");
    }
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
    Endpoint endpoint = state.endpoint();
    EndpointSnapshot.State newState =
        draining ? EndpointSnapshot.State.DRAINING : EndpointSnapshot.State.READY;
    String reason = draining ? "drained by the application" : "";
    notifyListener(() -> eventListener.endpointStateChanged(name, endpoint, newState, reason));
  }

  /**
   * The endpoints panic spreads over: all listed, except those never checked yet, and except those
   * outlier detection ejected while any other is left. Panic distrusts the active checks (a wrong
   * check port fails them all); an ejection is what real calls showed, so it still counts.
   */
  private static List<EndpointView> panicCandidates(List<EndpointState> listed) {
    List<EndpointView> out = new ArrayList<>(listed.size());
    List<EndpointView> ejected = new ArrayList<>();
    for (EndpointState s : listed) {
      if (!s.control.awaitingFirstCheck) {
        (s.control.ejected ? ejected : out).add(s);
      }
    }
    return out.isEmpty() ? ejected : out;
  }

  private void addPicker(List<Picker> pickers, List<? extends EndpointView> tier) {
    if (tier.isEmpty()) {
      return;
    }
    try {
      pickers.add(pickerFactory.newPicker(List.copyOf(tier)));
    } catch (RuntimeException e) {
      logger.error("[{}] strategy {} failed to build a picker", name, pickerFactory, e);
    }
  }

  private void updatePanic(@Nullable String reason) {
    boolean now = reason != null;
    if (now == inPanic) {
      return;
    }
    inPanic = now;
    if (now) {
      logger.warn(
          "[{}] panic: {}; {}",
          name,
          reason,
          failFastInPanic ? "failing picks" : "spreading picks over all endpoints");
    } else {
      logger.info("[{}] panic over", name);
    }
    String r = now ? reason : "";
    notifyListener(() -> eventListener.panicChanged(name, now, r));
  }

  // ---- outlier detection (control loop) ----

  private boolean isCurrent(EndpointState state) {
    return !closed && states.get(state.key()) == state;
  }

  private void onConsecutiveFailures(EndpointState state) {
    if (!isCurrent(state) || state.probation) {
      return;
    }
    if (state.control.ejected) {
      state.setTrialPermits(-1); // calls that were in flight failed: nothing more to hold back
      return;
    }
    int n = state.consecutiveFailures();
    if (n < outlier.consecutiveFailures()) {
      state.setTrialPermits(-1); // a success came in meanwhile: picks may go to it again
      return;
    }
    eject(state, n + " consecutive " + describe(state.lastCountedFailure()));
  }

  /** A success ended the failures an ejection was refused for. */
  private void clearRefusedEjection(EndpointState state) {
    if (isCurrent(state) && !state.control.refusedEjection.isEmpty()) {
      logger.info("[{}] {} answers again; its failures stopped", name, state.endpoint());
      state.control.refusedEjection = "";
    }
  }

  /** Ejects endpoints the cap refused while they still fail, now that the cap may have room. */
  private void retryRefusedEjections() {
    for (EndpointState s : states.values()) {
      if (!s.control.ejected
          && !s.probation
          && !s.control.refusedEjection.isEmpty()
          && s.consecutiveFailures() > 0) {
        eject(s, s.control.refusedWhy);
      }
    }
  }

  private static String describe(@Nullable CallFailure failure) {
    if (failure == null) {
      return "failures";
    }
    switch (failure.kind()) {
      case NOT_SENT:
        return "connect failures";
      case RESPONSE_STATUS:
        return "5xx responses";
      default:
        return "failures";
    }
  }

  private void scheduleSweep() {
    long nanos = outlier.interval().toNanos();
    sweepTimer =
        scheduler()
            .schedule(() -> serialExecutor.execute(this::sweep), nanos, TimeUnit.NANOSECONDS);
  }

  /** Every interval: eject endpoints whose failure rate over the interval is too high. */
  private void sweep() {
    if (closed) {
      return;
    }
    for (EndpointState state : states.values()) {
      long ok = state.successes();
      long failed = state.countedFailures();
      long calls = (ok - state.control.sweepSuccesses) + (failed - state.control.sweepFailures);
      long failedNow = failed - state.control.sweepFailures;
      long okNow = ok - state.control.sweepSuccesses;
      long slow = state.slowCalls();
      long slowNow = slow - state.control.sweepSlowCalls;
      state.control.sweepSuccesses = ok;
      state.control.sweepFailures = failed;
      state.control.sweepSlowCalls = slow;
      if (state.control.ejected || state.probation) {
        continue;
      }
      if (failedNow == 0 && !state.control.refusedEjection.isEmpty()) {
        state.control.refusedEjection = ""; // a whole interval without a counted failure
      }
      int slowThreshold = outlier.slowCallRateThreshold();
      if (slowThreshold > 0
          && okNow >= outlier.minimumCalls()
          && slowNow * 100 >= (long) slowThreshold * okNow) {
        eject(
            state,
            (slowNow * 100 / okNow)
                + "% of "
                + okNow
                + " calls took "
                + outlier.slowCallDuration().toMillis()
                + " ms or longer in "
                + outlier.interval().toSeconds()
                + " s");
        continue;
      }
      if (outlier.failureRateThreshold() == 0 || calls < outlier.minimumCalls()) {
        continue;
      }
      if (failedNow * 100 >= (long) outlier.failureRateThreshold() * calls) {
        eject(
            state,
            (failedNow * 100 / calls)
                + "% of "
                + calls
                + " calls failed in "
                + outlier.interval().toSeconds()
                + " s");
      }
    }
    scheduleSweep();
  }

  private void eject(EndpointState state, String why) {
    int ejectedNow = 0;
    for (EndpointState s : states.values()) {
      ejectedNow += s.control.ejected ? 1 : 0;
    }
    int allowed = outlier.maxEjected(states.size());
    if (ejectedNow >= allowed) {
      String refused =
          "failing ("
              + why
              + "), not ejected: "
              + ejectedNow
              + " of "
              + states.size()
              + " endpoints already ejected, the most maxEjectionPercent "
              + outlier.maxEjectionPercent()
              + " allows";
      boolean first = state.control.refusedEjection.isEmpty();
      state.control.refusedEjection = refused;
      if (!state.probation) {
        state.setTrialPermits(-1); // held back by the failure that asked: let picks through again
      }
      state.control.refusedWhy = why;
      if (first) {
        logger.warn("[{}] {} {}", name, state.endpoint(), refused);
      } else {
        logger.debug("[{}] {} {}", name, state.endpoint(), refused);
      }
      return;
    }
    long now = ticker.nanoTime();
    if (state.control.ejections > 0
        && now - state.control.lastRestoredNanos > outlier.maxEjectionTime().toNanos()) {
      state.control.ejections = 0; // well behaved for a long while: start the backoff over
    }
    state.control.ejections++;
    // Resilience4j's exponential interval, jittered +-20% from the balancer's seed (its own
    // random variant draws from Math.random, which a seeded test cannot repeat).
    long millis =
        Math.min(
            Math.round(
                ejectionBackoff.apply(state.control.ejections)
                    * (0.8 + 0.4 * controlRandom.nextDouble())),
            outlier.maxEjectionTime().toMillis());
    state.control.ejected = true;
    state.control.refusedEjection = "";
    state.control.passesWhileEjected = 0;
    state.probation = false;
    state.control.ejectionReason =
        "ejected: " + why + ", for " + Math.round(millis / 1000.0) + " s";
    state.resetConsecutiveFailures();
    cancelEjectionTimer(state);
    state.control.ejectionTimer =
        scheduler()
            .schedule(
                () -> serialExecutor.execute(() -> endEjection(state, "ejection time over")),
                millis,
                TimeUnit.MILLISECONDS);
    logger.warn("[{}] {} {}", name, state.endpoint(), state.control.ejectionReason);
    publish(states);
    // Only now, with a snapshot without it published: picks held back since the run of failures
    // reached the threshold could otherwise slip through the old snapshot meanwhile. (Panic may
    // still pick an ejected endpoint: it must not stay held back.)
    state.setTrialPermits(-1);
    Endpoint endpoint = state.endpoint();
    String reason = state.control.ejectionReason;
    notifyListener(
        () ->
            eventListener.endpointStateChanged(
                name, endpoint, EndpointSnapshot.State.EJECTED, reason));
  }

  /** The ejection time is over, or health checks passed: let trial calls through. */
  private void endEjection(EndpointState state, String why) {
    if (!isCurrent(state) || !state.control.ejected) {
      return;
    }
    cancelEjectionTimer(state);
    state.control.ejected = false;
    state.control.ejectionReason = "";
    state.control.trialSuccesses = 0;
    state.probation = true;
    state.setTrialPermits(outlier.trialCalls());
    startRamp(state);
    logger.info(
        "[{}] {} ejection over ({}); letting {} trial calls through",
        name,
        state.endpoint(),
        why,
        outlier.trialCalls());
    publish(states);
    retryRefusedEjections();
    Endpoint endpoint = state.endpoint();
    notifyListener(
        () ->
            eventListener.endpointStateChanged(
                name, endpoint, EndpointSnapshot.State.READY, "trial calls after ejection"));
  }

  private void onTrialOutcome(EndpointState state, boolean success) {
    if (!isCurrent(state) || !state.probation) {
      return;
    }
    if (!success) {
      state.probation = false;
      state.setTrialPermits(-1);
      eject(state, "a trial call failed after ejection");
      return;
    }
    if (++state.control.trialSuccesses >= outlier.trialCalls()) {
      state.probation = false;
      state.setTrialPermits(-1);
      state.control.lastRestoredNanos = ticker.nanoTime();
      logger.info("[{}] {} passed its trial calls", name, state.endpoint());
    }
  }

  private static void cancelEjectionTimer(EndpointState state) {
    ScheduledFuture<?> t = state.control.ejectionTimer;
    if (t != null) {
      state.control.ejectionTimer = null;
      t.cancel(false);
    }
  }

  private void notifyListener(Runnable call) {
    Listeners.notify(logger, name, eventListener, call);
  }

  /** Sorted by key; the first of several endpoints with one key wins. */
  static List<Endpoint> canonical(List<Endpoint> endpoints) {
    Map<String, Endpoint> byKey = new HashMap<>();
    for (Endpoint e : endpoints) {
      byKey.putIfAbsent(e.key(), e);
    }
    List<Endpoint> sorted = new ArrayList<>(byKey.values());
    sorted.sort(null);
    return List.copyOf(sorted);
  }

  /**
   * Explains a failed pick: {@code fixedReason} if the snapshot has one, else counts by state; with
   * the last discovery error. The failure path only.
   */
  private String describeFailure(PickContext context, @Nullable String fixedReason) {
    if (fixedReason != null) {
      Throwable error = lastDiscoveryError;
      return error != null ? fixedReason + "; last discovery error: " + error : fixedReason;
    }
    int total = 0;
    int tried = 0;
    int atLimit = 0;
    int zeroWeight = 0;
    int unhealthy = 0;
    int ejected = 0;
    for (EndpointState state : stateList) {
      total++;
      if (state.baseWeight() == 0 || state.control.draining) {
        zeroWeight++;
      } else if (state.control.ejected) {
        ejected++;
      } else if (!state.control.healthy) {
        unhealthy++;
      } else if (context.isTried(state.endpoint())) {
        tried++;
      } else if (state.atLimit()) {
        atLimit++;
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append("0 of ").append(total).append(" ready (");
    String sep = "";
    if (tried > 0) {
      sb.append(tried).append(" already tried");
      sep = ", ";
    }
    if (atLimit > 0) {
      sb.append(sep).append(atLimit).append(" at in-flight limit ").append(maxInFlight);
      sep = ", ";
    }
    if (ejected > 0) {
      sb.append(sep).append(ejected).append(" ejected");
      sep = ", ";
    }
    if (unhealthy > 0) {
      sb.append(sep).append(unhealthy).append(" unhealthy");
      sep = ", ";
    }
    if (zeroWeight > 0) {
      sb.append(sep).append(zeroWeight).append(" drained or with weight 0");
      sep = ", ";
    }
    if (sep.isEmpty()) {
      sb.append("none usable");
    }
    sb.append(')');
    Throwable error = lastDiscoveryError;
    if (error != null) {
      sb.append("; last discovery error: ").append(error);
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return "LoadBalancer{" + name + ", " + endpoints.size() + " endpoints}";
  }

  /** The published snapshot: one picker per usable tier, in priority order. Immutable. */
  private final class SnapshotPicker implements Picker {
    private final Picker[] tiers;
    private final int @Nullable [] cumulativeLoad; // parts of 10,000 per tier, with spill-over
    private final @Nullable String fixedReason; // why nothing can be picked, if not by state

    SnapshotPicker(
        List<Picker> tiers, int @Nullable [] cumulativeLoad, @Nullable String fixedReason) {
      this.tiers = tiers.toArray(new Picker[0]);
      this.cumulativeLoad = cumulativeLoad;
      this.fixedReason = fixedReason;
    }

    @Override
    public PickResult pick(PickContext context) {
      Picker[] t = tiers;
      int[] load = cumulativeLoad;
      if (load != null) {
        int draw = PerThread.nextInt(spilloverRandom.get(), 10_000);
        int first = 0;
        while (load[first] <= draw) {
          first++;
        }
        PickResult r = t[first].pick(context);
        if (r.isAvailable()) {
          return r;
        }
      }
      for (int i = 0; i < t.length; i++) {
        PickResult r = t[i].pick(context);
        if (r.isAvailable()) {
          return r;
        }
      }
      PickResult failed = PickResult.unavailable(describeFailure(context, fixedReason));
      try {
        eventListener.pickFailed(name, failed.reason());
      } catch (RuntimeException e) {
        logger.warn("[{}] event listener {} threw", name, eventListener, e);
      }
      return failed;
    }

    @Override
    public String toString() {
      return "SnapshotPicker" + Arrays.toString(tiers);
    }
  }
}
