package io.loadstar.core;

import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SharedThreads;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/*
 * Design notes: System.nanoTime() costs ~28 ns on this machine (a VM's clock), more than the rest
 * of recording a call's latency. Peak EWMA needs the time of each sample only to decay its estimate
 * with a time constant of seconds, so a clock that is at most a millisecond behind will do: the
 * JVM's shared timer thread writes System.nanoTime() into a volatile every millisecond, and a read
 * is one volatile load of a line that changes a thousand times a second.
 *
 * It ticks only while used. A read marks the clock read (a write only on the first read after a
 * tick); a tick that finds it unread stops the ticking, and the next read restarts it (that read
 * takes System.nanoTime() itself and schedules the tick: the one allocation, after an idle
 * millisecond). States: STOPPED -> (read) READ -> (tick) UNREAD -> (read) READ or (tick) STOPPED.
 * The tick holds the JVM's shared threads while it runs and gives them back when it stops.
 */
/** A clock at most ~1 ms behind System.nanoTime(), for hot-path timestamps. Thread-safe. */
final class CoarseClock implements Ticker {

  static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private static final int STOPPED = 0;
  private static final int UNREAD = 1;
  private static final int READ = 2;
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(CoarseClock.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final CoarseClock INSTANCE = new CoarseClock();

  private volatile long now = System.nanoTime();
  private volatile int state = STOPPED;
  private SharedThreads.Lease threads; // guarded by this

  private CoarseClock() {}

  /** The JVM's coarse clock. */
  static CoarseClock get() {
    return INSTANCE;
  }

  /** Returns the time, at most about a millisecond behind {@link System#nanoTime()}. */
  @Override
  public long nanoTime() {
    int s = state;
    if (s == READ) {
      return now;
    }
    if (s == UNREAD && STATE.compareAndSet(this, UNREAD, READ)) {
      return now;
    }
    return restart();
  }

  /** Whether the clock is ticking now; for tests. */
  boolean isTicking() {
    return state != STOPPED;
  }

  private long restart() {
    long t = System.nanoTime();
    if (STATE.compareAndSet(this, STOPPED, READ)) {
      now = t;
      synchronized (this) {
        if (threads == null) {
          threads = SharedThreads.Lease.internal("CoarseClock");
        }
        threads.scheduler().schedule(this::tick, TICK_NANOS, TimeUnit.NANOSECONDS);
      }
      return t;
    }
    STATE.compareAndSet(this, UNREAD, READ); // ticking again meanwhile
    return t;
  }

  private void tick() {
    now = System.nanoTime();
    if (STATE.compareAndSet(this, READ, UNREAD)) {
      synchronized (this) {
        threads.scheduler().schedule(this::tick, TICK_NANOS, TimeUnit.NANOSECONDS);
      }
      return;
    }
    // Unread for a whole tick: stop, and let the shared threads go if nothing else holds them.
    synchronized (this) {
      if (STATE.compareAndSet(this, UNREAD, STOPPED)) {
        threads.close();
        threads = null;
      } else {
        threads.scheduler().schedule(this::tick, TICK_NANOS, TimeUnit.NANOSECONDS);
      }
    }
  }

  @Override
  public String toString() {
    return "CoarseClock{" + TICK_NANOS / 1_000_000 + " ms}";
  }
}
