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

  /**
   * The call was given up after {@code elapsedNanos} without an answer, because another attempt of
   * the same call answered first (a hedge, or the attempt it hedged): releases the in-flight slot
   * as {@link #onCancel()} does and blames nothing, but tells latency-aware strategies that the
   * endpoint's latency is at least {@code elapsedNanos} (else an endpoint whose slow calls are
   * always overtaken would look fast). Defaults to {@link #onCancel()}.
   */
  default void onOvertaken(long elapsedNanos) {
    onCancel();
  }
}
