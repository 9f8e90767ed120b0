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
    private final @Nullable R answer;
    private final @Nullable X error;
    private final @Nullable RetryDecision decision;

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
      Race<R, X> race = new Race<>(call, driver, first);
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

  /*
   * Design notes: a hedged call's first attempt runs on the caller's thread, as any attempt does, so
   * that the calls that need no hedge (the 95% or so that answer before the delay) cost one timer
   * and nothing else. The hedge runs on the balancer's hedge thread. Whichever ends first with an
   * answer for the caller wins and cancels the other; an attempt that fails waits for the other.
   * When neither answered for the caller, the hedge's decision (the call's latest attempt) says
   * whether the call goes on, and the sequential loop takes over.
   */
  /** The two attempts of a hedged call. */
  private static final class Race<R, X extends Throwable> {
    private final BalancedCall call;
    private final Driver<R, X> driver;
    private final Owned first;
    // Guarded by this.
    private boolean
        settled; // the caller is done with the race: no hedge starts, a late one is discarded
    private @Nullable Owned hedge;
    private boolean hedgeEnded;
    private @Nullable Step<R, X> hedgeStep; // null if the hedge's send threw
    private @Nullable Throwable hedgeError;
    private boolean hedgeWon;
    private boolean firstEnded;

    Race(BalancedCall call, Driver<R, X> driver, Attempt first) {
      this.call = call;
      this.driver = driver;
      this.first = new Owned(first);
    }

    /** The caller's side: sends the first attempt, then settles the race. */
    R run() throws X {
      Step<R, X> step;
      try {
        step = driver.send(first);
      } catch (Throwable t) {
        synchronized (this) {
          if (hedgeWon) { // the hedge's answer cancelled this attempt, whose driver threw
            settled = true;
            return requireNonNull(hedgeStep).answer;
          }
        }
        abandon(); // the first attempt ended the call: its hedge goes too
        throw t;
      }
      Owned h;
      boolean firstWins;
      synchronized (this) {
        firstEnded = true;
        h = hedge;
        firstWins = h == null || (step.decision == null && !hedgeWon);
        if (firstWins) {
          settled = true;
        }
      }
      if (h == null) {
        call.cancelHedge(); // settled: a hedge that comes due now sends nothing
        return continueFrom(call, step, driver);
      }
      if (firstWins) {
        h.cancel(driver);
        return step.answer;
      }
      try {
        awaitHedge();
      } catch (InterruptedException e) {
        abandon();
        discard(step);
        throw interruptedError(driver, e);
      }
      return afterBoth(step);
    }

    private synchronized void awaitHedge() throws InterruptedException {
      try {
        while (!hedgeEnded) {
          wait();
        }
      } finally {
        settled = true;
      }
    }

    /** The first attempt failed (or lost): the hedge's outcome and the first's make the call's. */
    private R afterBoth(Step<R, X> step) throws X {
      Step<R, X> other = hedgeStep;
      if (hedgeWon) {
        discard(step);
        return requireNonNull(other).answer;
      }
      if (other == null) {
        // The hedge's send threw (it reported its attempt): the first attempt's outcome stands.
        Throwable thrown = requireNonNull(hedgeError);
        if (step.error != null && step.error != thrown) {
          step.error.addSuppressed(thrown);
        }
        return continueFrom(call, step, driver);
      }
      RetryDecision decision = requireNonNull(other.decision);
      if (!decision.isRetry() && step.answer != null) {
        if (other.answer != null) {
          driver.discard(other.answer); // both answered, neither for a retry: the first's is kept
        }
        return step.answer;
      }
      discard(step); // the hedge is the call's latest attempt: it decides what comes next
      if (other.error != null && step.error != null) {
        other.error.addSuppressed(step.error);
      }
      return continueFrom(call, other, driver);
    }

    /** The hedge's side, on the balancer's hedge thread once the delay has passed. */
    void sendHedge() {
      Owned h;
      synchronized (this) {
        if (settled) {
          return;
        }
        Attempt a = call.hedge();
        if (!a.isAvailable()) {
          return; // no hedge: the first attempt is the call's
        }
        h = new Owned(a);
        hedge = h;
      }
      Step<R, X> step = null;
      Throwable thrown = null;
      try {
        step = driver.send(h);
      } catch (
          Throwable t) { // the hedge's own failure: reported by the driver, kept for the caller
        thrown = t;
      }
      boolean late;
      boolean cancelFirst = false;
      synchronized (this) {
        late = settled;
        if (!late) {
          hedgeStep = step;
          hedgeError = thrown;
          hedgeWon = step != null && step.decision == null;
          cancelFirst = hedgeWon && !firstEnded;
          hedgeEnded = true;
          notifyAll();
        }
      }
      if (late) {
        if (step != null) {
          discard(step); // the first attempt won meanwhile
        }
      } else if (cancelFirst) {
        first.cancel(driver); // the caller's attempt returns soon and takes this answer
      }
    }

    /** The caller gave up or failed: no hedge starts, one in flight is cancelled. */
    private void abandon() {
      Owned h;
      synchronized (this) {
        settled = true;
        h = hedge;
      }
      call.cancelHedge();
      if (h != null) {
        h.cancel(driver);
      }
    }

    private void discard(Step<R, X> step) {
      if (step.answer != null) {
        driver.discard(step.answer);
      }
    }
  }

  /**
   * An attempt of a hedged call: once the loop cancels it, whatever failure the driver reports is
   * reported as {@link Attempt#overtaken}, which blames no endpoint.
   */
  private static final class Owned implements Attempt {
    private final Attempt attempt;
    private volatile boolean cancelled;

    Owned(Attempt attempt) {
      this.attempt = attempt;
    }

    void cancel(Driver<?, ?> driver) {
      cancelled = true;
      driver.cancel(this);
    }

    @Override
    public boolean isAvailable() {
      return attempt.isAvailable();
    }

    @Override
    public Endpoint endpoint() {
      return attempt.endpoint();
    }

    @Override
    public String reason() {
      return attempt.reason();
    }

    @Override
    public int number() {
      return attempt.number();
    }

    @Override
    public long elapsedNanos() {
      return attempt.elapsedNanos();
    }

    @Override
    public long timeoutNanos() {
      return attempt.timeoutNanos();
    }

    @Override
    public void succeeded(long latencyNanos) {
      attempt.succeeded(latencyNanos);
    }

    @Override
    public RetryDecision failed(
        CallFailure failure, long latencyNanos, long retryAfterNanos, long remainingNanos) {
      if (cancelled) {
        attempt.overtaken(latencyNanos);
        return RetryDecision.stop();
      }
      return attempt.failed(failure, latencyNanos, retryAfterNanos, remainingNanos);
    }

    @Override
    public RetryDecision refused(
        CallFailure answer, long latencyNanos, long retryAfterNanos, long remainingNanos) {
      if (cancelled) {
        attempt.overtaken(latencyNanos);
        return RetryDecision.stop();
      }
      return attempt.refused(answer, latencyNanos, retryAfterNanos, remainingNanos);
    }

    @Override
    public void cancelled() {
      attempt.cancelled();
    }

    @Override
    public void overtaken(long elapsedNanos) {
      attempt.overtaken(elapsedNanos);
    }

    @Override
    public String toString() {
      return attempt + (cancelled ? " (cancelled by its hedge)" : "");
    }
  }
}
