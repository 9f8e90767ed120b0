package io.loadstar.api;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A discovery source: tells a balancer which endpoints exist, now and whenever that changes.
 *
 * <p>A balancer calls {@link #start(Context)}, {@link #refresh} and {@link #close} from its serial
 * control loop only, one at a time, so implementations need not make those methods thread-safe. The
 * {@link Listener} may be called from any thread, at any time after {@code start} and until {@code
 * close} returns; each call carries a complete list (or an error). A source instance serves one
 * balancer.
 *
 * <p>A simple source implements {@link #start(Listener)}; one that needs timers, a serial executor
 * or its balancer's seed overrides {@link #start(Context)} and uses what the context offers instead
 * of starting threads of its own.
 */
public interface EndpointSource extends AutoCloseable {

  /**
   * Starts discovery. The source reports its first answer through {@code listener}, synchronously
   * or later, and every change after that. A source started without a balancer (a test, say) is
   * started this way; a balancer calls {@link #start(Context)}.
   */
  void start(Listener listener);

  /**
   * Starts discovery for a balancer, which offers its control loop, timers and clock in {@code
   * context}. Defaults to {@link #start(Listener) start(context.listener())}.
   */
  default void start(Context context) {
    start(context.listener());
  }

  /**
   * Asks for a fresh answer soon, for example after connection failures. A hint: sources that are
   * pushed to, or have nothing to refresh, may ignore it. Defaults to doing nothing.
   */
  default void refresh() {}

  /** Stops discovery and releases every thread, timer and socket the source holds. Idempotent. */
  @Override
  void close();

  /**
   * What a balancer gives the source it starts, like gRPC's {@code NameResolver.Args}: where to
   * report, the balancer's control loop, its timers and clock. A source that uses them needs no
   * thread, timer or serializer of its own, so a JVM with many balancers runs on a few shared
   * threads. Never shut the executors down: the balancer owns them.
   */
  interface Context {
    /** Returns the balancer's service name, for logs. */
    String serviceName();

    /** Returns where the source reports its answers. */
    Listener listener();

    /**
     * Returns the balancer's control loop: runs tasks one at a time, in submission order, on the
     * submitting threads. {@code start}, {@code refresh} and {@code close} run on it, so a source
     * may keep its state confined to it without a lock. Tasks must not block.
     */
    Executor controlLoop();

    /** Returns the scheduler for the source's timers. Its tasks must not block: hand work on. */
    ScheduledExecutorService scheduler();

    /**
     * Returns shared worker threads, for callbacks of I/O the source starts (a DNS client's
     * answers). Few threads serve every balancer: tasks must not block for long.
     */
    Executor executor();

    /** Returns the balancer's clock. */
    Ticker ticker();

    /** Returns the balancer's seed, for jitter: a seeded balancer's source repeats exactly. */
    long seed();

    /** Returns this context with {@code listener} instead: for sources that wrap others. */
    Context withListener(Listener listener);
  }

  /** Receives a source's answers. Implementations are thread-safe. */
  @FunctionalInterface
  interface Listener {
    /** Called with each new answer: the complete endpoint list, or an error. */
    void onUpdate(EndpointUpdate update);
  }
}
