package io.loadstar.core;

import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: applies a SplitControl's split to one balancer. A change of the split (which
 * endpoints are the canary, or whether it falls back) rebuilds the snapshot on the control loop,
 * and SplitControl.set waits for it, so the next pick follows. The canary's share is not part of
 * the snapshot: picks read it from the builder's SplitState (one volatile read), so a ramp moves
 * it every second without rebuilding anything.
 *
 * Rollback judges both groups over the same recent window: once a second the endpoints' counters
 * are summed per group into a ring of WINDOW_SECONDS + 1 samples, and the window is the latest
 * counts minus the oldest sample. It is judged on the timer and, so that harm is bounded by
 * failures rather than by time or by a call count, on each canary failure: each canary endpoint
 * carries a failure tap (read only on the failure path) that queues one check on the control loop
 * unless one is queued already; the check sums the few canary endpoints afresh and takes the
 * stable group from the last sample (or sums it too, in the window's first second). The verdict
 * needs MIN_FAILURES canary failures and the lower end of the canary's 95% Wilson interval above
 * the upper end of the stable group's by the margin:
 * a canary failing everything is rolled back at its fifth failure, whatever the traffic, and a
 * small stable sample cannot make a lucky canary look bad. Outlier detection ejecting a canary
 * endpoint stops its calls, not the evidence: its failures stay in the window, and every canary
 * endpoint ejected while a stable one serves is a rollback of its own.
 *
 * A rollback goes through the SplitControl (the split in force becomes the same split at 0%, and
 * the other balancers using the control follow without anyone waiting), then an event, a metric
 * (through the event), a reason in snapshot() and explain(), and a rebuild, so sticky keys leave
 * the canary too.
 */
/** Drives one balancer's canary split: applies changes, advances ramps, rolls back. */
final class CanaryDriver implements SplitControl.Subscriber {

  /** The window both groups are judged over, in seconds. */
  static final int WINDOW_SECONDS = 30;

  /** The canary failures in the window a rollback needs at least. */
  static final int MIN_FAILURES = 5;

  private static final Logger logger = LoggerFactory.getLogger(CanaryDriver.class);
  private static final long TICK_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final double Z = 1.96; // 95%, two-sided

  private final SplitControl control;
  private final SnapshotBuilder snapshots;
  private final Ticker ticker;
  private final SerialExecutor loop;
  private final ControlTimer timer; // the next tick: sample, ramp, judge
  private final Supplier<Collection<EndpointState>> states;
  private final Runnable republish;
  private final ServiceEvents events;
  private final AtomicBoolean checkQueued = new AtomicBoolean();
  private final Runnable onCanaryFailure = this::canaryFailed;
  private final Runnable queuedCheck = this::checkAfterFailure;

  // Control loop only.
  private @Nullable TrafficSplit split;
  private long startNanos;
  private boolean closed;
  private EndpointState[] canary = new EndpointState[0];
  // Samples of {canary ok, canary failed, stable ok, stable failed}, cumulative, one per second.
  private final long[][] samples = new long[WINDOW_SECONDS + 1][];
  private int newest = -1; // index of the newest sample
  private int sampleCount;
  private volatile String rolledBack = "";

  CanaryDriver(SplitControl control, SnapshotBuilder snapshots, BalancerHost host) {
    this.control = control;
    this.snapshots = snapshots;
    this.ticker = host.ticker();
    this.loop = host.controlLoop();
    this.timer = new ControlTimer(host::scheduler, loop, ticker, this::tick);
    this.states = host::states;
    this.republish = host::republish;
    this.events = host.events();
  }

  /** Applies the control's split to the first build; control loop, before the first publish. */
  void start() {
    apply(control.inForce());
    control.subscribe(this);
  }

  void close() { // control loop
    closed = true;
    control.unsubscribe(this);
    timer.cancel();
    setTaps(List.of());
  }

  /** Why the split in force was rolled back, or empty; any thread. */
  String rolledBack() {
    return rolledBack;
  }

  /** The listed endpoints changed; control loop, after the new states are in place. */
  void listed() {
    TrafficSplit s = split;
    if (s == null || closed) {
      return;
    }
    List<EndpointState> now = canaryOf(s);
    if (!now.equals(Arrays.asList(canary))) {
      setTaps(now);
      restartWindow(); // an endpoint that changed group takes its history with it: start over
    }
  }

  /** An endpoint was ejected: a canary wholly ejected is rolled back; control loop. */
  void endpointEjected() {
    TrafficSplit s = split;
    if (s != null && !closed && judges(s)) {
      judge(s, false);
    }
  }

  @Override
  public void changed(Runnable applied) { // any thread: SplitControl.set, clear, another's rollback
    // From this balancer's own control loop (a listener calling set) the change can only run after
    // the current task: nobody may wait for it, so it counts as applied at once.
    boolean fromOwnLoop = loop.isRunningOnCurrentThread();
    loop.execute(
        () -> {
          try {
            if (!closed) {
              boolean wasRolledBack = !rolledBack.isEmpty();
              apply(control.inForce());
              if (!wasRolledBack && !rolledBack.isEmpty()) {
                events.canaryRolledBack(rolledBack); // another balancer of the control rolled back
              }
              republish.run();
            }
          } finally {
            if (!fromOwnLoop) {
              applied.run();
            }
          }
        });
    if (fromOwnLoop) {
      applied.run();
    }
  }

  @Override
  public String service() {
    return events.service();
  }

  private void apply(SplitControl.InForce inForce) {
    TrafficSplit s = inForce.split();
    split = s;
    rolledBack = inForce.rollbackReason();
    snapshots.split(s, rolledBack);
    timer.cancel();
    if (s == null) {
      snapshots.canaryShare().parts = 0;
      setTaps(List.of());
      return;
    }
    startNanos = ticker.nanoTime();
    share(s.percentAtNanos(0));
    setTaps(canaryOf(s));
    restartWindow();
    logger.info("[{}] traffic split: {}", events.service(), s);
    schedule();
  }

  private List<EndpointState> canaryOf(TrafficSplit s) {
    List<EndpointState> out = new ArrayList<>();
    for (EndpointState e : states.get()) {
      if (s.matches(e.endpoint())) {
        out.add(e);
      }
    }
    return out;
  }

  private void setTaps(List<EndpointState> next) {
    for (EndpointState e : canary) {
      e.failureTap = null;
    }
    canary = next.toArray(new EndpointState[0]);
    TrafficSplit s = split;
    if (s != null && s.rollsBack()) {
      for (EndpointState e : canary) {
        e.failureTap = onCanaryFailure;
      }
    }
  }

  private void restartWindow() {
    sampleCount = 0;
    newest = -1;
    sample();
  }

  private void sample() {
    newest = (newest + 1) % samples.length;
    samples[newest] = counts(true);
    sampleCount = Math.min(samples.length, sampleCount + 1);
  }

  /**
   * {canary ok, canary failed, stable ok, stable failed} now, summed from the endpoints' counters;
   * the stable group only if {@code withStable} (it is every endpoint but the few canary ones).
   */
  private long[] counts(boolean withStable) {
    long[] c = new long[4];
    for (EndpointState e : canary) {
      c[0] += e.successes();
      c[1] += e.failures();
    }
    if (withStable) {
      for (EndpointState e : states.get()) {
        c[2] += e.successes();
        c[3] += e.failures();
      }
      c[2] -= c[0];
      c[3] -= c[1];
    }
    return c;
  }

  private void schedule() {
    TrafficSplit s = split;
    if (s != null && (s.ramps() || judges(s)) && !closed) {
      timer.runAfter(TICK_NANOS);
    }
  }

  /** Whether there is something to roll back: a rollback rule, a share, and no rollback yet. */
  private boolean judges(TrafficSplit s) {
    return s.rollsBack() && rolledBack.isEmpty() && !s.isOff();
  }

  private void tick() { // control loop
    TrafficSplit s = split;
    if (s == null || closed) {
      return;
    }
    sample();
    if (s.ramps()) {
      share(s.percentAtNanos(ticker.nanoTime() - startNanos));
    }
    if (judges(s) && judge(s, true)) {
      return;
    }
    schedule();
  }

  /** A canary endpoint's call failed; any thread, on the failure path only. */
  private void canaryFailed() {
    if (checkQueued.compareAndSet(false, true)) {
      loop.handOff(queuedCheck); // one check queued at a time, a task made once
    }
  }

  /** The check a canary failure queued; control loop. */
  private void checkAfterFailure() {
    checkQueued.set(false);
    TrafficSplit s = split;
    if (s != null && !closed && judges(s)) {
      judge(s, false);
    }
  }

  /**
   * Rolls the canary back if the window shows it worse than the stable group, or every canary
   * endpoint is ejected; {@code fresh}: the newest sample was just taken for all endpoints.
   */
  private boolean judge(TrafficSplit s, boolean fresh) {
    long[] oldest = samples[sampleCount < samples.length ? 0 : (newest + 1) % samples.length];
    long[] now = samples[newest];
    if (!fresh) {
      // The few canary endpoints are summed afresh; the stable group comes from the last sample,
      // at most a second old, unless the window has none after its first (then it is summed too).
      long[] latest = now;
      now = counts(sampleCount == 1);
      if (sampleCount > 1) {
        now[2] = latest[2];
        now[3] = latest[3];
      }
    }
    // Endpoints that left took their counts with them: never below zero.
    String reason =
        verdict(
            Math.max(0, now[0] - oldest[0]),
            Math.max(0, now[1] - oldest[1]),
            Math.max(0, now[2] - oldest[2]),
            Math.max(0, now[3] - oldest[3]),
            s.rollbackMargin());
    if (reason == null) {
      reason = allEjected(s);
    }
    if (reason == null) {
      return false;
    }
    rollBack(s, reason);
    return true;
  }

  /** Why every canary endpoint is out while a stable one serves, or null. */
  private @Nullable String allEjected(TrafficSplit s) {
    if (canary.length == 0) {
      return null;
    }
    for (EndpointState e : canary) {
      if (!e.ejection.isEjected()) {
        return null;
      }
    }
    for (EndpointState e : states.get()) {
      if (!e.ejection.isEjected() && !s.matches(e.endpoint())) {
        return (canary.length == 1
                ? "its endpoint was ejected ("
                : "all " + canary.length + " of its endpoints were ejected (")
            + canary[0].ejection.reason()
            + ") while stable endpoints serve";
      }
    }
    return null;
  }

  /**
   * Why the canary must be rolled back, or null: at least MIN_FAILURES canary failures, and the
   * lower end of its error rate's 95% Wilson interval above the upper end of the stable group's by
   * more than {@code marginPoints}.
   */
  static @Nullable String verdict(
      long canaryOk, long canaryFailed, long stableOk, long stableFailed, double marginPoints) {
    if (canaryFailed < MIN_FAILURES) {
      return null;
    }
    long canaryCalls = canaryOk + canaryFailed;
    long stableCalls = stableOk + stableFailed;
    double canaryLow = wilson(canaryFailed, canaryCalls, -1);
    double stableHigh = stableCalls == 0 ? 1 : wilson(stableFailed, stableCalls, +1);
    if ((canaryLow - stableHigh) * 100 <= marginPoints) {
      return null;
    }
    return String.format(
        Locale.ROOT,
        "canary failed %d of %d calls (%.1f%%) in the last %d s, stable %d of %d (%.1f%%): worse by"
            + " more than %.1f percentage points at 95%% confidence",
        canaryFailed,
        canaryCalls,
        100.0 * canaryFailed / canaryCalls,
        WINDOW_SECONDS,
        stableFailed,
        stableCalls,
        stableCalls == 0 ? 0.0 : 100.0 * stableFailed / stableCalls,
        marginPoints);
  }

  /** The lower (sign -1) or upper (+1) end of the 95% Wilson score interval of k in n. */
  static double wilson(long k, long n, int sign) {
    double p = (double) k / n;
    double z2 = Z * Z;
    double center = p + z2 / (2.0 * n);
    double spread = Z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
    return Math.min(1, Math.max(0, (center + sign * spread) / (1 + z2 / n)));
  }

  private void rollBack(TrafficSplit s, String reason) {
    if (!control.rollBack(s, reason, this)) {
      return; // a new split was set meanwhile: it is on its way to this control loop
    }
    apply(control.inForce()); // the same split at 0%, with the reason
    events.canaryRolledBack(reason);
    republish.run(); // sticky keys leave the canary; explain() and snapshot() show the reason
  }

  private void share(double percent) {
    snapshots.canaryShare().parts = (int) Math.round(percent * 100);
  }
}
