package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.Picker;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/*
 * Design notes. Picks run on any thread and read one volatile field, `picker`, an immutable
 * snapshot. A change builds a new snapshot completely and then publishes it with one volatile
 * write, so a pick sees either the old or the new state, never a mix, and never waits for a
 * change. The parts ask for a rebuild through the RebuildPacer, which publishes once after the
 * task that asked, however many changes it made.
 *
 * Reconciliation: endpoints are matched by Endpoint.key(). A surviving endpoint keeps its
 * EndpointState (in-flight counts, latency estimate) even when its weight or attributes change; a
 * list equal to the current one (same endpoints, same attributes, after sorting and de-duplication)
 * publishes nothing. Removed states are dropped after the new snapshot is published, so calls in
 * flight on them still report into a live object.
 */
/**
 * A balancer's listed endpoints, their states, and the snapshot published from them: the discovery
 * pipeline's sink. Written on the control loop only; {@link #picker()}, {@link #endpoints()} and
 * {@link #current()} are read from any thread.
 */
final class EndpointTable implements DiscoveryPipeline.Sink {

  private final Ticker ticker;
  private final SnapshotBuilder snapshots;
  private final EndpointStateFactory stateFactory;
  private final @Nullable ActiveHealth health;
  private final @Nullable OutlierDetector outliers;
  private final @Nullable CanaryDriver canary;
  private final ServiceEvents events;
  private final CountDownLatch ready;

  private volatile Picker picker;
  private volatile List<Endpoint> endpoints = List.of();
  // The last published build: each endpoint's status, for snapshot(), explain() and subsetting.
  private volatile SnapshotBuilder.Snapshot current;
  private volatile boolean closed;

  // Control loop only.
  private Map<String, EndpointState> states = Map.of();
  private int publications;
  private final RebuildPacer rebuilds; // one publish per task, however many parts ask
  private final ControlTimer rampStep; // slow start: rebuilds while an endpoint ramps
  private final ControlTimer keyReturn; // sticky keys: rebuilds when an endpoint may take them back

  /**
   * A table with no endpoints yet; {@code ready} is counted down by the first list with any
   * endpoint in it.
   */
  EndpointTable(
      SerialExecutor controlLoop,
      Supplier<ScheduledExecutorService> scheduler,
      Ticker ticker,
      SnapshotBuilder snapshots,
      EndpointStateFactory stateFactory,
      @Nullable ActiveHealth health,
      @Nullable OutlierDetector outliers,
      @Nullable CanaryDriver canary,
      ServiceEvents events,
      CountDownLatch ready) {
    this.ticker = ticker;
    this.snapshots = snapshots;
    this.stateFactory = stateFactory;
    this.health = health;
    this.outliers = outliers;
    this.canary = canary;
    this.events = events;
    this.ready = ready;
    this.rebuilds = new RebuildPacer(controlLoop, this::publish);
    this.rampStep = new ControlTimer(scheduler, controlLoop, ticker, this::republish);
    this.keyReturn = new ControlTimer(scheduler, controlLoop, ticker, this::republish);
    this.current = snapshots.build(List.of(), ticker.nanoTime());
    this.picker = current.picker();
  }

  /** The published picker; any thread. */
  Picker picker() {
    return picker;
  }

  /** The listed endpoints; any thread. */
  List<Endpoint> endpoints() {
    return endpoints;
  }

  /** The last published build; any thread. */
  SnapshotBuilder.Snapshot current() {
    return current;
  }

  /** The pacer every rebuild goes through; control loop. */
  RebuildPacer rebuilds() {
    return rebuilds;
  }

  /** The listed states; control loop. */
  Collection<EndpointState> states() {
    return states.values();
  }

  /** The listed state of {@code key}, or null; control loop. */
  @Nullable EndpointState state(String key) {
    return states.get(key);
  }

  /** Whether {@code state} is the one listed under its key; control loop. */
  boolean isCurrent(EndpointState state) {
    return !closed && states.get(state.key()) == state;
  }

  /** How many snapshots were published; control loop. */
  int publications() {
    return publications;
  }

  /** Starts {@code state}'s slow-start ramp now, if slow start is on; control loop. */
  void startRamp(EndpointState state) {
    if (snapshots.settings().slowStartNanos() > 0) {
      state.routing.rampStartNanos = ticker.nanoTime();
    }
  }

  /**
   * Publishes {@code closedPicker} for good: later rebuilds publish nothing. Any thread; again on
   * the control loop, after a change that may have published since.
   */
  void closeWith(Picker closedPicker) {
    closed = true;
    picker = closedPicker;
  }

  /** Cancels the timers and forgets the states; control loop, after {@link #closeWith}. */
  void clear() {
    rampStep.cancel();
    keyReturn.cancel();
    states = Map.of();
  }

  /** Each listed endpoint's status in the last published build, as the caller sees it. */
  List<EndpointSnapshot> snapshot() {
    List<EndpointStatus> statuses = current.statuses();
    List<EndpointSnapshot> out = new ArrayList<>(statuses.size());
    long now = ticker.nanoTime();
    int maxInFlight = snapshots.settings().maxInFlight();
    for (EndpointStatus st : statuses) {
      out.add(st.snapshot(now, maxInFlight));
    }
    return out;
  }

  /** Makes {@code next} the listed endpoints: states kept by key, added, removed; publishes. */
  @Override
  public void reconcile(List<Endpoint> next) {
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
}
