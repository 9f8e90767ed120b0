package io.loadstar.core;

import io.loadstar.api.Ticker;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the balancer's parts wait for a time on the control loop in one pattern (slow
 * start's ramp steps, sticky keys' return, outlier detection's sweep and ejection times, the
 * canary's tick), written out by hand five times before. A timer is that pattern once: at most one
 * pending run, scheduled on the balancer's scheduler and run as a task of its control loop; a run
 * asked for sooner replaces a later one; cancel stops it. A scheduler task that fires after its
 * run was cancelled or replaced finds its generation out of date and does nothing, so a stale
 * timer never runs a part's task (a cancelled ScheduledFuture may already be running, or its
 * control-loop task queued).
 */
/** A cancellable timer whose task runs on the control loop. Control loop only. */
final class ControlTimer {

  private final Supplier<ScheduledExecutorService> scheduler;
  private final Executor controlLoop;
  private final Ticker ticker;
  private final Runnable task;
  private @Nullable ScheduledFuture<?> pending;
  private long dueNanos;
  private long generation;

  /**
   * A timer that runs {@code task} on {@code controlLoop}, scheduled on {@code scheduler} (asked on
   * first use: a balancer takes its shared timer lazily) by {@code ticker}'s time.
   */
  ControlTimer(
      Supplier<ScheduledExecutorService> scheduler,
      Executor controlLoop,
      Ticker ticker,
      Runnable task) {
    this.scheduler = scheduler;
    this.controlLoop = controlLoop;
    this.ticker = ticker;
    this.task = task;
  }

  /** Runs the task once {@code delayNanos} (at least 0) have passed, unless a run is due sooner. */
  void runAfter(long delayNanos) {
    long now = ticker.nanoTime();
    schedule(now, now + Math.max(0, delayNanos));
  }

  /** Runs the task at {@code atNanos} on the ticker (at once if past), unless due sooner. */
  void runAt(long atNanos) {
    schedule(ticker.nanoTime(), atNanos);
  }

  private void schedule(long now, long atNanos) {
    if (pending != null && dueNanos - atNanos <= 0) {
      return; // a run is due sooner, or then: it is the one asked for
    }
    cancel();
    long run = ++generation;
    dueNanos = atNanos;
    pending =
        scheduler
            .get()
            .schedule(
                () -> controlLoop.execute(() -> fire(run)),
                Math.max(0, atNanos - now),
                TimeUnit.NANOSECONDS);
  }

  /** Whether a run is pending. */
  boolean isPending() {
    return pending != null;
  }

  /** Cancels the pending run, if any. */
  void cancel() {
    generation++;
    ScheduledFuture<?> p = pending;
    if (p != null) {
      pending = null;
      p.cancel(false);
    }
  }

  private void fire(long run) {
    if (run != generation) {
      return; // cancelled or replaced after the scheduler started it
    }
    pending = null;
    task.run();
  }
}
