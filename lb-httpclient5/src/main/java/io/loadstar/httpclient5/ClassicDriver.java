package io.loadstar.httpclient5;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hc.client5.http.HttpRoute;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecRuntime;
import org.apache.hc.client5.http.impl.classic.RequestFailedException;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.support.ClassicRequestBuilder;
import org.jspecify.annotations.Nullable;

/**
 * One classic request on the shared attempt loop: sends each attempt down the rest of the chain on
 * a route to its endpoint, and applies what only HTTP knows (repeatable entities, Retry-After,
 * which statuses fail, reading a body ahead so that an early break can be retried). An attempt of
 * an idempotent request with a repeatable entity that has a timeout, and every attempt of a request
 * that may be hedged, runs as a {@link ClassicExchange} that can be cut. Made per request; used
 * from the calling thread, and from a hedge thread for a hedge.
 */
final class ClassicDriver implements AttemptLoop.Driver<ClassicHttpResponse, IOException> {

  /** Failure answers up to this size are read to the end when discarded, keeping the connection. */
  private static final long DRAIN_LIMIT = 64 * 1024;

  private final HttpClientLoadBalancing.Settings settings;
  private final String service;
  private final RetryPolicy policy;
  private final ClassicHttpRequest request;
  private final ExecChain.Scope scope;
  private final ExecChain chain;
  private final boolean replayable;
  private final boolean idempotent;
  private final CallAttempts attempts = new CallAttempts();
  private volatile @Nullable IOException lastError;
  private ClassicExchange.@Nullable Calls calls; // once an attempt runs as an exchange
  private @Nullable Map<Attempt, ClassicExchange> hedged; // set before any attempt is sent

  ClassicDriver(
      HttpClientLoadBalancing.Settings settings,
      String service,
      RetryPolicy policy,
      ClassicHttpRequest request,
      ExecChain.Scope scope,
      ExecChain chain,
      boolean idempotent) {
    this.settings = settings;
    this.service = service;
    this.policy = policy;
    this.request = request;
    this.scope = scope;
    this.chain = chain;
    this.idempotent = idempotent;
    HttpEntity entity = request.getEntity();
    this.replayable = entity == null || entity.isRepeatable();
    scope.clientContext.setAttribute(CallAttempts.ATTRIBUTE, attempts);
  }

  /**
   * A request may be hedged if the policy hedges and it may be sent twice: idempotent, with a
   * repeatable entity (or none).
   */
  @Override
  public boolean hedges() {
    boolean hedges = idempotent && replayable && policy.hedging().isEnabled();
    if (hedges) {
      hedged = new ConcurrentHashMap<>(4);
      calls = ClassicExchange.Calls.of(scope);
    }
    return hedges;
  }

  @Override
  public void cancel(Attempt attempt) {
    exchange(attempt).cancel();
  }

  /**
   * The exchange {@code attempt} runs as when it may be cut: for a request that may be hedged (made
   * by whichever of its send and a cancel comes first), and for an idempotent request with a
   * repeatable entity whose attempt has a timeout; else null (the request's own runtime).
   */
  private @Nullable ClassicExchange exchangeIfCut(Attempt attempt) {
    Map<Attempt, ClassicExchange> h = hedged;
    if (h != null) {
      return exchange(attempt);
    }
    if (attempt.timeoutNanos() == Long.MAX_VALUE || !idempotent || !replayable) {
      return null;
    }
    ClassicExchange.Calls c = calls;
    if (c == null) {
      c = ClassicExchange.Calls.of(scope);
      calls = c;
    }
    return c.start(scope.clientContext);
  }

  private ClassicExchange exchange(Attempt attempt) {
    return requireNonNull(hedged, "not hedged")
        .computeIfAbsent(
            attempt,
            a ->
                requireNonNull(calls)
                    .start(HttpRules.attemptContext(scope.clientContext, a.number())));
  }

  @Override
  public AttemptLoop.Step<ClassicHttpResponse, IOException> send(Attempt attempt)
      throws IOException {
    Endpoint endpoint = attempt.endpoint();
    Ticker ticker = settings.ticker();
    long start = ticker.nanoTime();
    ClassicExchange exchange = exchangeIfCut(attempt);
    ExecRuntime runtime = exchange != null ? exchange.runtime() : scope.execRuntime;
    long timeout = idempotent && replayable ? attempt.timeoutNanos() : Long.MAX_VALUE;
    ClassicHttpResponse response = null;
    try {
      HttpRoute route = HttpRules.endpointRoute(scope.route, endpoint);
      ExecChain.Scope attemptScope =
          exchange != null
              ? exchange.scope(scope, route)
              : new ExecChain.Scope(
                  scope.exchangeId,
                  route,
                  scope.originalRequest,
                  scope.execRuntime,
                  scope.clientContext);
      if (exchange != null && timeout != Long.MAX_VALUE) {
        exchange.timeoutAfter(timeout);
      }
      ClassicHttpRequest sent =
          HttpRules.tellBudget(
              ClassicRequestBuilder.copy(request).build(), timeout, settings.timeoutHeader());
      response = chain.proceed(sent, attemptScope);
      if (replayable && idempotent && attempt.number() < policy.maxAttempts()) {
        ReadAhead.apply(response, settings.readAheadBytes(), this::handledByStatus);
      }
      if (exchange != null && !exchange.answered()) {
        throw new InterruptedIOException("cut as its answer arrived"); // handled as cut, below
      }
    } catch (IOException | HttpException thrown) {
      long latency = ticker.nanoTime() - start;
      IOException e =
          exchange != null && exchange.timedOut()
              ? HttpRules.timedOut(endpoint, service, timeout, thrown)
              : HttpRules.io(thrown);
      int brokenStatus = 0;
      if (response != null) {
        brokenStatus = response.getCode();
        closeQuietly(response); // the broken body's connection is discarded
      }
      if (runtime.isEndpointAcquired()) {
        runtime.discardEndpoint(); // never reused by the next attempt's route
      }
      if (scope.execRuntime.isExecutionAborted()) {
        attempt.cancelled(); // the caller cancelled the request: not the endpoint's fault
        throw e;
      }
      CallFailure failure = HttpRules.failure(e);
      if (exchange == null || !exchange.isCancelled()) { // a hedge's loser is not listed
        attempts.add(new CallAttempts.Attempt(endpoint, brokenStatus, e, latency));
        lastError = e;
      }
      if (!replayable) {
        attempt.failed(failure, latency, -1, 0); // reported; an entity that cannot be repeated
        throw e;
      }
      return AttemptLoop.Step.failed(e, attempt.failed(failure, latency, -1, Long.MAX_VALUE));
    } catch (RuntimeException | Error e) {
      if (response != null) {
        closeQuietly(response);
      }
      attempt.cancelled(); // a bug elsewhere in the chain says nothing about the endpoint
      throw e;
    }
    long latency = ticker.nanoTime() - start;
    int code = response.getCode();
    attempts.add(new CallAttempts.Attempt(endpoint, code, null, latency));
    lastError = null;
    boolean failed = settings.failureStatus().test(code);
    if (replayable && (failed || policy.isRetryableStatus(code))) {
      RetryDecision decision = HttpRules.reportStatus(attempt, response, failed, latency);
      return AttemptLoop.Step.answered(response, decision);
    }
    if (failed) {
      attempt.failed(CallFailure.status(code), latency, -1, 0); // reported: not retryable
      return AttemptLoop.Step.done(response);
    }
    HttpEntity entity = response.getEntity();
    if (entity == null) {
      attempt.succeeded(latency);
    } else {
      // Success is reported when the body is read or closed, so in-flight covers the whole body.
      response.setEntity(new ReportingEntity(entity, attempt, latency));
    }
    return AttemptLoop.Step.done(response);
  }

  private boolean handledByStatus(int code) {
    return settings.failureStatus().test(code) || policy.isRetryableStatus(code);
  }

  @Override
  public void await(BalancedCall balanced, long delayNanos) throws IOException {
    if (delayNanos > 0) {
      try {
        // The balancer's clock; also wakes if it closes.
        balanced.awaitBackoff(delayNanos, scope.execRuntime::isExecutionAborted);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted during retry backoff");
      }
    }
    if (scope.execRuntime.isExecutionAborted()) {
      RequestFailedException aborted = new RequestFailedException("Request aborted");
      if (lastError != null) {
        aborted.addSuppressed(lastError);
      }
      throw aborted;
    }
  }

  @Override
  public IOException unavailable(String reason) {
    return new EndpointUnavailableException(service, reason);
  }

  @Override
  public IOException interrupted(InterruptedException e) {
    return new InterruptedIOException("interrupted while waiting for endpoints");
  }

  @Override
  public void discard(ClassicHttpResponse answer) {
    HttpEntity entity = answer.getEntity();
    try {
      if (entity != null
          && entity.getContentLength() >= 0
          && entity.getContentLength() <= DRAIN_LIMIT) {
        EntityUtils.consume(entity); // a short failure body: read it, keep the connection
      }
    } catch (IOException e) {
      // the connection is discarded by the close below
    }
    closeQuietly(answer);
  }

  private static void closeQuietly(ClassicHttpResponse response) {
    try {
      response.close();
    } catch (IOException ignored) {
      // closing gives the connection back or discards it; nothing else to do
    }
  }
}
