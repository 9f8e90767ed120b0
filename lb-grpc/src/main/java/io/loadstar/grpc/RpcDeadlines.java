package io.loadstar.grpc;

import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.loadstar.api.Attempt;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * An RPC's time as its attempts see it: what the RPC has left, and an attempt's own deadline (the
 * balancer's attempt timeout), which ends a hung attempt while the RPC goes on.
 */
final class RpcDeadlines {

  private RpcDeadlines() {}

  /** The time the RPC has left: its own deadline or its context's, the earlier. */
  static long remainingNanos(CallOptions options, Context context) {
    Deadline deadline = options.getDeadline();
    Deadline inherited = context.getDeadline();
    if (inherited != null && (deadline == null || inherited.isBefore(deadline))) {
      deadline = inherited;
    }
    return deadline == null
        ? Long.MAX_VALUE
        : Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS));
  }

  /**
   * The attempt's own deadline ({@link Attempt#timeoutNanos()}): for a unary RPC marked retryable
   * ({@code retry}) that another attempt may follow, when sooner than the {@code remainingNanos}
   * the RPC has; else {@code Long.MAX_VALUE}. A stream is never cut (its answer is not one
   * message), and neither is an RPC that could not be repeated.
   */
  static long attemptTimeoutNanos(
      @Nullable Attempt picked,
      GrpcRules.@Nullable Retry retry,
      MethodDescriptor.MethodType type,
      long remainingNanos) {
    if (retry == null
        || picked == null
        || !picked.isAvailable()
        || type != MethodDescriptor.MethodType.UNARY
        || picked.number() >= retry.maxAttempts) {
      return Long.MAX_VALUE;
    }
    long timeout = picked.timeoutNanos();
    return timeout < remainingNanos ? timeout : Long.MAX_VALUE;
  }

  /**
   * Whether an attempt given its own deadline ({@code timed}) was ended by that deadline and not by
   * the RPC's, which still has {@code remainingNanos}: its endpoint did not answer in time.
   */
  static boolean attemptTimedOut(boolean timed, Status status, long remainingNanos) {
    return timed && status.getCode() == Status.Code.DEADLINE_EXCEEDED && remainingNanos > 0;
  }
}
