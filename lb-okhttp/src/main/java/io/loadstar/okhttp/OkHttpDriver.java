package io.loadstar.okhttp;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.okhttp.CallWatch.AttemptWatch;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import okhttp3.Call;
import okhttp3.Connection;
import okhttp3.Interceptor.Chain;
import okhttp3.MediaType;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;

/**
 * One OkHttp call on the shared attempt loop: sends each attempt (the first in the call's own
 * chain, retries as clones of the call; every attempt as a clone when the call may be hedged, so
 * that either of two can be cancelled), and applies what only HTTP knows (replayable bodies,
 * Retry-After, which statuses fail, reading a body ahead so that an early break can be retried) and
 * what OkHttp forces (cancellation, closing discarded bodies). Made per call; used from the calling
 * thread, and from a hedge thread for a hedged attempt.
 */
final class OkHttpDriver implements AttemptLoop.Driver<Response, IOException> {

  /** What the interceptor configures, shared by its calls. */
  record Settings(
      Ticker ticker,
      long attemptTimeoutNanos,
      long readAheadBytes,
      IntPredicate failureStatus,
      @Nullable String timeoutHeader) {}

  private final Settings settings;
  private final String service;
  private final RetryPolicy policy;
  private final Chain chain;
  private final Request request;
  private final Call call;
  private final CallWatch watch;
  private final boolean replayable;
  private final boolean idempotent;
  private final long callStart;
  private final long callTimeoutNanos;
  private final CallAttempts.Log attempts = new CallAttempts.Log();
  private volatile @Nullable IOException lastError;
  private @Nullable Map<Attempt, AttemptWatch> hedgedWatches; // set before any attempt is sent

  OkHttpDriver(
      Settings settings,
      String service,
      RetryPolicy policy,
      Chain chain,
      Request request,
      boolean idempotent) {
    this.settings = settings;
    this.service = service;
    this.policy = policy;
    this.chain = chain;
    this.request = request;
    this.call = chain.call();
    this.idempotent = idempotent;
    this.callStart = settings.ticker().nanoTime();
    this.callTimeoutNanos = call.timeout().timeoutNanos();
    this.watch = new CallWatch(call);
    call.addEventListener(watch);
    RequestBody body = request.body();
    this.replayable = body == null || (!body.isOneShot() && !body.isDuplex());
  }

  /** The time the call has left: its timeout minus what it has used, or no limit. */
  long remainingNanos() {
    return callTimeoutNanos > 0
        ? callTimeoutNanos - (settings.ticker().nanoTime() - callStart)
        : Long.MAX_VALUE;
  }

  /**
   * A call may be hedged if the policy hedges and it may be sent twice: idempotent, with a body
   * that can be replayed.
   */
  @Override
  public boolean hedges() {
    boolean hedges = idempotent && replayable && policy.hedging().isEnabled();
    if (hedges) {
      hedgedWatches = new ConcurrentHashMap<>(4);
    }
    return hedges;
  }

  @Override
  public void cancel(Attempt attempt) {
    watchOf(attempt).cancel();
  }

  /** The attempt's watch: its own, or, for a hedged call, the one a cancel may have made first. */
  private AttemptWatch watchOf(Attempt attempt) {
    Map<Attempt, AttemptWatch> watches = hedgedWatches;
    return watches == null
        ? new AttemptWatch()
        : watches.computeIfAbsent(attempt, a -> new AttemptWatch());
  }

  @Override
  public AttemptLoop.Step<Response, IOException> send(Attempt attempt) throws IOException {
    Endpoint endpoint = attempt.endpoint();
    AttemptWatch aw = watchOf(attempt);
    Ticker ticker = settings.ticker();
    long start = ticker.nanoTime();
    Response response = null;
    try {
      Timeouts timeouts = timeouts(attempt.timeoutNanos());
      response = send(attempt.number(), endpoint, timeouts, aw);
      if (replayable && idempotent && attempt.number() < policy.maxAttempts()) {
        readAhead(response); // a body that breaks now can still be retried elsewhere
      }
      if (timeouts.readMillis != chain.readTimeoutMillis()) {
        restoreReadTimeout(response, aw);
      }
    } catch (IOException thrown) {
      long latency = ticker.nanoTime() - start;
      IOException e = EndpointErrors.attributed(thrown, endpoint, request.url().port(), service);
      int brokenStatus = 0;
      if (response != null) {
        brokenStatus = response.code();
        response.close(); // the broken body's connection is released or discarded
      }
      if (call.isCanceled()) {
        // The caller gave up, or the call timed out: not the endpoint's fault.
        attempt.cancelled();
        throw e;
      }
      CallFailure failure =
          aw.requestStarted ? CallFailure.possiblyProcessed(e) : CallFailure.notSent(e);
      if (!aw.isCancelled()) { // a hedge's loser is not one of the call's attempts
        attempts.add(new CallAttempts.Attempt(endpoint, brokenStatus, e, latency));
        lastError = e;
      }
      if (!replayable) {
        attempt.failed(failure, latency, -1, 0); // reported; a one-shot body is never sent twice
        throw e;
      }
      return AttemptLoop.Step.failed(e, attempt.failed(failure, latency, -1, remainingNanos()));
    } catch (RuntimeException | Error e) {
      if (response != null) {
        response.close();
      }
      attempt.cancelled(); // a bug in another interceptor says nothing about the endpoint
      throw e;
    }
    long latency = ticker.nanoTime() - start;
    int code = response.code();
    CallAttempts tried = attempts.answered(new CallAttempts.Attempt(endpoint, code, null, latency));
    lastError = null;
    boolean failed = settings.failureStatus().test(code);
    if (replayable && (failed || policy.isRetryableStatus(code))) {
      // A failure status, or one the policy retries without blaming the endpoint (say 429).
      CallFailure status = CallFailure.status(code);
      long retryAfter = RetryAfter.nanos(response);
      RetryDecision decision =
          failed
              ? attempt.failed(status, latency, retryAfter, remainingNanos())
              : attempt.refused(status, latency, retryAfter, remainingNanos());
      return AttemptLoop.Step.answered(tagged(response, tried, null), decision);
    }
    if (failed) {
      attempt.failed(CallFailure.status(code), latency, -1, 0); // reported: not retryable
      return AttemptLoop.Step.done(tagged(response, tried, null));
    }
    // Success is reported when the body is read or closed, so in-flight covers the whole body.
    return AttemptLoop.Step.done(
        tagged(response, tried, new ReportingResponseBody(response.body(), attempt, latency)));
  }

  @Override
  public void await(BalancedCall balanced, long delayNanos) throws IOException {
    if (delayNanos > 0) {
      watch.waiter = Thread.currentThread();
      try {
        // The balancer's clock; also wakes if it closes. A cancel unparks this thread (watch).
        balanced.awaitBackoff(delayNanos, call::isCanceled);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted during retry backoff");
      } finally {
        watch.waiter = null;
      }
    }
    if (call.isCanceled()) {
      throw new IOException("Canceled during retry backoff", lastError);
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
  public void discard(Response answer) {
    answer.close(); // the discarded response gives its connection back
  }

  /**
   * Reads up to {@code readAheadBytes} of a response body that will be handed to the caller, so
   * that a body that breaks early (a reset, a malformed chunk, a connection closed short of its
   * length) fails this attempt, which can be retried, rather than the caller's read. The bytes stay
   * in the body's buffer: nothing is copied, and the caller reads them as usual. Failure statuses,
   * which are handled by status, and event streams, which never end, are left alone.
   */
  private void readAhead(Response response) throws IOException {
    if (settings.readAheadBytes() == 0
        || settings.failureStatus().test(response.code())
        || policy.isRetryableStatus(response.code())) {
      return;
    }
    MediaType type = response.body().contentType();
    if (type != null
        && (type.subtype().equalsIgnoreCase("event-stream")
            || type.subtype().equalsIgnoreCase("x-ndjson"))) {
      return;
    }
    response.body().source().request(settings.readAheadBytes() + 1);
  }

  /**
   * The connect and read timeouts of an attempt whose balancer gives it {@code timeoutNanos}: the
   * client's, or that if shorter; the read timeout only for idempotent calls, which alone are
   * retried once sent. OkHttp's 0 means no timeout.
   */
  private Timeouts timeouts(long timeoutNanos) {
    int connect = chain.connectTimeoutMillis();
    int read = chain.readTimeoutMillis();
    boolean cutsReads = timeoutNanos != Long.MAX_VALUE && idempotent && replayable;
    // What the server is told: the call's time left, or the attempt's if it gives up sooner.
    long budget = remainingNanos();
    if (cutsReads) {
      budget = Math.min(budget, timeoutNanos);
    }
    String header = settings.timeoutHeader();
    // As every driver writes it (AttemptTimeout.budgetMillis); null: nothing to tell.
    String budgetMillis =
        header == null || budget == Long.MAX_VALUE ? null : AttemptTimeout.budgetMillis(budget);
    if (timeoutNanos == Long.MAX_VALUE) {
      return new Timeouts(connect, read, header, budgetMillis);
    }
    int millis = millis(timeoutNanos);
    return new Timeouts(
        shorter(connect, millis), cutsReads ? shorter(read, millis) : read, header, budgetMillis);
  }

  /** {@code nanos} in whole milliseconds, rounded up, at least 1. */
  private static int millis(long nanos) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, (nanos + 999_999) / 1_000_000));
  }

  private static int shorter(int clientMillis, int millis) {
    return clientMillis == 0 ? millis : Math.min(clientMillis, millis);
  }

  /**
   * The attempt's timeout bounded the wait for the answer; the caller's reads of the body get the
   * client's own read timeout back: on the body's source (an HTTP/2 stream's reads), and on the
   * socket for HTTP/1, where OkHttp set it for the exchange.
   */
  private void restoreReadTimeout(Response response, AttemptWatch aw) throws IOException {
    int millis = chain.readTimeoutMillis();
    Connection connection = aw.connection;
    if (connection != null
        && (connection.protocol() == Protocol.HTTP_1_1
            || connection.protocol() == Protocol.HTTP_1_0)) {
      connection.socket().setSoTimeout(millis);
    }
    response.body().source().timeout().timeout(millis, TimeUnit.MILLISECONDS);
  }

  /** An attempt's connect and read timeouts, in milliseconds (0: none). */
  record Timeouts(
      int connectMillis, int readMillis, @Nullable String header, @Nullable String budgetMillis) {

    /** {@code request} telling the server the attempt's time budget, if there is one to tell. */
    Request stamped(Request request) {
      String h = header;
      String budget = budgetMillis;
      return h == null || budget == null ? request : request.newBuilder().header(h, budget).build();
    }

    /** {@code chain} with these timeouts, where they differ from its own. */
    Chain apply(Chain chain) {
      Chain c = chain;
      if (connectMillis != chain.connectTimeoutMillis()) {
        c = c.withConnectTimeout(connectMillis, TimeUnit.MILLISECONDS);
      }
      if (readMillis != chain.readTimeoutMillis()) {
        c = c.withReadTimeout(readMillis, TimeUnit.MILLISECONDS);
      }
      return c;
    }
  }

  /**
   * Sends one attempt: the first in the call's own chain, retries (and, with the interceptor's
   * attempt timeout or hedging, every attempt) as clones of the call, on the calling thread.
   */
  private Response send(int attempt, Endpoint endpoint, Timeouts timeouts, AttemptWatch aw)
      throws IOException {
    long attemptTimeoutNanos = settings.attemptTimeoutNanos();
    if (attempt == 1 && attemptTimeoutNanos == 0 && hedgedWatches == null) {
      Request stamped = timeouts.stamped(request);
      watch.inChain = aw;
      try {
        return timeouts
            .apply(LoadBalancingInterceptor.routed(chain, endpoint, stamped))
            .proceed(stamped);
      } finally {
        watch.inChain = null;
      }
    }
    Call retry = call.clone();
    if (attemptTimeoutNanos > 0) {
      retry.timeout().timeout(attemptTimeoutNanos, TimeUnit.NANOSECONDS);
    }
    retry.addEventListener(aw);
    watch.started(retry);
    aw.runsAs(retry);
    LoadBalancingInterceptor.RETRY_ATTEMPT.set(
        new LoadBalancingInterceptor.RetryAttempt(retry, endpoint, timeouts));
    try {
      return retry.execute();
    } finally {
      LoadBalancingInterceptor.RETRY_ATTEMPT.remove();
      watch.ended(retry);
    }
  }

  /** The response with the call's attempts on its request, and {@code body} if given. */
  private static Response tagged(
      Response response, CallAttempts tried, okhttp3.@Nullable ResponseBody body) {
    Response.Builder b =
        response
            .newBuilder()
            .request(response.request().newBuilder().tag(CallAttempts.class, tried).build());
    if (body != null) {
      b.body(body);
    }
    return b.build();
  }
}
