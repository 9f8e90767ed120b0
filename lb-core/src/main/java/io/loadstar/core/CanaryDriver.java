package io.loadstar.core;

import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: applies a SplitControl's split to one balancer. A change of the split (which
 * endpoints are the canary, or whether it falls back) rebuilds the snapshot on the control loop,
 * and SplitControl.set waits for it, so the next pick follows. The canary's share is not part of
 * the snapshot: picks read it from the builder's SplitState (one volatile read), so a ramp moves
 * it every second and a rollback sets it to 0 without rebuilding anything. The rollback compares
 * error rates over the calls since the split was applied, from the endpoints' own counters.
 */
/** Drives one balancer's canary split: applies changes, advances ramps, rolls back. */
final class CanaryDriver {

  private static final Logger logger = LoggerFactory.getLogger(DefaultLoadBalancer.class);
  private static final long TICK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final SplitControl control;
  private final SnapshotBuilder snapshots;
  private final Ticker ticker;
  private final SerialExecutor loop;
  private final Supplier<ScheduledExecutorService> scheduler;
  private final Supplier<Collection<EndpointState>> states;
  private final Runnable republish;
  private final ServiceEvents events;
  private final Runnable onChange = this::changed;

  // Control loop only.
  private @Nullable TrafficSplit split;
  private long startNanos;
  private final long[] baseline = new long[4]; // canary ok, canary failed, stable ok, stable failed
  private @Nullable ScheduledFuture<?> timer;
  private boolean closed;
  private volatile String rolledBack = "";

  CanaryDriver(
      SplitControl control,
      SnapshotBuilder snapshots,
      Ticker ticker,
      SerialExecutor loop,
      Supplier<ScheduledExecutorService> scheduler,
      Supplier<Collection<EndpointState>> states,
      Runnable republish,
      ServiceEvents events) {
    this.control = control;
    this.snapshots = snapshots;
    this.ticker = ticker;
    this.loop = loop;
    this.scheduler = scheduler;
    this.states = states;
    this.republish = republish;
    this.events = events;
  }

  /** Applies the control's split to the first build; control loop, before the first publish. */
  void start() {
    apply(control.split());
    control.subscribe(onChange);
  }

  void close() { // control loop
    closed = true;
    control.unsubscribe(onChange);
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** The rollback's reason, for the canary endpoints' snapshot; empty if none. */
  String reason(EndpointState s) {
    TrafficSplit sp = split;
    String r = rolledBack;
    return !r.isEmpty() && sp != null && sp.matches(s.endpoint()) ? "canary rolled back: " + r : "";
  }

  private void changed() { // any thread: SplitControl.set or clear
    boolean done =
        loop.executeAndWait(
            () -> {
              if (!closed) {
                apply(control.split());
                republish.run();
              }
            },
            TimeUnit.SECONDS.toNanos(10));
    if (!done) {
      logger.warn("[{}] a new traffic split waited 10 s for the control loop", events.service());
    }
  }

  private void apply(@Nullable TrafficSplit s) {
    split = s;
    snapshots.split(s);
    rolledBack = "";
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (s == null) {
      snapshots.canaryShare().parts = 0;
      return;
    }
    startNanos = ticker.nanoTime();
    count(s, baseline);
    share(s.percentAtNanos(0));
    logger.info("[{}] traffic split: {}", events.service(), s);
    schedule();
  }

  private void schedule() {
    TrafficSplit s = split;
    if (s != null && (s.ramps() || s.rollsBack()) && !closed) {
      timer =
          scheduler
              .get()
              .schedule(() -> loop.execute(this::tick), TICK_NANOS, TimeUnit.NANOSECONDS);
    }
  }

  private void tick() { // control loop
    timer = null;
    TrafficSplit s = split;
    if (s == null || closed || !rolledBack.isEmpty()) {
      return;
    }
    if (s.ramps()) {
      share(s.percentAtNanos(ticker.nanoTime() - startNanos));
    }
    if (s.rollsBack() && rollBack(s)) {
      return;
    }
    schedule();
  }

  private boolean rollBack(TrafficSplit s) {
    long[] now = new long[4];
    count(s, now);
    // Endpoints that left the list took their counts with them: never below zero.
    long canaryOk = Math.max(0, now[0] - baseline[0]);
    long canaryFailed = Math.max(0, now[1] - baseline[1]);
    long stableOk = Math.max(0, now[2] - baseline[2]);
    long stableFailed = Math.max(0, now[3] - baseline[3]);
    long canaryCalls = canaryOk + canaryFailed;
    if (canaryCalls < s.rollbackMinCalls()) {
      return false;
    }
    double canaryRate = 100.0 * canaryFailed / canaryCalls;
    long stableCalls = stableOk + stableFailed;
    double stableRate = stableCalls == 0 ? 0 : 100.0 * stableFailed / stableCalls;
    if (canaryRate - stableRate <= s.rollbackMargin()) {
      return false;
    }
    String reason =
        String.format(
            Locale.ROOT,
            "canary error rate %.1f%% over %d calls vs stable %.1f%% over %d calls, more than %.1f"
                + " percentage points apart",
            canaryRate,
            canaryCalls,
            stableRate,
            stableCalls,
            s.rollbackMargin());
    rolledBack = reason;
    snapshots.canaryShare().parts = 0;
    events.canaryRolledBack(reason);
    return true;
  }

  private void count(TrafficSplit s, long[] into) {
    java.util.Arrays.fill(into, 0);
    for (EndpointState e : states.get()) {
      int base = s.matches(e.endpoint()) ? 0 : 2;
      into[base] += e.successes();
      into[base + 1] += e.failures();
    }
  }

  private void share(double percent) {
    snapshots.canaryShare().parts = (int) Math.round(percent * 100);
  }
}
