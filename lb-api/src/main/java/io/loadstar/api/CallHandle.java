package io.loadstar.api;

/**
 * Reports the outcome of one call to the endpoint it was sent to, feeding in-flight counts, latency
 * estimates and (where configured) outlier detection.
 *
 * <p>Exactly one of the methods must be called exactly once per successful pick; the handle may be
 * called from any thread. Handles may be shared objects (one per endpoint) so that picking and
 * reporting allocate nothing: calling a handle twice for one pick corrupts that endpoint's
 * in-flight count. {@link LoadBalancer#execute} and the integration modules report for you.
 */
public interface CallHandle {

  /** The call succeeded after {@code latencyNanos}. */
  void onSuccess(long latencyNanos);

  /** The call failed after {@code latencyNanos}, as {@code failure} describes. */
  void onFailure(CallFailure failure, long latencyNanos);

  /**
   * The call was abandoned before it produced an outcome that says anything about the endpoint (for
   * example, the caller cancelled it). Only releases the in-flight slot.
   */
  void onCancel();
}
