package io.loadstar.spring;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.httpclient5.EndpointUnavailableException;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.ExchangeFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code WebClient} on a connector that cannot keep the service's TLS name (Reactor Netty, the JDK
 * client, Jetty): a request to a balanced host is sent to the picked endpoint's address (see {@link
 * AddressRewriting}) and retried on another as the service's retry policy and budget allow, without
 * blocking: a retry is sent when the failed attempt's answer or error arrives, after its backoff on
 * a timer. Other hosts pass through. A success answer's body is read ahead (64 KiB) while a retry
 * is still possible, so a body that breaks early is retried elsewhere; the attempt is reported when
 * the body ends, so the endpoint's in-flight count covers it.
 */
final class RewritingExchangeFilter implements ExchangeFilterFunction {

  private final AddressRewriting rewriting;
  private final String transport;
  private final Ticker ticker;
  private final boolean setsHost;

  /**
   * @param setsHost whether to set {@code Host} to the service's: false for a connector that
   *     refuses it (the JDK's, unless {@code jdk.httpclient.allowRestrictedHeaders} lists it)
   */
  RewritingExchangeFilter(
      AddressRewriting rewriting, String transport, Ticker ticker, boolean setsHost) {
    this.rewriting = rewriting;
    this.transport = transport;
    this.ticker = ticker;
    this.setsHost = setsHost;
  }

  @Override
  public Mono<ClientResponse> filter(ClientRequest request, ExchangeFunction next) {
    LoadBalancer lb = rewriting.balancerOf(request.url());
    if (lb == null) {
      return next.exchange(request);
    }
    return Mono.defer(
        () -> {
          Exchange exchange = new Exchange(lb, request, next);
          return exchange.start().doOnCancel(exchange::discardHeld);
        });
  }

  /** One request's attempts; made per subscription. */
  private final class Exchange {
    private final LoadBalancer lb;
    private final RetryPolicy policy;
    private final ClientRequest request;
    private final ExchangeFunction next;
    private final String hostHeader;
    private @Nullable BalancedCall call;

    /** A failure answer kept while a retry is tried: the caller's if no endpoint is left. */
    private final AtomicReference<@Nullable ClientResponse> held = new AtomicReference<>();

    /** The last attempt's failure, if it failed: the caller's if no endpoint is left. */
    private volatile @Nullable Throwable lastError;

    Exchange(LoadBalancer lb, ClientRequest request, ExchangeFunction next) {
      this.lb = lb;
      this.policy = lb.inspect().retryPolicy();
      this.request = request;
      this.next = next;
      this.hostHeader = AddressRewriting.hostHeader(request.url());
    }

    Mono<ClientResponse> start() {
      try {
        rewriting.checkScheme(request.url(), lb, transport);
      } catch (IOException e) {
        return Mono.error(e);
      }
      HttpHeaders headers = request.headers();
      boolean idempotent =
          AddressRewriting.idempotent(
              request.method().name(), headers.containsHeader("Idempotency-Key"));
      BalancedCall c = lb.newCall(PickContext.empty(), idempotent);
      call = c;
      Attempt first;
      try {
        first = c.first(0); // never blocks a reactive thread waiting for discovery
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return Mono.error(new IOException("interrupted while picking an endpoint", e));
      }
      return send(first);
    }

    private Mono<ClientResponse> send(Attempt attempt) {
      if (!attempt.isAvailable()) {
        // Nothing left to try: the caller gets the last answer or failure, else "unavailable".
        ClientResponse last = held.getAndSet(null);
        if (last != null) {
          return Mono.just(last);
        }
        EndpointUnavailableException unavailable =
            new EndpointUnavailableException(lb.name(), attempt.reason());
        Throwable error = lastError;
        if (error == null) {
          return Mono.error(unavailable);
        }
        error.addSuppressed(unavailable);
        return Mono.error(error);
      }
      discardHeld();
      URI target = AddressRewriting.endpointUri(request.url(), attempt.endpoint());
      ClientRequest.Builder b = ClientRequest.from(request).url(target);
      if (setsHost) {
        b.headers(h -> h.set(HttpHeaders.HOST, hostHeader));
      }
      ClientRequest rewritten = b.build();
      Report report = new Report(attempt, ticker.nanoTime());
      return next.exchange(rewritten)
          .switchIfEmpty(Mono.error(() -> new IOException("no response from " + target)))
          .map(Outcome::answer)
          .onErrorResume(e -> Mono.just(Outcome.error(e)))
          .flatMap(
              outcome ->
                  outcome.error != null
                      ? failed(report, outcome.error)
                      : answered(report, outcome.response))
          .doOnCancel(report::cancelled);
    }

    private Mono<ClientResponse> failed(Report report, Throwable error) {
      RetryDecision decision = report.failed(CallFailure.classify(error), -1);
      if (decision == null) {
        return Mono.error(error); // cancelled meanwhile
      }
      Throwable previous = lastError;
      if (previous != null && previous != error) {
        error.addSuppressed(previous);
      }
      lastError = error;
      if (!decision.isRetry()) {
        String reason = decision.unavailableReason();
        if (reason != null) {
          error.addSuppressed(new EndpointUnavailableException(lb.name(), reason));
        }
        return Mono.error(error);
      }
      return retry(decision);
    }

    private Mono<ClientResponse> answered(Report report, ClientResponse response) {
      lastError = null; // an answer: the earlier failures are behind it
      int code = response.statusCode().value();
      boolean failed = AddressRewriting.failureStatus(code);
      if (!failed && !policy.isRetryableStatus(code)) {
        discardHeld();
        return succeeded(report, response);
      }
      CallFailure status = CallFailure.status(code);
      long retryAfter =
          AddressRewriting.retryAfterNanos(
              response.headers().asHttpHeaders().getFirst("Retry-After"));
      RetryDecision decision =
          failed ? report.failed(status, retryAfter) : report.refused(status, retryAfter);
      if (decision == null) {
        response.releaseBody().subscribe();
        return Mono.empty(); // cancelled meanwhile
      }
      discardHeld();
      if (!decision.isRetry()) {
        return Mono.just(response);
      }
      held.set(response);
      return retry(decision);
    }

    /**
     * A success answer: its body read ahead (up to {@link AddressRewriting#READ_AHEAD_BYTES}) when
     * a break could still be retried, and the attempt reported when the body ends, breaks or is
     * cancelled, so the endpoint's in-flight count covers the body.
     */
    private Mono<ClientResponse> succeeded(Report report, ClientResponse response) {
      Attempt attempt = report.attempt;
      boolean readAhead =
          requireNonNull(call).idempotent()
              && attempt.number() < policy.maxAttempts()
              && !AddressRewriting.isStream(
                  response.headers().asHttpHeaders().getFirst(HttpHeaders.CONTENT_TYPE));
      if (!readAhead) {
        return Mono.just(response.mutate().body(report::reportingBody).build());
      }
      return BodyReadAhead.read(
              response.body(BodyExtractors.toDataBuffers()), AddressRewriting.READ_AHEAD_BYTES)
          .map(
              ahead -> {
                if (ahead.whole()) {
                  report.succeeded();
                  return response.mutate().body(ahead.body()).build();
                }
                return response.mutate().body(report.reportingBody(ahead.body())).build();
              })
          .onErrorResume(e -> failed(report, e));
    }

    private Mono<ClientResponse> retry(RetryDecision decision) {
      BalancedCall c = call;
      Mono<ClientResponse> nextAttempt = Mono.defer(() -> send(c.next()));
      long delay = decision.delayNanos();
      return delay <= 0 ? nextAttempt : Mono.delay(Duration.ofNanos(delay)).then(nextAttempt);
    }

    void discardHeld() {
      ClientResponse h = held.getAndSet(null);
      if (h != null) {
        h.releaseBody().subscribe();
      }
    }
  }

  /** One attempt's single report, whichever of its answer, its body or a cancel comes first. */
  private final class Report {
    final Attempt attempt;
    private final long start;
    private final AtomicBoolean done = new AtomicBoolean();

    Report(Attempt attempt, long start) {
      this.attempt = attempt;
      this.start = start;
    }

    private long latency() {
      return ticker.nanoTime() - start;
    }

    /** Reports a failure; null if the attempt was reported already (cancelled). */
    @Nullable RetryDecision failed(CallFailure failure, long retryAfterNanos) {
      return done.compareAndSet(false, true)
          ? attempt.failed(failure, latency(), retryAfterNanos, Long.MAX_VALUE)
          : null;
    }

    /** Reports a refusal; null if the attempt was reported already (cancelled). */
    @Nullable RetryDecision refused(CallFailure failure, long retryAfterNanos) {
      return done.compareAndSet(false, true)
          ? attempt.refused(failure, latency(), retryAfterNanos, Long.MAX_VALUE)
          : null;
    }

    void succeeded() {
      if (done.compareAndSet(false, true)) {
        attempt.succeeded(latency());
      }
    }

    /** A body in the caller's hands that breaks: the endpoint's failure, too late to retry. */
    void bodyFailed(Throwable e) {
      if (done.compareAndSet(false, true)) {
        attempt.failed(CallFailure.classify(e), latency(), -1, 0);
      }
    }

    void cancelled() {
      if (done.compareAndSet(false, true)) {
        attempt.cancelled(); // the caller gave up: not the endpoint's fault
      }
    }

    /** {@code body}, reporting the attempt when it ends, breaks or is cancelled. */
    Flux<DataBuffer> reportingBody(Flux<DataBuffer> body) {
      // A caller that stops reading early has what it wanted: not the endpoint's failure.
      return body.doOnComplete(this::succeeded)
          .doOnError(this::bodyFailed)
          .doOnCancel(this::succeeded);
    }
  }

  /** An attempt's answer or error, so that both go through one step. */
  private static final class Outcome {
    final @Nullable ClientResponse response;
    final @Nullable Throwable error;

    private Outcome(@Nullable ClientResponse response, @Nullable Throwable error) {
      this.response = response;
      this.error = error;
    }

    static Outcome answer(ClientResponse response) {
      return new Outcome(response, null);
    }

    static Outcome error(Throwable error) {
      return new Outcome(null, error);
    }

    void release() {
      if (response != null) {
        response.releaseBody().subscribe();
      }
    }
  }
}
