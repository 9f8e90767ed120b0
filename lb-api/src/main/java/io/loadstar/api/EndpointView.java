package io.loadstar.api;

import org.jspecify.annotations.Nullable;

/**
 * The live, read-only state of one endpoint as selection strategies see it.
 *
 * <p>Implementations are thread-safe. A view outlives the snapshots it appears in: its counters
 * keep counting across refreshes of the endpoint list.
 */
public interface EndpointView {

  /** Returns the endpoint. */
  Endpoint endpoint();

  /**
   * Returns the effective weight, at least 1 for an endpoint offered to a strategy: the endpoint's
   * weight, possibly scaled down (for example while it warms up after joining).
   */
  int weight();

  /** Returns the number of calls picked and not yet reported on. */
  int inFlight();

  /**
   * Acquires one in-flight slot and returns the result to hand to the caller, or returns {@code
   * null} if the endpoint is at its in-flight limit. Lock-free; allocates nothing.
   */
  @Nullable PickResult tryAcquire();
}
