package io.loadstar.api;

import org.jspecify.annotations.Nullable;

/**
 * Decides what an exception thrown by a call to an endpoint says about that endpoint, for {@link
 * LoadBalancer#execute}: whether the request was sent (so whether it may be retried elsewhere) and
 * whether it counts as the endpoint's failure at all.
 *
 * <p>Return {@link CallFailure#classify(Throwable)} (the {@link #standard()} classifier) for what
 * you do not recognise:
 *
 * <pre>{@code
 * FailureClassifier redis =
 *     error ->
 *         error instanceof JedisDataException
 *             ? null // the server answered (WRONGTYPE, say): not the endpoint's failure
 *             : CallFailure.classify(error);
 * }</pre>
 *
 * <p>Implementations must be thread-safe, fast and must not throw.
 */
@FunctionalInterface
public interface FailureClassifier {

  /**
   * Returns how a call failed, or {@code null} if the exception is the application's answer rather
   * than an endpoint's failure (a constraint violation, a Redis error reply): the call is then
   * reported as a success for the endpoint and not retried, and the exception reaches the caller.
   *
   * @param error what the call threw; never an {@link InterruptedException}, which always counts as
   *     the caller giving up
   */
  @Nullable CallFailure classify(Throwable error);

  /** Returns the standard classifier, {@link CallFailure#classify(Throwable)}. */
  static FailureClassifier standard() {
    return CallFailure::classify;
  }
}
