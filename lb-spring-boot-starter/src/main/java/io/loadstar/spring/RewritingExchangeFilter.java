package io.loadstar.spring;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptTimeout;
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
 * the body ends, so the endpoint's in-flight count covers it. An idempotent request's attempt that
 * another may follow waits for its answer at most the balancer's attempt timeout ({@link
 * Attempt#timeoutNanos()}); requests are not hedged here.
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
          try {
            rewriting.checkScheme(request.url(), lb, transport);
          } catch (IOException e) {
            return Mono.<ClientResponse>error(e);
          }
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
    private final BalancedCall call;

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
      boolean idempotent =
          AddressRewriting.idempotent(
              request.method().name(), request.headers().containsHeader("Idempotency-Key"));
      this.call = lb.newCall(PickContext.empty(), idempotent);
    }

    Mono<ClientResponse> start() {
      Attempt first;
      try {
        first = call.first(0); // never blocks a reactive thread waiting for discovery
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
      long timeout = call.idempotent() ? attempt.timeoutNanos() : Long.MAX_VALUE;
      String header = rewriting.timeoutHeader();
      if (timeout != Long.MAX_VALUE && header != null) {
        // The server is told how long the attempt has, as the OkHttp and HttpClient drivers do.
        String budget = AttemptTimeout.budgetMillis(timeout);
        b.headers(h -> h.set(header, budget));
      }
      ClientRequest rewritten = b.build();
      AttemptReport report = new AttemptReport(attempt, ticker);
      Mono<ClientResponse> exchange = next.exchange(rewritten);
      if (timeout != Long.MAX_VALUE) {
        // The attempt timeout: no answer by then, and the exchange is cancelled (its connection
        // closed) and the call goes on to another endpoint.
        exchange =
            exchange.timeout(
                Duration.ofNanos(timeout),
                Mono.error(() -> AttemptTimeout.expired(attempt.endpoint(), lb.name(), timeout)));
      }
      return exchange
          .materialize() // the answer, the error, or nothing, as one signal to handle
          .flatMap(
              signal -> {
                ClientResponse response = signal.get();
                if (response != null) {
                  return answered(report, response);
                }
                Throwable error = signal.getThrowable();
                return failed(
                    report, error != null ? error : new IOException("no response from " + target));
              })
          .doOnCancel(report::cancelled);
    }

    private Mono<ClientResponse> failed(AttemptReport report, Throwable error) {
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

    private Mono<ClientResponse> answered(AttemptReport report, ClientResponse response) {
      lastError = null; // an answer: the earlier failures are behind it
      int code = response.statusCode().value();
      boolean failed = AddressRewriting.failureStatus(code);
      if (!failed && !policy.isRetryableStatus(code)) {
        discardHeld();
        return succeeded(report, response);
      }
      RetryDecision decision =
          report.answered(code, failed, response.headers().asHttpHeaders().getFirst("Retry-After"));
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
    private Mono<ClientResponse> succeeded(AttemptReport report, ClientResponse response) {
      Attempt attempt = report.attempt();
      boolean readAhead =
          call.idempotent()
              && attempt.number() < policy.maxAttempts()
              && !AddressRewriting.isStream(
                  response.headers().asHttpHeaders().getFirst(HttpHeaders.CONTENT_TYPE));
      if (!readAhead) {
        return Mono.just(response.mutate().body(body -> reportingBody(body, report)).build());
      }
      return BodyReadAhead.read(
              response.body(BodyExtractors.toDataBuffers()), AddressRewriting.READ_AHEAD_BYTES)
          .map(
              ahead -> {
                if (ahead.whole()) {
                  report.succeeded();
                  return response.mutate().body(ahead.body()).build();
                }
                return response.mutate().body(reportingBody(ahead.body(), report)).build();
              })
          .onErrorResume(e -> failed(report, e));
    }

    private Mono<ClientResponse> retry(RetryDecision decision) {
      Mono<ClientResponse> nextAttempt = Mono.defer(() -> send(call.next()));
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

  /** {@code body}, reporting the attempt when it ends, breaks or is cancelled. */
  private static Flux<DataBuffer> reportingBody(Flux<DataBuffer> body, AttemptReport report) {
    // A caller that stops reading early has what it wanted: not the endpoint's failure.
    return body.doOnComplete(report::succeeded)
        .doOnError(report::bodyFailed)
        .doOnCancel(report::succeeded);
  }
}
