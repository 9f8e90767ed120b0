package io.loadstar.httpclient5;

import io.loadstar.api.Attempt;
import io.loadstar.api.CallFailure;
import io.loadstar.api.RetryDecision;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hc.client5.http.async.AsyncExecCallback;
import org.apache.hc.client5.http.async.AsyncExecChain;
import org.apache.hc.client5.http.async.AsyncExecRuntime;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.http.EntityDetails;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.nio.AsyncDataConsumer;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: an attempt that may be cut (its attempt timeout passes before its answer, or the
 * other attempt of a hedged request answers first) runs on a runtime forked from the request's,
 * depending on a cancellable of its own, the way HttpClient aborts a request; the request's abort
 * reaches it through AsyncCall. The call never waits for a cut attempt's callbacks to move on: an
 * attempt cut before anything arrived is reported by whoever cut it (the timer, or the winner), and
 * its callbacks, when they come, only give its connection back. Once its answer's head (or its
 * failure) has arrived, the callbacks own the attempt: a timeout then cuts the exchange, whose
 * failure they report. Which of them acts is decided under AsyncCall's lock (the attempt's state).
 */
/**
 * One attempt of an async request: HttpClient's callbacks for its exchange, a timer for its attempt
 * timeout, and its state in the request's race. Made per attempt; its callbacks come from
 * HttpClient's I/O thread, the timer from the JDK's shared delayer, a cut from any thread.
 */
final class AsyncAttempt implements AsyncExecCallback {

  /** Nothing has arrived: the timer may cut it, the other attempt may overtake it. */
  static final int RUNNING = 0;

  /** Its answer's head or its failure arrived: its callbacks decide what it comes to. */
  static final int OWNED = 1;

  /** It answers for the caller. */
  static final int SPEAKING = 2;

  /** It ended without answering for the caller, and the call has its outcome. */
  static final int ENDED = 3;

  /** Cut (timed out before anything arrived, or overtaken): its callbacks only clean up. */
  static final int CUT = 4;

  /**
   * Its exchange failed, and that failure's callback reports it (HttpClient may fail an exchange
   * twice, from two threads: a cancel, then the connection's close).
   */
  static final int FAILING = 5;

  /** What an attempt timeout did to the attempt. */
  enum Cut {
    /** Nothing: it had answered, ended or been cut already. */
    NONE,
    /** Cut before anything arrived: the timer ends it. */
    EARLY,
    /** Cut after its head arrived, or while it sent a body: its exchange's failure ends it. */
    LATE
  }

  /** Whose failure an attempt's exchange failure is. */
  enum Failure {
    /** The attempt was cut and reported by whoever cut it, or its failure is reported already. */
    CUT,
    /** The attempt's own, to report. */
    OWNED,
    /** Its attempt timeout's, to report. */
    TIMED_OUT
  }

  final AsyncCall call;
  final Attempt attempt;
  private final long start;
  private final long timeoutNanos;
  private final @Nullable AttemptCancellable cancellable; // null: the request's runtime
  private final AsyncExecRuntime runtime;
  private final HttpClientContext context;
  private final AtomicBoolean reported = new AtomicBoolean();
  private volatile @Nullable CompletableFuture<Void> timer;

  /** Guarded by the call's lock. */
  int state = RUNNING;

  /** Guarded by the call's lock: the timeout passed after the head arrived, and cut it. */
  boolean timedOutLate;

  private volatile long latency;
  private volatile boolean handedOver;
  private volatile @Nullable RetryDecision retry;
  private volatile @Nullable HeldAnswer held;

  AsyncAttempt(AsyncCall call, Attempt attempt, long timeoutNanos, boolean cuttable) {
    this.call = call;
    this.attempt = attempt;
    this.start = call.settings.ticker().nanoTime();
    this.timeoutNanos = timeoutNanos;
    AsyncExecChain.Scope scope = call.scope;
    if (cuttable) {
      this.cancellable = new AttemptCancellable();
      this.runtime = scope.execRuntime.fork();
      this.context = HttpRules.attemptContext(scope.clientContext, attempt.number());
    } else {
      this.cancellable = null;
      this.runtime = scope.execRuntime;
      this.context = scope.clientContext;
    }
  }

  /** The attempt's timeout, where it applies to the answer; else {@code Long.MAX_VALUE}. */
  long timeoutNanos() {
    return timeoutNanos;
  }

  /** The scope the attempt's exchange runs in: its route, runtime, context and cancellable. */
  AsyncExecChain.Scope scope(org.apache.hc.client5.http.HttpRoute route) {
    AsyncExecChain.Scope s = call.scope;
    AttemptCancellable c = cancellable;
    return new AsyncExecChain.Scope(
        s.exchangeId,
        route,
        s.originalRequest,
        c != null ? c : s.cancellableDependency,
        context,
        runtime,
        s.scheduler,
        s.execCount);
  }

  /** Starts the attempt's timer, if it has a timeout and can be cut. */
  void armTimer() {
    if (cancellable == null || timeoutNanos == Long.MAX_VALUE) {
      return;
    }
    timer = HttpRules.timer(timeoutNanos, this::timedOut);
  }

  void stopTimer() {
    CompletableFuture<Void> t = timer;
    if (t != null) {
      t.complete(null);
    }
  }

  /** Whether this thread is the one to report the attempt (exactly one report per attempt). */
  private boolean claim() {
    return reported.compareAndSet(false, true);
  }

  /** The attempt timeout passed: cut the attempt, and end it here if nothing had arrived. */
  private void timedOut() {
    Cut cut = call.timeOut(this);
    if (cut == Cut.NONE) {
      return;
    }
    cutExchange();
    if (cut == Cut.LATE) {
      return; // the exchange's failure comes to failed(), which reports it
    }
    long took = call.settings.ticker().nanoTime() - start;
    IOException e = HttpRules.timedOut(attempt.endpoint(), call.service, timeoutNanos, null);
    call.attempts.add(new CallAttempts.Attempt(attempt.endpoint(), 0, e, took));
    RetryDecision d =
        claim()
            ? attempt.failed(HttpRules.failure(e), took, -1, Long.MAX_VALUE)
            : RetryDecision.stop();
    call.ended(this, new AsyncCall.Ended(attempt.number(), d, null, e), true);
  }

  /** The other attempt answered first: this one is reported overtaken and its exchange cut. */
  void overtaken() {
    stopTimer();
    if (claim()) {
      attempt.overtaken(attempt.elapsedNanos()); // blames no endpoint
    }
    cutExchange();
  }

  /** The caller aborted the request: the exchange is cut, and its failure ends the attempt. */
  void abort() {
    stopTimer();
    cutExchange();
  }

  private void cutExchange() {
    AttemptCancellable c = cancellable;
    if (c == null) {
      return;
    }
    c.cancel();
    if (!context.getRequestConfigOrDefault().isHardCancellationEnabled()) {
      runtime.discardEndpoint(); // a soft cancel leaves a started exchange: shut its connection
    }
  }

  @Override
  public @Nullable AsyncDataConsumer handleResponse(
      HttpResponse response, @Nullable EntityDetails entity) throws HttpException, IOException {
    latency = call.settings.ticker().nanoTime() - start;
    if (!call.own(this)) {
      throw new InterruptedIOException("cut: " + attempt.endpoint().key() + " answered too late");
    }
    int code = response.getCode();
    call.attempts.add(new CallAttempts.Attempt(attempt.endpoint(), code, null, latency));
    boolean failed = call.settings.failureStatus().test(code);
    if (call.replayable && (failed || call.policy.isRetryableStatus(code)) && claim()) {
      stopTimer(); // the head is in; a short failure body needs no timer
      RetryDecision decision = HttpRules.reportStatus(attempt, response, failed, latency);
      // Kept for a retry; or, beside another attempt still out, until it ends (the call's latest
      // attempt decides: a report while a hedge is out decides nothing).
      if (decision.isRetry() || call.othersOut(this)) {
        retry = decision;
        HeldAnswer kept =
            new HeldAnswer(
                HeldAnswer.Mode.KEEP,
                AsyncCall.KEEP_LIMIT,
                response,
                entity,
                call.caller.callback(),
                null);
        held = kept;
        return entity != null ? kept : null;
      }
    } else if (failed) {
      stopTimer();
      if (claim()) {
        attempt.failed(CallFailure.status(code), latency, -1, 0); // reported: not retryable
      }
    } else if (entity != null
        && call.replayable
        && call.idempotent
        && call.settings.readAheadBytes() > 0
        && attempt.number() < call.policy.maxAttempts()
        && !HttpRules.isStream(entity)) {
      // Read the start of the body before the caller sees it: an early break is retried. The
      // attempt speaks for the caller (and its timer stops) only when it is handed over.
      HeldAnswer ahead =
          new HeldAnswer(
              HeldAnswer.Mode.READ_AHEAD,
              call.settings.readAheadBytes(),
              response,
              entity,
              call.caller.callback(),
              () -> call.speak(this));
      held = ahead;
      return ahead;
    }
    if (!call.speak(this)) {
      throw new InterruptedIOException("overtaken: another attempt of the request answered first");
    }
    handedOver = true;
    return call.caller.callback().handleResponse(response, entity);
  }

  @Override
  public void handleInformationResponse(HttpResponse response) throws HttpException, IOException {
    if (call.alone(this)) {
      call.caller.callback().handleInformationResponse(response);
    }
  }

  @Override
  public void completed() {
    RetryDecision decision = retry;
    if (decision != null) {
      giveBackConnection(true);
      call.ended(this, new AsyncCall.Ended(attempt.number(), decision, held, null), false);
      return;
    }
    HeldAnswer ahead = held;
    if (ahead != null && !ahead.handedOver()) {
      try {
        ahead.handOver(); // an answer without a body end: hand over what there is
      } catch (HttpException | IOException | RuntimeException e) {
        failed(e);
        return;
      }
    }
    if (claim()) {
      attempt.succeeded(latency); // the whole body has arrived
    }
    giveBackConnection(true);
    call.caller.complete();
  }

  @Override
  public void failed(Exception cause) {
    giveBackConnection(false);
    RetryDecision decision = retry;
    if (decision != null) {
      // The kept answer's body broke (or was cut) while it was being set aside: retry all the
      // same, with nothing to hand over if no endpoint is left.
      call.ended(this, new AsyncCall.Ended(attempt.number(), decision, null, cause), false);
      return;
    }
    HeldAnswer ahead = held;
    if (handedOver || (ahead != null && ahead.handedOver())) {
      if (claim()) {
        if (call.callerGaveUp()) {
          attempt.cancelled(); // the caller aborted the body's read: not the endpoint's fault
        } else {
          attempt.failed(CallFailure.possiblyProcessed(cause), latency, -1, 0);
        }
      }
      call.caller.fail(cause); // the caller has the answer already
      return;
    }
    Failure owned = call.ownFailure(this);
    if (owned == Failure.CUT) {
      return; // reported when it was cut; the call went on without it
    }
    long took = call.settings.ticker().nanoTime() - start;
    if (call.callerGaveUp()) {
      if (claim()) {
        attempt.cancelled(); // the caller gave up: not the endpoint's fault
      }
      call.caller.fail(cause);
      return;
    }
    Exception e =
        owned == Failure.TIMED_OUT
            ? HttpRules.timedOut(attempt.endpoint(), call.service, timeoutNanos, cause)
            : cause;
    int brokenStatus = ahead != null ? ahead.response().getCode() : 0;
    call.attempts.add(new CallAttempts.Attempt(attempt.endpoint(), brokenStatus, e, took));
    CallFailure failure = HttpRules.failure(e);
    RetryDecision d;
    if (!claim()) {
      d = RetryDecision.stop(); // reported already (not expected): the caller still gets an end
    } else if (!call.replayable) {
      attempt.failed(failure, took, -1, 0); // reported; an entity that cannot be sent twice
      d = RetryDecision.stop();
    } else {
      d = attempt.failed(failure, took, -1, Long.MAX_VALUE);
    }
    call.ended(this, new AsyncCall.Ended(attempt.number(), d, null, e), false);
  }

  /**
   * Gives the attempt's connection back to the pool ({@code reusable}: as the exchange left it) or
   * shuts it, when the attempt ran on a runtime of its own; the request's runtime is the client's
   * (or the next attempt's) to release.
   */
  private void giveBackConnection(boolean reusable) {
    if (cancellable == null) {
      return;
    }
    if (reusable) {
      runtime.releaseEndpoint();
    } else {
      runtime.discardEndpoint();
    }
  }
}
