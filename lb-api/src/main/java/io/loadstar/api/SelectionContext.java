package io.loadstar.api;

/**
 * What a {@link SelectionStrategy} learns about the balancer it serves.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface SelectionContext {

  /** Returns the balanced service's name, for log lines and messages. */
  String serviceName();

  /**
   * Returns the balancer's random seed: strategies derive cursor starts and random streams from it,
   * so a balancer built with a fixed seed picks reproducibly.
   */
  long seed();

  /** Returns the balancer's ticker. */
  Ticker ticker();
}
