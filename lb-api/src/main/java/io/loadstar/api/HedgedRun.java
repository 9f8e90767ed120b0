package io.loadstar.api;

import static io.loadstar.api.AttemptLoop.continueFrom;
import static io.loadstar.api.AttemptLoop.interruptedError;
import static java.util.Objects.requireNonNull;

import io.loadstar.api.AttemptLoop.Driver;
import io.loadstar.api.AttemptLoop.Step;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: a hedged call's first attempt runs on the caller's thread, as any attempt does, so
 * that the calls that need no hedge (the 95% or so that answer before the delay) cost one timer
 * and nothing else. The hedge runs on the balancer's hedge thread. Whichever ends first with an
 * answer for the caller wins and cancels the other; an attempt that fails waits for the other.
 * When neither answered for the caller, the hedge's decision (the call's latest attempt) says
 * whether the call goes on, and the sequential loop takes over.
 */
/** The two attempts of a hedged call, for {@link AttemptLoop}. */
final class HedgedRun<R, X extends Throwable> {
  private final BalancedCall call;
  private final Driver<R, X> driver;
  private final Owned first;
  // Guarded by this.
  // The caller is done with the race: no hedge starts, and a late one is discarded.
  private boolean settled;
  private @Nullable Owned hedge;
  private @Nullable Step<R, X> hedgeStep; // the hedge's outcome, once it ended in time
  private @Nullable Throwable hedgeError; // or what its send threw
  private boolean firstEnded;

  HedgedRun(BalancedCall call, Driver<R, X> driver, Attempt first) {
    this.call = call;
    this.driver = driver;
    this.first = new Owned(first);
  }

  /** Whether the hedge ended with the caller's answer; guarded by this. */
  private boolean hedgeWon() {
    Step<R, X> h = hedgeStep;
    return h != null && h.decision == null;
  }

  /** The caller's side: sends the first attempt, then settles the race. */
  R run() throws X {
    Step<R, X> step;
    try {
      step = driver.send(first);
    } catch (Throwable t) {
      synchronized (this) {
        if (hedgeWon()) { // the hedge's answer cancelled this attempt, whose driver threw
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
      firstWins = h == null || (step.decision == null && !hedgeWon());
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
      while (hedgeStep == null && hedgeError == null) {
        wait();
      }
    } finally {
      settled = true;
    }
  }

  /** The first attempt failed (or lost): the hedge's outcome and the first's make the call's. */
  private R afterBoth(Step<R, X> step) throws X {
    Step<R, X> other = hedgeStep;
    if (hedgeWon()) {
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
    } catch (Throwable t) { // the hedge's own failure: reported by the driver, kept for the caller
      thrown = t;
    }
    boolean late;
    boolean cancelFirst = false;
    synchronized (this) {
      late = settled;
      if (!late) {
        hedgeStep = step;
        hedgeError = thrown;
        cancelFirst = hedgeWon() && !firstEnded;
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

  /**
   * An attempt of a hedged call: once the loop cancels it, whatever failure the driver reports is
   * reported as {@link Attempt#overtaken}, which blames no endpoint.
   */
  static final class Owned implements Attempt {
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
