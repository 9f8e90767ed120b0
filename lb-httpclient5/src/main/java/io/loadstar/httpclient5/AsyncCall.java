package io.loadstar.httpclient5;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.HttpRoute;
import org.apache.hc.client5.http.async.AsyncExecCallback;
import org.apache.hc.client5.http.async.AsyncExecChain;
import org.apache.hc.core5.concurrent.Cancellable;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.nio.AsyncEntityProducer;
import org.apache.hc.core5.http.support.BasicRequestBuilder;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the attempts of one async request, driven by HttpClient's callbacks instead of a
 * loop, on the same rules as the classic driver's attempt loop. At most two attempts are out at
 * once: the current one and, for a hedged request, the hedge sent beside it once the hedging delay
 * has passed. The first to answer for the caller wins; the other is cut and reported overtaken. One
 * that ends without an answer while the other is out waits for it: the call's latest attempt (the
 * hedge) decides what comes next, since the balancer's decision on the first one's report is
 * void while the hedge is out. Attempts, timers, the hedge thread and the caller's abort meet in
 * this object's lock, which guards the race and each attempt's state; nothing blocks under it.
 */
/**
 * One async request's attempts: report each attempt once, retry what the decision allows on an
 * endpoint not tried, hand the last answer or failure to the caller with the earlier failures
 * suppressed in it. A retry is sent from a timer thread once its delay has passed; no endpoint is
 * held while it waits. A failure answer that is retried is kept (up to 64 KiB) so that it can still
 * be handed over if no endpoint is left for the retry; an idempotent request's answer is read ahead
 * as the classic driver does ({@link HeldAnswer}).
 *
 * <p>An attempt of an idempotent request that another may follow is bounded by the balancer's
 * attempt timeout ({@link Attempt#timeoutNanos()}); an idempotent request without a body is hedged
 * when the balancer's policy hedges. Such attempts run as {@link AsyncAttempt}s that can be cut.
 */
final class AsyncCall implements Cancellable {

  /** The most of a retried failure answer's body that is kept to hand over. */
  static final int KEEP_LIMIT = 64 * 1024;

  /** How an attempt ended without answering for the caller: its decision, what it kept, why. */
  record Ended(
      int number, RetryDecision decision, @Nullable HeldAnswer kept, @Nullable Exception error) {}

  final HttpClientLoadBalancing.Settings settings;
  final String service;
  final RetryPolicy policy;
  final AsyncExecChain.Scope scope;
  final AsyncCaller caller;
  final boolean replayable;
  final boolean idempotent;
  final CallAttempts attempts = new CallAttempts();
  private final BalancedCall call;
  private final HttpRequest request;
  private final @Nullable AsyncEntityProducer producer;
  private final AsyncExecChain chain;
  private final boolean hedges;

  // Guarded by this.
  private @Nullable AsyncAttempt current;
  private @Nullable AsyncAttempt hedge;
  private @Nullable AsyncAttempt winner;
  private @Nullable Ended waiting; // ended first, beside the other attempt still out
  private int open; // attempts out that have not ended

  AsyncCall(
      HttpClientLoadBalancing.Settings settings,
      String service,
      RetryPolicy policy,
      BalancedCall call,
      HttpRequest request,
      @Nullable AsyncEntityProducer producer,
      AsyncExecChain.Scope scope,
      AsyncExecChain chain,
      AsyncExecCallback callback,
      boolean idempotent) {
    this.settings = settings;
    this.service = service;
    this.policy = policy;
    this.call = call;
    this.request = BasicRequestBuilder.copy(request).build(); // each attempt sends a fresh copy
    this.producer = producer;
    this.scope = scope;
    this.chain = chain;
    this.caller = new AsyncCaller(service, callback);
    this.replayable = producer == null || producer.isRepeatable();
    this.idempotent = idempotent;
    // Two attempts at once share no entity producer: only a request without a body is hedged.
    this.hedges = idempotent && producer == null && policy.hedging().isEnabled();
    scope.clientContext.setAttribute(CallAttempts.ATTRIBUTE, attempts);
  }

  /** Sends the request's first attempt, with its hedge armed if the request may be hedged. */
  void start(Attempt first) {
    AsyncAttempt a = attemptOn(first);
    if (!adopt(a)) {
      return;
    }
    if (hedges) {
      call.scheduleHedge(this::sendHedge);
    }
    send(a);
  }

  /**
   * Makes {@code a} the request's only attempt out; false if the request was aborted meanwhile
   * (then {@code a} is reported cancelled and the caller's request fails, and nothing is sent).
   */
  private boolean adopt(AsyncAttempt a) {
    synchronized (this) {
      current = a;
      hedge = null;
      winner = null;
      waiting = null;
      open = 1;
    }
    // An abort from here on finds the attempt current and cuts it; one before, nothing to cut.
    if (!callerGaveUp()) {
      return true;
    }
    a.attempt.cancelled();
    caller.aborted();
    return false;
  }

  /**
   * The attempt {@code picked} runs as: one that can be cut when the request is hedged or the
   * attempt has a timeout (an idempotent request with a repeatable entity, or none), else one on
   * the request's runtime.
   */
  private AsyncAttempt attemptOn(Attempt picked) {
    long timeout = idempotent && replayable ? picked.timeoutNanos() : Long.MAX_VALUE;
    boolean cuttable = hedges || timeout != Long.MAX_VALUE;
    if (cuttable) {
      // The request's abort cuts every attempt. Set again for each: an attempt on the request's
      // runtime in between puts its own exchange there.
      scope.cancellableDependency.setDependency(this);
    }
    return new AsyncAttempt(this, picked, timeout, cuttable);
  }

  /** Sends {@code a} down the chain on a route to its endpoint. */
  private void send(AsyncAttempt a) {
    try {
      HttpRoute route = HttpRules.endpointRoute(scope.route, a.attempt.endpoint());
      a.armTimer();
      HttpRequest sent =
          HttpRules.tellBudget(
              BasicRequestBuilder.copy(request).build(),
              a.timeoutNanos(),
              settings.timeoutHeader());
      chain.proceed(sent, producer, a.scope(route), a);
    } catch (HttpException | IOException | RuntimeException e) {
      a.failed(e);
    }
  }

  /**
   * The hedging delay has passed with the first attempt still out, nothing arrived: sends the
   * hedge, on an endpoint the request has not tried, beside it. On the balancer's hedge thread.
   */
  private void sendHedge() {
    AsyncAttempt h;
    boolean gone;
    synchronized (this) {
      AsyncAttempt c = current;
      if (callerGaveUp()
          || winner != null
          || hedge != null
          || open != 1
          || c == null
          || c.state != AsyncAttempt.RUNNING) {
        return;
      }
      Attempt picked = call.hedge();
      if (!picked.isAvailable()) {
        return; // no hedge: the first attempt is the request's
      }
      h = attemptOn(picked);
      gone = callerGaveUp(); // aborted as it was picked: not sent
      if (!gone) {
        hedge = h;
        open = 2;
      }
    }
    if (gone) {
      h.attempt.cancelled();
      return;
    }
    send(h);
  }

  /** The request was aborted: every attempt out is cut; their failures end the request. */
  @Override
  public boolean cancel() {
    AsyncAttempt c;
    AsyncAttempt h;
    synchronized (this) {
      c = current;
      h = hedge;
    }
    call.cancelHedge();
    if (c != null) {
      c.abort();
    }
    if (h != null) {
      h.abort();
    }
    return true;
  }

  /** Whether the caller gave up on the request. */
  boolean callerGaveUp() {
    return scope.cancellableDependency.isCancelled();
  }

  /** {@code a}'s answer (or failure) arrived: its callbacks own it; false if it was cut. */
  synchronized boolean own(AsyncAttempt a) {
    if (a.state == AsyncAttempt.RUNNING) {
      a.state = AsyncAttempt.OWNED;
    }
    return a.state == AsyncAttempt.OWNED;
  }

  /** {@code a} failed: whether the failure is its own, its timeout's, or it was cut. */
  synchronized AsyncAttempt.Failure ownFailure(AsyncAttempt a) {
    if (a.state != AsyncAttempt.RUNNING && a.state != AsyncAttempt.OWNED) {
      return AsyncAttempt.Failure.CUT;
    }
    a.state = AsyncAttempt.FAILING; // a second failure of the exchange is not reported
    return a.timedOutLate ? AsyncAttempt.Failure.TIMED_OUT : AsyncAttempt.Failure.OWNED;
  }

  /** {@code a}'s attempt timeout passed: whether, and how, it is cut. */
  synchronized AsyncAttempt.Cut timeOut(AsyncAttempt a) {
    if (a.state == AsyncAttempt.RUNNING && producer == null) {
      a.state = AsyncAttempt.CUT;
      return AsyncAttempt.Cut.EARLY;
    }
    if (a.state == AsyncAttempt.RUNNING || a.state == AsyncAttempt.OWNED) {
      a.timedOutLate = true; // a body being sent or an answer being read: failed() reports it
      return AsyncAttempt.Cut.LATE;
    }
    return AsyncAttempt.Cut.NONE;
  }

  /** Whether another attempt than {@code a} is out beside it, unanswered. */
  synchronized boolean othersOut(AsyncAttempt a) {
    return open > 1 && winner == null && (a == current || a == hedge);
  }

  /** Whether {@code a} is the only attempt out (what it receives may go to the caller). */
  synchronized boolean alone(AsyncAttempt a) {
    boolean live =
        a.state == AsyncAttempt.RUNNING
            || a.state == AsyncAttempt.OWNED
            || a.state == AsyncAttempt.SPEAKING;
    return live && (winner == a || (open == 1 && a == current));
  }

  /**
   * {@code a} answers for the caller: whether it may (it was not cut, and no other answered first).
   * The other attempt out, if any, is cut and reported overtaken.
   */
  boolean speak(AsyncAttempt a) {
    AsyncAttempt other;
    Ended dropped;
    synchronized (this) {
      if (winner == a) {
        return true;
      }
      if (winner != null || (a.state != AsyncAttempt.RUNNING && a.state != AsyncAttempt.OWNED)) {
        return false;
      }
      a.state = AsyncAttempt.SPEAKING;
      winner = a;
      other = a == current ? hedge : a == hedge ? current : null;
      if (other != null
          && (other.state == AsyncAttempt.RUNNING || other.state == AsyncAttempt.OWNED)) {
        other.state = AsyncAttempt.CUT;
      } else {
        other = null;
      }
      dropped = waiting;
      waiting = null;
    }
    call.cancelHedge();
    a.stopTimer();
    if (other != null) {
      other.overtaken();
    }
    release(dropped);
    return true;
  }

  /**
   * {@code a} ended without answering for the caller, as {@code ended} says ({@code cut}: by its
   * timer, which cut it). Waits for the other attempt if one is out; else acts on the latest
   * attempt's outcome.
   */
  void ended(AsyncAttempt a, Ended ended, boolean cut) {
    Ended act;
    Ended other;
    synchronized (this) {
      boolean mine =
          cut
              ? a.state == AsyncAttempt.CUT
              : a.state == AsyncAttempt.OWNED || a.state == AsyncAttempt.FAILING;
      if (!mine) {
        return; // cut meanwhile: reported by whoever cut it, and the call went on without it
      }
      if (!cut) {
        a.state = AsyncAttempt.ENDED;
      }
      open--;
      if (winner != null) {
        act = null;
        other = ended; // the other attempt answered: this outcome is moot
      } else if (open > 0) {
        waiting = ended;
        return;
      } else {
        Ended w = waiting;
        waiting = null;
        act = w == null || ended.number() >= w.number() ? ended : w;
        other = act == ended ? w : ended;
      }
    }
    call.cancelHedge();
    if (act == null) {
      release(other);
      return;
    }
    if (other != null) {
      Exception e = other.error();
      if (e != null) {
        caller.failedWith(e);
      }
      if (other.kept() != act.kept()) {
        release(other);
      }
    }
    act(act);
  }

  private static void release(@Nullable Ended ended) {
    HeldAnswer kept = ended != null ? ended.kept() : null;
    if (kept != null) {
      kept.releaseResources();
    }
  }

  /** Retries as the latest attempt's decision allows, or gives the caller its answer or failure. */
  private void act(Ended ended) {
    Exception error = ended.error();
    if (error != null) {
      caller.failedWith(error);
    }
    RetryDecision decision = ended.decision();
    if (decision.isRetry()) {
      retryAfter(decision, ended.kept());
      return;
    }
    caller.giveUp(ended.kept(), decision.unavailableReason());
  }

  /**
   * Sends the retry {@code decision} allows once its delay has passed, from a timer thread (never
   * from inside the callback of the attempt that just ended); hands over {@code kept} (or the last
   * failure) when nothing is left to pick.
   */
  private void retryAfter(RetryDecision decision, @Nullable HeldAnswer kept) {
    if (producer != null) {
      producer.releaseResources(); // rewinds a repeatable entity for the next attempt
    }
    if (scope.execRuntime.isEndpointAcquired()) {
      scope.execRuntime.discardEndpoint(); // never reused by the next attempt's route
    }
    Executor timer =
        CompletableFuture.delayedExecutor(
            Math.max(0, decision.delayNanos()), TimeUnit.NANOSECONDS, Runnable::run);
    timer.execute(() -> next(kept));
  }

  private void next(@Nullable HeldAnswer kept) {
    try {
      if (callerGaveUp()) {
        caller.aborted();
        return;
      }
      Attempt next = call.next();
      if (!next.isAvailable()) {
        // Nothing left: the last answer or failure is the request's.
        caller.giveUp(kept, next.reason());
        return;
      }
      AsyncAttempt a = attemptOn(next);
      if (adopt(a)) {
        send(a);
      }
    } catch (RuntimeException e) {
      caller.fail(e);
    }
  }
}
