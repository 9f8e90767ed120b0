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
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.BodyInserters;
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
 * Attempt#timeoutNanos()}). Such a request without a body is hedged when the service's policy
 * hedges ({@link ExchangeRace}): the first answer wins and the other exchange is cancelled.
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

  /** What one attempt came to: an answer for the caller, or an end without one. */
  sealed interface Outcome permits Answer, Ended {}

  /** An answer the caller gets (its body read ahead where a break could still be retried). */
  record Answer(ClientResponse response) implements Outcome {}

  /**
   * An attempt ended without an answer for the caller: its report's decision, and the failure
   * answer it kept ({@code kept}) or the error it failed with, exactly one of the two.
   */
  record Ended(
      int number, RetryDecision decision, @Nullable ClientResponse kept, @Nullable Throwable error)
      implements Outcome {

    /** Releases the kept answer's body, if one was kept. */
    void release() {
      ClientResponse k = kept;
      if (k != null) {
        k.releaseBody().subscribe();
      }
    }
  }

  /** One request's attempts; made per subscription. */
  final class Exchange {
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
      // Two attempts at once share no body: only an idempotent request without one is hedged.
      if (first.isAvailable()
          && call.idempotent()
          && policy.hedging().isEnabled()
          && request.body() == BodyInserters.empty()) {
        return Mono.create(sink -> new ExchangeRace(this, call, sink).start(first));
      }
      return send(first);
    }

    /** Sends {@code attempt} and acts on what it came to: the caller's answer, or what follows. */
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
      return attempt(report(attempt)).flatMap(this::act);
    }

    /** The report of {@code attempt}, sent now. */
    AttemptReport report(Attempt attempt) {
      return new AttemptReport(attempt, ticker);
    }

    /**
     * Sends the report's attempt to its endpoint and reports what it came to. Empty if the attempt
     * was reported meanwhile (cancelled, or overtaken by the other attempt of a hedged request).
     */
    Mono<Outcome> attempt(AttemptReport report) {
      Attempt attempt = report.attempt();
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
      Mono<ClientResponse> exchange = next.exchange(b.build());
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

    private Mono<Outcome> failed(AttemptReport report, Throwable error) {
      RetryDecision decision = report.failed(CallFailure.classify(error), -1);
      if (decision == null) {
        return Mono.empty(); // reported meanwhile
      }
      return Mono.just(new Ended(report.attempt().number(), decision, null, error));
    }

    private Mono<Outcome> answered(AttemptReport report, ClientResponse response) {
      int code = response.statusCode().value();
      boolean failed = AddressRewriting.failureStatus(code);
      if (!failed && !policy.isRetryableStatus(code)) {
        return succeeded(report, response);
      }
      RetryDecision decision =
          report.answered(code, failed, response.headers().asHttpHeaders().getFirst("Retry-After"));
      if (decision == null) {
        response.releaseBody().subscribe();
        return Mono.empty(); // reported meanwhile
      }
      return Mono.just(new Ended(report.attempt().number(), decision, response, null));
    }

    /**
     * A success answer: its body read ahead (up to {@link AddressRewriting#READ_AHEAD_BYTES}) when
     * a break could still be retried, and the attempt reported when the body ends, breaks or is
     * cancelled, so the endpoint's in-flight count covers the body.
     */
    private Mono<Outcome> succeeded(AttemptReport report, ClientResponse response) {
      Attempt attempt = report.attempt();
      boolean readAhead =
          call.idempotent()
              && attempt.number() < policy.maxAttempts()
              && !AddressRewriting.isStream(
                  response.headers().asHttpHeaders().getFirst(HttpHeaders.CONTENT_TYPE));
      if (!readAhead) {
        return Mono.just(
            new Answer(response.mutate().body(body -> reportingBody(body, report)).build()));
      }
      return BodyReadAhead.read(
              response.body(BodyExtractors.toDataBuffers()), AddressRewriting.READ_AHEAD_BYTES)
          .<Outcome>map(
              ahead -> {
                if (ahead.whole()) {
                  report.succeeded();
                  return new Answer(response.mutate().body(ahead.body()).build());
                }
                return new Answer(
                    response.mutate().body(reportingBody(ahead.body(), report)).build());
              })
          .onErrorResume(e -> failed(report, e));
    }

    /**
     * Acts on what an attempt came to: hands the caller its answer; after an end without one,
     * retries as the decision allows, else hands over the failure answer kept or the failure.
     */
    Mono<ClientResponse> act(Outcome outcome) {
      discardHeld();
      if (outcome instanceof Answer answer) {
        return Mono.just(answer.response());
      }
      Ended ended = (Ended) outcome;
      ClientResponse kept = ended.kept();
      Throwable error = ended.error();
      if (error != null) {
        note(error);
      } else {
        lastError = null; // an answer: the earlier failures are behind it
      }
      RetryDecision decision = ended.decision();
      if (decision.isRetry()) {
        held.set(kept);
        return retry(decision);
      }
      if (kept != null) {
        return Mono.just(kept);
      }
      Throwable failure = Objects.requireNonNull(error, "an end without an answer has an error");
      String reason = decision.unavailableReason();
      if (reason != null) {
        failure.addSuppressed(new EndpointUnavailableException(lb.name(), reason));
      }
      return Mono.error(failure);
    }

    /** {@code error} is the latest failure; the earlier ones are suppressed in it. */
    void note(Throwable error) {
      Throwable previous = lastError;
      if (previous != null && previous != error) {
        error.addSuppressed(previous);
      }
      lastError = error;
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
