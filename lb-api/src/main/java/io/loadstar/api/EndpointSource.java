package io.loadstar.api;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A discovery source: tells a balancer which endpoints exist, now and whenever that changes.
 *
 * <p>A balancer calls {@link #start(Context)}, {@link #refresh} and {@link #close} from its serial
 * control loop only, one at a time, so implementations need not make those methods thread-safe. The
 * source reports each answer, a complete list or an error, with {@link Context#publish} (from any
 * thread, at any time after {@code start} and until {@code close} returns). A source instance
 * serves one balancer.
 *
 * <p>Extend {@link AbstractEndpointSource}: it refuses a second start, orders answers published
 * from several threads, and never calls the balancer while a lock is held. A source that needs
 * timers, a serial executor or its balancer's seed uses what the {@link Context} offers instead of
 * starting threads of its own.
 */
public interface EndpointSource extends AutoCloseable {

  /**
   * Starts discovery for a balancer, which offers where to publish, its control loop, timers and
   * clock in {@code context}. The source publishes its first answer synchronously or later, and
   * every change after that.
   *
   * @throws IllegalStateException if the source was started before or closed
   */
  void start(Context context);

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
   * publish, the balancer's control loop, its timers and clock. A source that uses them needs no
   * thread, timer or serializer of its own, so a JVM with many balancers runs on a few shared
   * threads. Never shut the executors down: the balancer owns them.
   */
  interface Context {
    /** Returns the balancer's service name, for logs. */
    String serviceName();

    /**
     * Hands the balancer an answer: the complete endpoint list ({@link EndpointUpdate#of}), that
     * there is none ({@link EndpointUpdate#empty}), or that discovery failed ({@link
     * EndpointUpdate#failed}, and the balancer keeps its last good list as configured). The
     * balancer applies answers in the order they are published. It may apply this one on the
     * calling thread before returning, running its listeners: never call it while holding a lock
     * ({@link AbstractEndpointSource#offer} is for that).
     */
    void publish(EndpointUpdate update);

    /** Publishes that discovery failed with {@code error}: {@code publish(failed(error))}. */
    default void fail(Throwable error) {
      publish(EndpointUpdate.failed(error));
    }

    /**
     * Returns the balancer's control loop: runs tasks one at a time, in submission order. {@code
     * start}, {@code refresh} and {@code close} run on it, so a source may keep its state confined
     * to it without a lock. Tasks must not block.
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

    /**
     * Returns this context publishing to {@code publisher} instead: for sources that combine others
     * (each child's answers go to the parent, which publishes the merge).
     */
    Context withPublisher(Listener publisher);
  }

  /** Receives answers: what a {@link Context} publishes to. Implementations are thread-safe. */
  @FunctionalInterface
  interface Listener {
    /** Called with each new answer: the complete endpoint list, or an error. */
    void onUpdate(EndpointUpdate update);
  }
}
