package io.loadstar.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.loadstar.api.Attempt;
import io.loadstar.api.CallFailure;
import io.loadstar.api.RetryDecision;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * What a closed attempt's status means to the balancer, reported on the attempt once: OK, or a code
 * that is neither a failure code nor retryable, is a success; a call never sent (no headers
 * written) failed with {@link CallFailure.Kind#NOT_SENT}; after it was sent, a failure code is a
 * failure and a retryable code that is not one is a refusal, both {@link
 * CallFailure.Kind#POSSIBLY_PROCESSED}; an attempt its own deadline (the attempt timeout) ended is
 * a failure, retried within the RPC's deadline. The server's {@code grpc-retry-pushback-ms} is the
 * pause it asks for (gRFC A6: negative or unparsable means do not retry).
 */
final class StatusOutcome {

  private static final Metadata.Key<String> PUSHBACK =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
  private static final long NO_RETRY = -2;

  private StatusOutcome() {}

  /**
   * Reports the attempt and returns the balancer's decision: a retry, or stop (a success stops).
   *
   * @param sent whether the attempt's headers were written to a connection
   * @param timedOut whether the attempt's own deadline (the attempt timeout) ended it, not the
   *     RPC's
   * @param remainingNanos the time the RPC has left if it may still be repeated, else 0
   */
  static RetryDecision report(
      Attempt attempt,
      Status status,
      Metadata trailers,
      boolean sent,
      boolean timedOut,
      long remainingNanos,
      GrpcRules rules,
      GrpcRules.@Nullable Retry retry) {
    long latency = attempt.elapsedNanos();
    if (status.isOk()) {
      attempt.succeeded(latency);
      return RetryDecision.stop();
    }
    StatusRuntimeException error = new StatusRuntimeException(status, trailers);
    if (!sent) {
      return attempt.failed(CallFailure.notSent(error), latency, -1, remainingNanos);
    }
    if (timedOut) {
      // The endpoint's failure, retried like a read timeout: the RPC is marked retryable.
      return attempt.failed(CallFailure.possiblyProcessed(error), latency, -1, remainingNanos);
    }
    Status.Code code = status.getCode();
    long pushback = pushback(trailers);
    long remaining =
        retry != null && retry.codes.contains(code) && pushback != NO_RETRY ? remainingNanos : 0;
    long retryAfter = Math.max(-1, pushback);
    if (rules.failureCodes().contains(code) || code == Status.Code.CANCELLED) {
      return attempt.failed(CallFailure.possiblyProcessed(error), latency, retryAfter, remaining);
    }
    if (remaining > 0) {
      return attempt.refused(CallFailure.possiblyProcessed(error), latency, retryAfter, remaining);
    }
    attempt.succeeded(latency); // the application's answer
    return RetryDecision.stop();
  }

  /** Describes a failed attempt, for the status of the RPC if it fails in the end. */
  static String describe(Attempt attempt, Status status, boolean sent) {
    return attempt.endpoint().key()
        + " "
        + status.getCode()
        + (sent ? "" : " (not sent)")
        + (status.getDescription() != null ? ": " + status.getDescription() : "");
  }

  /** The server's pushback: its delay in nanoseconds, -1 if none, NO_RETRY if it said no. */
  private static long pushback(Metadata trailers) {
    String value = trailers.get(PUSHBACK);
    if (value == null) {
      return -1;
    }
    try {
      long ms = Long.parseLong(value.trim());
      return ms < 0 ? NO_RETRY : TimeUnit.MILLISECONDS.toNanos(ms);
    } catch (NumberFormatException e) {
      return NO_RETRY; // gRFC A6: an unparsable pushback means do not retry
    }
  }
}
