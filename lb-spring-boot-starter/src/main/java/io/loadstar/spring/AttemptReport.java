package io.loadstar.spring;

import io.loadstar.api.Attempt;
import io.loadstar.api.CallFailure;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.Ticker;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * One attempt's single report, whichever comes first of its answer, its body's end or break, or a
 * cancel (each may arrive on another thread): the first claims it, the others do nothing. The
 * latency is measured from when the attempt was sent to when it is reported.
 */
final class AttemptReport {

  private final Attempt attempt;
  private final Ticker ticker;
  private final long start;
  private final AtomicBoolean done = new AtomicBoolean();

  /** An attempt sent now. */
  AttemptReport(Attempt attempt, Ticker ticker) {
    this.attempt = attempt;
    this.ticker = ticker;
    this.start = ticker.nanoTime();
  }

  Attempt attempt() {
    return attempt;
  }

  private long latency() {
    return ticker.nanoTime() - start;
  }

  /**
   * Reports a failure that may be retried; returns the decision, or null if the attempt was
   * reported already (cancelled meanwhile).
   */
  @Nullable RetryDecision failed(CallFailure failure, long retryAfterNanos) {
    return done.compareAndSet(false, true)
        ? attempt.failed(failure, latency(), retryAfterNanos, Long.MAX_VALUE)
        : null;
  }

  /**
   * Reports an answer whose status is retried: as the endpoint's failure if {@code failed}, else as
   * a refusal that does not blame it (a 429); with its {@code Retry-After} header's delay. Returns
   * the decision, or null if the attempt was reported already.
   */
  @Nullable RetryDecision answered(int status, boolean failed, @Nullable String retryAfter) {
    if (!done.compareAndSet(false, true)) {
      return null;
    }
    CallFailure failure = CallFailure.status(status);
    long delay = AddressRewriting.retryAfterNanos(retryAfter);
    return failed
        ? attempt.failed(failure, latency(), delay, Long.MAX_VALUE)
        : attempt.refused(failure, latency(), delay, Long.MAX_VALUE);
  }

  void succeeded() {
    if (done.compareAndSet(false, true)) {
      attempt.succeeded(latency());
    }
  }

  /** The answer's body broke in the caller's hands: the endpoint's failure, too late to retry. */
  void bodyFailed(Throwable e) {
    if (done.compareAndSet(false, true)) {
      attempt.failed(CallFailure.classify(e), latency(), -1, 0);
    }
  }

  /** The request's other attempt answered first: this one is given up, blaming no endpoint. */
  void overtaken() {
    if (done.compareAndSet(false, true)) {
      attempt.overtaken(latency());
    }
  }

  /** The caller gave up: not the endpoint's fault. */
  void cancelled() {
    if (done.compareAndSet(false, true)) {
      attempt.cancelled();
    }
  }
}
