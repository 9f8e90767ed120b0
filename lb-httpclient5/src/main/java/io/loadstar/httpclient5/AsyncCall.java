package io.loadstar.httpclient5;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hc.client5.http.HttpRoute;
import org.apache.hc.client5.http.async.AsyncExecCallback;
import org.apache.hc.client5.http.async.AsyncExecChain;
import org.apache.hc.client5.http.impl.classic.RequestFailedException;
import org.apache.hc.core5.http.EntityDetails;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.nio.AsyncDataConsumer;
import org.apache.hc.core5.http.nio.AsyncEntityProducer;
import org.apache.hc.core5.http.support.BasicRequestBuilder;
import org.jspecify.annotations.Nullable;

/**
 * One async request's attempts: the same rules as the classic driver's attempt loop (report each
 * attempt once, retry what the decision allows on an endpoint not tried, hand the last answer or
 * failure to the caller with the earlier failures suppressed in it), driven by HttpClient's
 * callbacks instead of a loop. A retry is sent from a timer thread once its delay has passed; no
 * endpoint is held while it waits. A failure answer that is retried is kept (up to 64 KiB) so that
 * it can still be handed over if no endpoint is left for the retry; an idempotent request's answer
 * is read ahead as the classic driver does ({@link HeldAnswer}).
 *
 * <p>Attempts run one after another; each hand-off (HttpClient's I/O thread to the timer and back)
 * orders what one attempt wrote before the next reads it.
 */
final class AsyncCall {

  /** The most of a retried failure answer's body that is kept to hand over. */
  private static final int KEEP_LIMIT = 64 * 1024;

  private final HttpClientLoadBalancing.Settings settings;
  private final String service;
  private final RetryPolicy policy;
  private final BalancedCall call;
  private final HttpRequest request;
  private final @Nullable AsyncEntityProducer producer;
  private final AsyncExecChain.Scope scope;
  private final AsyncExecChain chain;
  private final AsyncExecCallback callback;
  private final boolean replayable;
  private final boolean idempotent;
  private final CallAttempts attempts = new CallAttempts();
  private volatile @Nullable Exception lastError;

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
    this.callback = callback;
    this.replayable = producer == null || producer.isRepeatable();
    this.idempotent = idempotent;
    scope.clientContext.setAttribute(CallAttempts.ATTRIBUTE, attempts);
  }

  /** Sends {@code attempt} down the chain on a route to its endpoint. */
  void send(Attempt attempt) {
    long start = settings.ticker().nanoTime();
    AttemptCallback attemptCallback = new AttemptCallback(attempt, start);
    try {
      HttpRoute route = HttpRules.endpointRoute(scope.route, attempt.endpoint());
      AsyncExecChain.Scope attemptScope =
          new AsyncExecChain.Scope(
              scope.exchangeId,
              route,
              scope.originalRequest,
              scope.cancellableDependency,
              scope.clientContext,
              scope.execRuntime,
              scope.scheduler,
              scope.execCount);
      chain.proceed(
          BasicRequestBuilder.copy(request).build(), producer, attemptScope, attemptCallback);
    } catch (HttpException | IOException | RuntimeException e) {
      attemptCallback.failed(e);
    }
  }

  /**
   * What an attempt's answer came to, seen from the callbacks of that attempt. HttpClient calls
   * them one after another, but a cancel may fail the exchange from the cancelling thread: so the
   * fields are volatile and the attempt is reported by whoever claims it first.
   */
  private final class AttemptCallback implements AsyncExecCallback {
    private final Attempt attempt;
    private final long start;
    private final AtomicBoolean reported = new AtomicBoolean();
    private volatile long latency;
    private volatile boolean handedOver;
    private volatile @Nullable RetryDecision retry;
    private volatile @Nullable HeldAnswer held;

    AttemptCallback(Attempt attempt, long start) {
      this.attempt = attempt;
      this.start = start;
    }

    /** Whether this thread is the one to report the attempt (exactly one report per attempt). */
    private boolean claim() {
      return reported.compareAndSet(false, true);
    }

    @Override
    public @Nullable AsyncDataConsumer handleResponse(
        HttpResponse response, @Nullable EntityDetails entity) throws HttpException, IOException {
      latency = settings.ticker().nanoTime() - start;
      int code = response.getCode();
      attempts.add(new CallAttempts.Attempt(attempt.endpoint(), code, null, latency));
      lastError = null;
      boolean failed = settings.failureStatus().test(code);
      if (replayable && (failed || policy.isRetryableStatus(code)) && claim()) {
        RetryDecision decision = HttpRules.reportStatus(attempt, response, failed, latency);
        if (decision.isRetry()) {
          retry = decision;
          HeldAnswer kept =
              new HeldAnswer(HeldAnswer.Mode.KEEP, KEEP_LIMIT, response, entity, callback);
          held = kept;
          return entity != null ? kept : null;
        }
      } else if (failed) {
        if (claim()) {
          attempt.failed(CallFailure.status(code), latency, -1, 0); // reported: not retryable
        }
      } else if (entity != null
          && replayable
          && idempotent
          && settings.readAheadBytes() > 0
          && attempt.number() < policy.maxAttempts()
          && !HttpRules.isStream(entity)) {
        // Read the start of the body before the caller sees it: an early break is retried.
        HeldAnswer ahead =
            new HeldAnswer(
                HeldAnswer.Mode.READ_AHEAD, settings.readAheadBytes(), response, entity, callback);
        held = ahead;
        return ahead;
      }
      handedOver = true;
      return callback.handleResponse(response, entity);
    }

    @Override
    public void handleInformationResponse(HttpResponse response) throws HttpException, IOException {
      callback.handleInformationResponse(response);
    }

    @Override
    public void completed() {
      RetryDecision decision = retry;
      if (decision != null) {
        retryAfter(decision, held);
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
      callback.completed();
    }

    @Override
    public void failed(Exception cause) {
      RetryDecision decision = retry;
      if (decision != null) {
        // The retried answer's body broke while it was being set aside: retry all the same,
        // with nothing to hand over if no endpoint is left.
        retryAfter(decision, null);
        return;
      }
      HeldAnswer ahead = held;
      if (handedOver || (ahead != null && ahead.handedOver())) {
        if (claim()) {
          attempt.failed(
              CallFailure.possiblyProcessed(cause), latency, -1, 0); // the caller's already
        }
        callback.failed(cause);
        return;
      }
      long took = settings.ticker().nanoTime() - start;
      if (!claim()) {
        callback.failed(cause); // reported already (a cancel raced the exchange's own failure)
        return;
      }
      if (scope.cancellableDependency.isCancelled()) {
        attempt.cancelled(); // the caller gave up: not the endpoint's fault
        callback.failed(cause);
        return;
      }
      CallFailure failure = HttpRules.failure(cause);
      int brokenStatus = ahead != null ? ahead.response().getCode() : 0;
      attempts.add(new CallAttempts.Attempt(attempt.endpoint(), brokenStatus, cause, took));
      suppressEarlier(cause);
      if (!replayable) {
        attempt.failed(failure, took, -1, 0); // reported; an entity that cannot be sent twice
        callback.failed(cause);
        return;
      }
      RetryDecision d = attempt.failed(failure, took, -1, Long.MAX_VALUE);
      if (!d.isRetry()) {
        String reason = d.unavailableReason();
        if (reason != null) {
          cause.addSuppressed(new EndpointUnavailableException(service, reason));
        }
        callback.failed(cause);
        return;
      }
      lastError = cause;
      retryAfter(d, null);
    }
  }

  private void suppressEarlier(Exception cause) {
    Exception earlier = lastError;
    if (earlier != null && earlier != cause) {
      cause.addSuppressed(earlier);
    }
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
      if (scope.cancellableDependency.isCancelled()) {
        RequestFailedException aborted = new RequestFailedException("Request aborted");
        suppressEarlier(aborted);
        callback.failed(aborted);
        return;
      }
      Attempt next = call.next();
      if (next.isAvailable()) {
        send(next);
        return;
      }
      // Nothing left: the last answer or failure is the request's.
      if (kept != null && kept.complete()) {
        kept.handOver();
        kept.releaseResources();
        callback.completed();
        return;
      }
      Exception last = lastError;
      IOException unavailable = new EndpointUnavailableException(service, next.reason());
      if (last == null) {
        unavailable.initCause(
            new IOException(
                kept != null
                    ? "the last answer, " + kept.response().getCode() + ", was too large to keep"
                    : "no attempt answered"));
        callback.failed(unavailable);
      } else {
        last.addSuppressed(unavailable);
        callback.failed(last);
      }
    } catch (RuntimeException | HttpException | IOException e) {
      callback.failed(e);
    }
  }
}
