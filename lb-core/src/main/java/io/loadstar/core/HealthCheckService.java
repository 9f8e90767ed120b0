package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.HealthChecker;
import io.loadstar.core.internal.SharedThreads;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes.
 *
 * One Probe per target (host, probed port, resolved address), however many balancers watch it:
 * watchers of the same target share its timer, its probes and its up/down state, so N balancers
 * in a JVM cost one probe per endpoint per interval. A probe exists while it has watchers; the last
 * Watch.close() cancels its timer at once, and a probe whose timer already fired checks the
 * closed flag right before connecting, so a removed endpoint is not contacted again.
 *
 * State machine (HAProxy's): an up target goes down after `fall` failed probes in a row; a down
 * target comes up after `rise` passes in a row. A target that starts down (initiallyHealthy off)
 * comes up on its first pass. The next probe is due after downInterval while fully down,
 * fastInterval while a change is under way (up with failures, or down with passes), interval
 * otherwise, each multiplied by a random factor in [1 - jitter, 1 + jitter].
 *
 * Threading: timers run on the scheduler, which only hands the probe to the probe executor (a
 * probe may block for its timeout). Results are applied under the probe's lock; watchers are
 * notified outside it, in result order per probe (a probe never runs twice at once: the next is
 * scheduled only after the current one finished).
 */
/**
 * Runs active health checks for one or more balancers: one probe per target and interval, however
 * many balancers watch the target. Share one service between the balancers of a JVM that check the
 * same endpoints the same way.
 *
 * <p>Thread-safe. {@link #close()} stops every timer and thread the service started.
 */
public final class HealthCheckService implements AutoCloseable {

  private static final Logger logger = LoggerFactory.getLogger(HealthCheckService.class);

  private final HealthChecker checker;
  private final HealthCheckConfig config;
  private final ScheduledExecutorService scheduler;
  private final Executor probeExecutor;
  private final SharedThreads.Lease threads;
  private final Object lock = new Object();
  private final Map<Target, Probe> probes = new HashMap<>(); // guarded by lock
  private final SplittableRandom random; // guarded by lock
  private boolean closed; // guarded by lock

  private HealthCheckService(Builder b) {
    this.checker = b.checker;
    this.config = b.config;
    this.random = new SplittableRandom(b.seed);
    // Loadstar's shared timer and workers unless given others: probes never start threads of
    // their own, and at most SharedThreads.WORKERS of them run at once in the JVM.
    this.threads = new SharedThreads.Lease("HealthCheckService", b.scheduler);
    this.scheduler = threads.scheduler();
    this.probeExecutor = b.probeExecutor != null ? b.probeExecutor : threads.workers();
  }

  /** Returns a builder for a service that probes with {@code checker}. */
  public static Builder builder(HealthChecker checker) {
    return new Builder(requireNonNull(checker, "checker"));
  }

  /** Returns the settings. */
  public HealthCheckConfig config() {
    return config;
  }

  /** The layer the checker's probes test. */
  HealthChecker.Layer layer() {
    HealthChecker.Layer layer = checker.layer();
    return layer != null ? layer : HealthChecker.Layer.REQUEST;
  }

  /**
   * Starts watching {@code endpoint}: its target is probed until every watch of it is closed, and
   * {@code listener} hears every result.
   *
   * @throws IllegalStateException if the service is closed
   */
  Watch watch(Endpoint endpoint, Listener listener) {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(listener, "listener");
    Target target = Target.of(endpoint, config.port());
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("HealthCheckService is closed");
      }
      Probe probe = probes.get(target);
      if (probe == null) {
        probe = new Probe(target);
        probes.put(target, probe);
        // Spread first probes over a fraction of the interval, so a new list is not probed at once.
        probe.schedule((long) (config.intervalNanos() * config.jitter() * random.nextDouble()));
      }
      Watch watch = new Watch(probe, listener);
      probe.watchers.add(watch);
      return watch;
    }
  }

  /** Returns how many targets are being probed. */
  public int targets() {
    synchronized (lock) {
      return probes.size();
    }
  }

  @Override
  public void close() {
    List<Probe> all;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      all = new ArrayList<>(probes.values());
      probes.clear();
    }
    for (Probe p : all) {
      p.stop();
    }
    threads.close(); // after every probe's timer was cancelled
  }

  @Override
  public String toString() {
    return "HealthCheckService{" + checker + ", " + config + "}";
  }

  private long jittered(long nanos) {
    double j = config.jitter();
    double factor;
    synchronized (lock) {
      factor = 1 + j * (2 * random.nextDouble() - 1);
    }
    return (long) (nanos * factor);
  }

  private void release(Watch watch) {
    Probe probe = watch.probe;
    boolean stop = false;
    synchronized (lock) {
      probe.watchers.remove(watch);
      if (probe.watchers.isEmpty() && probes.get(probe.target) == probe) {
        probes.remove(probe.target);
        stop = true;
      }
    }
    if (stop) {
      probe.stop();
    }
  }

  /** Hears a watched endpoint's probe results. Called on probe threads; must not block. */
  @FunctionalInterface
  interface Listener {
    /**
     * One probe finished.
     *
     * @param up whether the endpoint counts as up after this result (rise/fall applied)
     * @param changed whether this result flipped it
     * @param result the probe's own result
     */
    void onResult(boolean up, boolean changed, HealthCheckResult result);
  }

  /** One balancer's interest in one endpoint; close it when the endpoint goes away. */
  final class Watch implements AutoCloseable {
    private final Probe probe;
    private final Listener listener;
    private volatile boolean closed;

    private Watch(Probe probe, Listener listener) {
      this.probe = probe;
      this.listener = listener;
    }

    /** Returns whether the target counts as up now. */
    boolean isUp() {
      synchronized (probe) {
        return probe.up;
      }
    }

    /** Returns the last failure's reason, or empty. */
    String lastFailure() {
      synchronized (probe) {
        return probe.lastFailure;
      }
    }

    /** Stops watching; the target stops being probed when no watch is left. Idempotent. */
    @Override
    public void close() {
      if (!closed) {
        closed = true;
        release(this);
      }
    }
  }

  /** Identity of a probed target. */
  private static final class Target {
    final String host;
    final int port;
    final @Nullable InetAddress address;

    private Target(String host, int port, @Nullable InetAddress address) {
      this.host = host;
      this.port = port;
      this.address = address;
    }

    static Target of(Endpoint e, int checkPort) {
      return new Target(e.host(), checkPort != 0 ? checkPort : e.port(), e.address());
    }

    Endpoint endpoint() {
      return Endpoint.of(host, port).withAddress(address);
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Target
          && ((Target) o).port == port
          && ((Target) o).host.equals(host)
          && Objects.equals(((Target) o).address, address);
    }

    @Override
    public int hashCode() {
      return Objects.hash(host, port, address);
    }

    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  /** The probing of one target. */
  private final class Probe {
    final Target target;
    final List<Watch> watchers = new CopyOnWriteArrayList<>();
    // Guarded by this:
    boolean up = config.initiallyHealthy();
    boolean checked;
    int passesInARow;
    int failuresInARow;
    String lastFailure = "";
    @Nullable ScheduledFuture<?> timer;
    boolean stopped;

    Probe(Target target) {
      this.target = target;
    }

    synchronized void schedule(long delayNanos) {
      if (stopped) {
        return;
      }
      try {
        timer = scheduler.schedule(this::dispatch, delayNanos, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        logger.debug("health check timer for {} rejected: scheduler shut down", target);
      }
    }

    private void dispatch() {
      synchronized (this) {
        if (stopped) {
          return;
        }
      }
      try {
        probeExecutor.execute(this::probe);
      } catch (RejectedExecutionException e) {
        logger.debug("health probe of {} rejected: executor shut down", target);
      }
    }

    private void probe() {
      synchronized (this) {
        if (stopped) {
          return; // removed between the timer and now: do not contact it
        }
      }
      HealthCheckResult result;
      try {
        result = checker.check(target.endpoint(), config.timeout());
        if (result == null) {
          result = HealthCheckResult.unhealthy(checker + " returned null");
        }
      } catch (Exception e) {
        String message = e.getMessage();
        result = HealthCheckResult.unhealthy(message != null ? message : e.toString());
      }
      boolean changed;
      boolean nowUp;
      long next;
      synchronized (this) {
        if (stopped) {
          return;
        }
        boolean wasUp = up;
        if (result.isHealthy()) {
          failuresInARow = 0;
          passesInARow++;
          if (!up && (passesInARow >= config.rise() || !checked)) {
            up = true;
          }
        } else {
          passesInARow = 0;
          failuresInARow++;
          lastFailure = result.reason();
          if (up && failuresInARow >= config.fall()) {
            up = false;
          }
        }
        checked = true;
        changed = up != wasUp;
        nowUp = up;
        if (!up && passesInARow == 0) {
          next = config.downIntervalNanos();
        } else if ((up && failuresInARow > 0) || (!up && passesInARow > 0)) {
          next = config.fastIntervalNanos();
        } else {
          next = config.intervalNanos();
        }
      }
      if (changed) {
        logger.debug("health of {} changed: {} ({})", target, nowUp ? "up" : "down", result);
      }
      for (Watch w : watchers) {
        if (!w.closed) {
          try {
            w.listener.onResult(nowUp, changed, result);
          } catch (RuntimeException e) {
            logger.warn("health listener {} threw", w.listener, e);
          }
        }
      }
      schedule(jittered(next));
    }

    void stop() {
      ScheduledFuture<?> t;
      synchronized (this) {
        stopped = true;
        t = timer;
        timer = null;
      }
      if (t != null) {
        t.cancel(false);
      }
    }
  }

  /** Builds a {@link HealthCheckService}. Not thread-safe. */
  public static final class Builder {
    private final HealthChecker checker;
    private HealthCheckConfig config = HealthCheckConfig.defaults();
    private @Nullable ScheduledExecutorService scheduler;
    private @Nullable Executor probeExecutor;
    private long seed = ThreadLocalRandom.current().nextLong();

    private Builder(HealthChecker checker) {
      this.checker = checker;
    }

    /** Sets the probe settings. Defaults to {@link HealthCheckConfig#defaults()}. */
    public Builder config(HealthCheckConfig config) {
      this.config = requireNonNull(config, "config");
      return this;
    }

    /**
     * Sets the scheduler of probe timers; the service does not shut it down. Defaults to the daemon
     * timer thread Loadstar's components share ({@code loadstar-timer}).
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets the executor probes run on (they may block for their timeout); the service does not shut
     * it down. Defaults to the daemon worker threads Loadstar's components share ({@code
     * loadstar-worker-N}), so that at most 4 probes of the JVM run at once; give a larger executor
     * for thousands of targets with slow probe timeouts.
     */
    public Builder probeExecutor(Executor probeExecutor) {
      this.probeExecutor = requireNonNull(probeExecutor, "probeExecutor");
      return this;
    }

    /** Sets the seed of the timer jitter, for reproducible tests. Defaults to random. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Builds the service. */
    public HealthCheckService build() {
      return new HealthCheckService(this);
    }
  }
}
