package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * The attempt loop every Loadstar driver runs on ({@link LoadBalancer#execute}, lb-okhttp's
 * interceptor, a driver of your own): takes the first attempt, sends each attempt through the
 * driver, waits out a retry's backoff before the next endpoint is picked, chains the failures of
 * earlier attempts onto the last one as suppressed exceptions, and says why when nothing is left to
 * pick. What only the client knows (how to send, what an answer means, how to wait and give up)
 * stays in the {@link Driver}; docs/DRIVERS.md walks through a complete one.
 */
public final class AttemptLoop {

  private AttemptLoop() {}

  /**
   * What a client does for the loop.
   *
   * @param <R> the client's answer (a response)
   * @param <X> what the client throws
   */
  public interface Driver<R, X extends Throwable> {

    /**
     * Sends {@code attempt} to {@link Attempt#endpoint()}, reports its outcome on the attempt
     * (exactly once, as {@link Attempt} says) and returns what comes next. Throwing ends the call
     * with the exception (report the attempt first: {@link Attempt#cancelled()} if the caller gave
     * up).
     */
    Step<R, X> send(Attempt attempt) throws X;

    /**
     * Waits out a retry's backoff (called before every retry, with 0 for one at once), returning
     * early if the balancer closes; throws if the caller gave up meanwhile (cancelled,
     * interrupted). No endpoint is held while it waits. Defaults to {@link
     * BalancedCall#awaitBackoff} on the balancer's clock, an interruption thrown as {@link
     * #interrupted}; a client whose calls can be cancelled overrides it to wake and give up.
     */
    default void await(BalancedCall call, long delayNanos) throws X {
      try {
        call.awaitBackoff(delayNanos, () -> false);
      } catch (InterruptedException e) {
        throw interruptedError(this, e);
      }
    }

    /** Returns the exception for a call that found no endpoint to pick, for {@code reason}. */
    X unavailable(String reason);

    /** Returns the exception for a call interrupted while it waited (for discovery, a backoff). */
    X interrupted(InterruptedException e);

    /** Releases an answer the caller will not get (closes a response that is retried). */
    default void discard(R answer) {}

    /**
     * Returns whether this call may be {@link Hedging hedged}: the driver can send two of its
     * attempts at once, each on the thread that calls {@link #send}, and {@link #cancel} either.
     * Asked once per call, before its first attempt is sent. Defaults to false.
     */
    default boolean hedges() {
      return false;
    }

    /**
     * Stops an attempt of a hedged call that the other attempt won, or that the caller no longer
     * waits for: called from any thread, before, while or after {@link #send} runs for it. The
     * attempt's {@code send} must return soon (a send that begins after this must not go out);
     * whatever failure it then reports, the loop reports the attempt as {@link Attempt#cancelled()
     * cancelled}, which blames no endpoint. Called only if {@link #hedges()} returned true.
     */
    default void cancel(Attempt attempt) {}
  }

  /**
   * What one attempt came to: an answer for the caller, or a failure or answer with the decision
   * its {@link Attempt#failed} or {@link Attempt#refused} returned. Immutable.
   *
   * @param <R> the client's answer
   * @param <X> what the client throws
   */
  public static final class Step<R, X extends Throwable> {
    // Package-private: the hedged run (HedgedRun) reads them as this loop does.
    final @Nullable R answer;
    final @Nullable X error;
    final @Nullable RetryDecision decision;

    private Step(@Nullable R answer, @Nullable X error, @Nullable RetryDecision decision) {
      this.answer = answer;
      this.error = error;
      this.decision = decision;
    }

    /** The caller gets {@code answer}, which may be null (the attempt has been reported). */
    public static <R, X extends Throwable> Step<R, X> done(@Nullable R answer) {
      return new Step<>(answer, null, null);
    }

    /**
     * The attempt failed with {@code error} (reported with {@link Attempt#failed}, which returned
     * {@code decision}): retried as it says, else the call fails with {@code error}.
     */
    public static <R, X extends Throwable> Step<R, X> failed(X error, RetryDecision decision) {
      return new Step<>(null, requireNonNull(error, "error"), requireNonNull(decision, "decision"));
    }

    /**
     * The endpoint answered with a failure or refusal (reported with {@link Attempt#failed} or
     * {@link Attempt#refused}, which returned {@code decision}): retried as it says (the answer is
     * then {@link Driver#discard discarded}, once the retry's endpoint is picked), else the caller
     * gets {@code answer}.
     */
    public static <R, X extends Throwable> Step<R, X> answered(R answer, RetryDecision decision) {
      return new Step<>(
          requireNonNull(answer, "answer"), null, requireNonNull(decision, "decision"));
    }

    @Override
    public String toString() {
      if (decision == null) {
        return "done";
      }
      return (error != null ? "failed: " + error : "answered") + ", " + decision;
    }
  }

  /**
   * The driver's error for an interruption; the thread stays marked interrupted unless the error is
   * itself an {@link InterruptedException}, which says so already.
   */
  static <X extends Throwable> X interruptedError(Driver<?, X> driver, InterruptedException e) {
    X error = driver.interrupted(e);
    if (!(error instanceof InterruptedException)) {
      Thread.currentThread().interrupt();
    }
    return error;
  }

  /**
   * Runs a call: its first attempt (waiting up to {@code maxWaitNanos} for discovery's first
   * answer), then as many as the decisions allow.
   *
   * @return the answer the caller gets
   * @throws X the last attempt's failure (earlier ones suppressed in it), or the driver's {@link
   *     Driver#unavailable} error when the first attempt found no endpoint
   */
  public static <R, X extends Throwable> R run(
      BalancedCall call, long maxWaitNanos, Driver<R, X> driver) throws X {
    Attempt first;
    try {
      first = call.first(maxWaitNanos);
    } catch (InterruptedException e) {
      throw interruptedError(driver, e);
    }
    if (!first.isAvailable()) {
      throw driver.unavailable(first.reason());
    }
    if (call.idempotent() && driver.hedges()) {
      HedgedRun<R, X> race = new HedgedRun<>(call, driver, first);
      if (call.scheduleHedge(race::sendHedge)) {
        return race.run();
      }
    }
    return continueFrom(call, driver.send(first), driver);
  }

  /**
   * Continues a call from an attempt already sent and reported: for a driver that makes its first
   * attempt itself, so that a call that succeeds at once allocates nothing ({@link
   * LoadBalancer#execute} does).
   */
  public static <R, X extends Throwable> R continueFrom(
      BalancedCall call, Step<R, X> step, Driver<R, X> driver) throws X {
    @Nullable X last = null;
    while (true) {
      RetryDecision decision = step.decision;
      R answer = step.answer;
      if (decision == null) {
        return answer; // done: the caller's answer, null if the driver's call returned null
      }
      X error = step.error;
      if (error != null) {
        if (last != null && last != error) {
          error.addSuppressed(last);
        }
        last = error;
      } else {
        last = null; // an answer: the earlier failures are behind it
      }
      if (!decision.isRetry()) {
        if (answer != null) {
          return answer;
        }
        String reason = decision.unavailableReason();
        if (reason != null) {
          requireNonNull(error).addSuppressed(driver.unavailable(reason));
        }
        throw requireNonNull(error);
      }
      boolean waited = false;
      try {
        driver.await(call, decision.delayNanos());
        waited = true;
      } finally {
        if (!waited && answer != null) {
          driver.discard(answer);
        }
      }
      Attempt next = call.next();
      if (!next.isAvailable()) {
        // Nothing left after the wait: the last answer or failure is the call's.
        if (answer != null) {
          return answer;
        }
        requireNonNull(error).addSuppressed(driver.unavailable(next.reason()));
        throw error;
      }
      if (answer != null) {
        driver.discard(answer);
      }
      step = driver.send(next);
    }
  }
}
