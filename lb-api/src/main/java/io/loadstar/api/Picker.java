package io.loadstar.api;

/**
 * Picks an endpoint for one call from an immutable snapshot: the hot path.
 *
 * <p>Implementations are thread-safe and lock-free, never block, and allocate nothing in steady
 * state. A picker never changes balancer state; it may only touch the atomics it was given (in
 * {@link EndpointView#tryAcquire()}, shared cursors).
 */
@FunctionalInterface
public interface Picker {

  /**
   * Picks an endpoint not in {@link PickContext#tried()} and below its in-flight limit, acquiring
   * one in-flight slot on it, or returns {@link PickResult#unavailable(String)}.
   */
  PickResult pick(PickContext context);
}
