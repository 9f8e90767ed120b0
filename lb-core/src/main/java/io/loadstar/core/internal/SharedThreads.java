package io.loadstar.core.internal;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: gRPC-java's GrpcUtil.TIMER_SERVICE, Caffeine's systemScheduler() and OkHttp's one
 * TaskRunner. Every balancer, DNS source and health check service of a JVM that is not given
 * executors of its own shares two: one daemon timer thread ("loadstar-timer"), whose tasks only
 * hand work on (to a control loop or to the workers), and a small pool of daemon worker threads
 * ("loadstar-worker-N", at most WORKERS, idle ones ending after 10 s) for work that may block or
 * take a while: health probes, DNS answers. The probe concurrency of the JVM is bounded by the pool;
 * probes wait in its queue, each target at most once (a target's next probe is scheduled only
 * after its current one ended). Both start with the first user and stop when the last user is
 * closed: a JVM whose balancers are all closed runs no Loadstar thread. So 50 services on DNS with
 * active checks run on 1 + WORKERS threads, not on a hundred.
 */
/** The threads Loadstar's components share when not given their own. Thread-safe. Not API. */
public final class SharedThreads {

  /** The most worker threads. */
  public static final int WORKERS = 4;

  private static final Object lock = new Object();
  private static @Nullable Threads threads; // guarded by lock
  private static int users; // guarded by lock
  private static int internalUsers; // guarded by lock: Loadstar's own clock, not in users()

  private SharedThreads() {}

  /**
   * Returns how many leases of balancers, sources and health checks hold the shared threads now
   * (not Loadstar's own coarse clock, which lets them go a millisecond after its last read); for
   * tests.
   */
  public static int users() {
    synchronized (lock) {
      return users - internalUsers;
    }
  }

  /** The shared timer and workers. */
  private record Threads(
      ScheduledThreadPoolExecutor timer, ThreadPoolExecutor workers, ThreadPoolExecutor hedges) {}

  /** Takes a hold on the shared threads, starting them if needed. */
  private static Threads acquire(boolean internal) {
    synchronized (lock) {
      if (internal) {
        internalUsers++;
      }
      if (users++ == 0) {
        ScheduledThreadPoolExecutor t =
            new ScheduledThreadPoolExecutor(1, daemon("loadstar-timer", false));
        t.setRemoveOnCancelPolicy(true);
        ThreadPoolExecutor w =
            new ThreadPoolExecutor(
                WORKERS,
                WORKERS,
                10,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                daemon("loadstar-worker-", true));
        w.allowCoreThreadTimeOut(true); // without it the keep-alive time does nothing
        // Hedged attempts block on I/O as long as the client lets them: a thread each, made when
        // needed and ended after 10 s idle (a bounded pool would hold hedges back behind others).
        ThreadPoolExecutor h =
            new ThreadPoolExecutor(
                0,
                Integer.MAX_VALUE,
                10,
                TimeUnit.SECONDS,
                new SynchronousQueue<>(),
                daemon("loadstar-hedge-", true));
        threads = new Threads(t, w, h);
      }
      return threads;
    }
  }

  private static void release(boolean internal) {
    Threads stop = null;
    synchronized (lock) {
      if (internal) {
        internalUsers--;
      }
      if (users > 0 && --users == 0) {
        stop = threads;
        threads = null;
      }
    }
    if (stop != null) {
      stop.timer().shutdownNow();
      stop.workers().shutdownNow();
      stop.hedges().shutdown(); // a hedge in flight ends as its client's call does
    }
  }

  private static ThreadFactory daemon(String name, boolean numbered) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread thread = new Thread(r, numbered ? name + n.incrementAndGet() : name);
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * One component's hold on the shared threads, taken on first use and given back by {@link
   * #close}. A scheduler given by the user wins over the shared timer. Thread-safe.
   */
  public static final class Lease implements AutoCloseable {
    private final String owner;
    private final @Nullable ScheduledExecutorService userScheduler;
    private final boolean internal;
    // Written under this; read without it by the per-call path (a hedge's timer).
    private volatile @Nullable ScheduledExecutorService heldTimer;
    private volatile @Nullable Executor heldWorkers;
    private volatile @Nullable Executor heldHedges;
    private boolean closed; // guarded by this

    /**
     * A lease for {@code owner} (named in errors) that uses {@code userScheduler} for timers if not
     * null.
     */
    public Lease(String owner, @Nullable ScheduledExecutorService userScheduler) {
      this(owner, userScheduler, false);
    }

    private Lease(
        String owner, @Nullable ScheduledExecutorService userScheduler, boolean internal) {
      this.owner = owner;
      this.userScheduler = userScheduler;
      this.internal = internal;
    }

    /** A lease of Loadstar's own machinery (its coarse clock), not counted in {@link #users()}. */
    public static Lease internal(String owner) {
      return new Lease(owner, null, true);
    }

    /**
     * Returns the scheduler for timers: the user's, or the shared timer. Its tasks must not block.
     *
     * @throws IllegalStateException if the lease was closed
     */
    public ScheduledExecutorService scheduler() {
      if (userScheduler != null) {
        return userScheduler;
      }
      ScheduledExecutorService t = heldTimer;
      if (t != null) {
        return t;
      }
      synchronized (this) {
        hold();
        return heldTimer;
      }
    }

    /**
     * Returns the shared worker threads, for work that may block or take a while.
     *
     * @throws IllegalStateException if the lease was closed
     */
    public Executor workers() {
      synchronized (this) {
        hold();
        return heldWorkers;
      }
    }

    /**
     * Returns the threads for hedged attempts: as many as there are hedges in flight, each ending
     * after 10 s idle.
     *
     * @throws IllegalStateException if the lease was closed
     */
    public Executor hedges() {
      Executor h = heldHedges;
      if (h != null) {
        return h;
      }
      synchronized (this) {
        hold();
        return heldHedges;
      }
    }

    private void hold() {
      if (closed) {
        throw new IllegalStateException(owner + " is closed");
      }
      if (heldTimer == null) {
        Threads shared = acquire(internal);
        heldWorkers = shared.workers();
        heldHedges = shared.hedges();
        heldTimer = shared.timer();
      }
    }

    /** Gives the shared threads back, if taken; the holder's timers must be cancelled first. */
    @Override
    public synchronized void close() {
      closed = true;
      if (heldTimer != null) {
        heldTimer = null;
        heldWorkers = null;
        heldHedges = null;
        release(internal);
      }
    }

    @Override
    public String toString() {
      return "SharedThreads.Lease{" + owner + '}';
    }
  }
}
