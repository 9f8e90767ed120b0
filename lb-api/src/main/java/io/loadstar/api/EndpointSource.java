package io.loadstar.api;

/**
 * A discovery source: tells a balancer which endpoints exist, now and whenever that changes.
 *
 * <p>A balancer calls {@link #start}, {@link #refresh} and {@link #close} from its serial control
 * loop only, one at a time, so implementations need not make those methods thread-safe. The {@link
 * Listener} may be called from any thread, at any time after {@code start} and until {@code close}
 * returns; each call carries a complete list (or an error). A source instance serves one balancer.
 */
public interface EndpointSource extends AutoCloseable {

  /**
   * Starts discovery. The source reports its first answer through {@code listener}, synchronously
   * or later, and every change after that.
   */
  void start(Listener listener);

  /**
   * Asks for a fresh answer soon, for example after connection failures. A hint: sources that are
   * pushed to, or have nothing to refresh, may ignore it. Defaults to doing nothing.
   */
  default void refresh() {}

  /** Stops discovery and releases every thread, timer and socket the source holds. Idempotent. */
  @Override
  void close();

  /** Receives a source's answers. Implementations are thread-safe. */
  @FunctionalInterface
  interface Listener {
    /** Called with each new answer: the complete endpoint list, or an error. */
    void onUpdate(EndpointUpdate update);
  }
}
