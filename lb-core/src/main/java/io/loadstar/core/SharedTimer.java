package io.loadstar.core;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: gRPC-java's GrpcUtil.TIMER_SERVICE and Caffeine's systemScheduler() idea. Every
 * balancer built without a scheduler of its own shares one daemon timer thread. Its tasks only
 * post work to a balancer's control loop (which then runs on this thread, as it would on a
 * balancer's own timer), so one thread serves any number of balancers. The thread starts with the
 * first balancer that needs a timer and stops when the last of them is closed: a JVM whose
 * balancers are all closed runs no Loadstar timer thread.
 */
/** The timer thread balancers share when not given a scheduler. Thread-safe. */
final class SharedTimer {

  private static final Object lock = new Object();
  private static @Nullable ScheduledThreadPoolExecutor executor; // guarded by lock
  private static int users; // guarded by lock

  private SharedTimer() {}

  /** Returns the shared timer, starting it if needed; pair every call with one {@link #release}. */
  static ScheduledExecutorService acquire() {
    synchronized (lock) {
      ScheduledThreadPoolExecutor e = executor;
      if (e == null) {
        e =
            new ScheduledThreadPoolExecutor(
                1,
                r -> {
                  Thread thread = new Thread(r, "loadstar-timer");
                  thread.setDaemon(true);
                  return thread;
                });
        e.setRemoveOnCancelPolicy(true);
        executor = e;
      }
      users++;
      return e;
    }
  }

  /**
   * A user's scheduler, or the shared timer taken on first use and given back by {@link #close}.
   * Not thread-safe: one balancer's control loop uses it.
   */
  static final class Lease implements AutoCloseable {
    private final String owner;
    private final @Nullable ScheduledExecutorService user;
    private @Nullable ScheduledExecutorService shared;
    private boolean closed;

    Lease(String owner, @Nullable ScheduledExecutorService user) {
      this.owner = owner;
      this.user = user;
    }

    /**
     * Returns the scheduler for timers.
     *
     * @throws IllegalStateException if the lease was closed
     */
    ScheduledExecutorService get() {
      if (user != null) {
        return user;
      }
      ScheduledExecutorService s = shared;
      if (s == null) {
        if (closed) {
          throw new IllegalStateException("LoadBalancer '" + owner + "' is closed");
        }
        shared = s = acquire();
      }
      return s;
    }

    /** Gives the shared timer back, if it was taken; its holder's timers must be cancelled. */
    @Override
    public void close() {
      closed = true;
      if (shared != null) {
        shared = null;
        release();
      }
    }
  }

  /** Returns how many balancers hold the timer now; for tests. */
  static int users() {
    synchronized (lock) {
      return users;
    }
  }

  /** Gives back one {@link #acquire}; the last one stops the thread. */
  static void release() {
    ScheduledThreadPoolExecutor stop = null;
    synchronized (lock) {
      if (users > 0 && --users == 0) {
        stop = executor;
        executor = null;
      }
    }
    if (stop != null) {
      stop.shutdownNow();
    }
  }
}
