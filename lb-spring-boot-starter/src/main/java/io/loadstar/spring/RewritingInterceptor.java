package io.loadstar.spring;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.httpclient5.EndpointUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpRequest;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.http.client.support.HttpRequestWrapper;

/**
 * {@code RestClient} and {@code RestTemplate} on a transport that cannot keep the service's TLS
 * name (the JDK client, Jetty, Reactor Netty, {@code HttpURLConnection}): a request to a balanced
 * host runs on the shared {@link AttemptLoop}, each attempt sent down the rest of the interceptor
 * chain to the picked endpoint's address (see {@link AddressRewriting}). Other hosts pass through.
 */
final class RewritingInterceptor implements ClientHttpRequestInterceptor {

  private final AddressRewriting rewriting;
  private final String transport;
  private final Ticker ticker;

  RewritingInterceptor(AddressRewriting rewriting, String transport, Ticker ticker) {
    this.rewriting = rewriting;
    this.transport = transport;
    this.ticker = ticker;
  }

  @Override
  public ClientHttpResponse intercept(
      HttpRequest request, byte[] body, ClientHttpRequestExecution execution) throws IOException {
    URI uri = request.getURI();
    LoadBalancer lb = rewriting.balancerOf(uri);
    if (lb == null) {
      return execution.execute(request, body);
    }
    rewriting.checkScheme(uri, lb, transport);
    boolean idempotent =
        AddressRewriting.idempotent(
            request.getMethod().name(), request.getHeaders().containsHeader("Idempotency-Key"));
    BalancedCall call = lb.newCall(PickContext.empty(), idempotent);
    Driver driver =
        new Driver(lb.name(), lb.inspect().retryPolicy(), request, body, execution, idempotent);
    return AttemptLoop.run(call, Long.MAX_VALUE, driver);
  }

  /** One request's attempts. Made per request; used from the calling thread. */
  private final class Driver implements AttemptLoop.Driver<ClientHttpResponse, IOException> {
    private final String service;
    private final RetryPolicy policy;
    private final HttpRequest request;
    private final byte[] body;
    private final ClientHttpRequestExecution execution;
    private final boolean idempotent;
    private final String hostHeader;

    Driver(
        String service,
        RetryPolicy policy,
        HttpRequest request,
        byte[] body,
        ClientHttpRequestExecution execution,
        boolean idempotent) {
      this.service = service;
      this.policy = policy;
      this.request = request;
      this.body = body;
      this.execution = execution;
      this.idempotent = idempotent;
      this.hostHeader = AddressRewriting.hostHeader(request.getURI());
    }

    @Override
    public AttemptLoop.Step<ClientHttpResponse, IOException> send(Attempt attempt)
        throws IOException {
      URI target = AddressRewriting.endpointUri(request.getURI(), attempt.endpoint());
      HttpHeaders headers = new HttpHeaders();
      headers.putAll(request.getHeaders());
      headers.set(HttpHeaders.HOST, hostHeader);
      HttpRequest rewritten =
          new HttpRequestWrapper(request) {
            @Override
            public URI getURI() {
              return target;
            }

            @Override
            public HttpHeaders getHeaders() {
              return headers;
            }
          };
      AttemptReport report = new AttemptReport(attempt, ticker);
      ClientHttpResponse response = null;
      int code;
      try {
        response = execution.execute(rewritten, body);
        code = response.getStatusCode().value();
      } catch (IOException e) {
        if (response != null) {
          response.close();
        }
        return failed(report, e);
      } catch (RuntimeException | Error e) {
        if (response != null) {
          response.close();
        }
        report.cancelled(); // a bug elsewhere in the chain says nothing about the endpoint
        throw e;
      }
      boolean failed = AddressRewriting.failureStatus(code);
      if (failed || policy.isRetryableStatus(code)) {
        RetryDecision decision =
            report.answered(code, failed, response.getHeaders().getFirst("Retry-After"));
        return AttemptLoop.Step.answered(response, requireNonNull(decision));
      }
      if (!idempotent
          || attempt.number() >= policy.maxAttempts()
          || AddressRewriting.isStream(response.getHeaders().getFirst(HttpHeaders.CONTENT_TYPE))) {
        return AttemptLoop.Step.done(ReportingResponse.streaming(response, report));
      }
      // Read the start of the body here, so that a body that breaks early is retried elsewhere.
      byte[] head;
      InputStream in;
      try {
        in = response.getBody();
        head = in.readNBytes(AddressRewriting.READ_AHEAD_BYTES);
      } catch (IOException e) {
        response.close();
        return failed(report, e);
      }
      if (head.length < AddressRewriting.READ_AHEAD_BYTES) {
        report.succeeded(); // the whole body is here
        return AttemptLoop.Step.done(ReportingResponse.whole(response, head));
      }
      return AttemptLoop.Step.done(ReportingResponse.readAhead(response, head, in, report));
    }

    /** The attempt failed with {@code e} before the caller got anything: retried as decided. */
    private AttemptLoop.Step<ClientHttpResponse, IOException> failed(
        AttemptReport report, IOException e) {
      return AttemptLoop.Step.failed(e, requireNonNull(report.failed(CallFailure.classify(e), -1)));
    }

    @Override
    public IOException unavailable(String reason) {
      return new EndpointUnavailableException(service, reason);
    }

    @Override
    public IOException interrupted(InterruptedException e) {
      return new InterruptedIOException("interrupted while waiting for endpoints or a backoff");
    }

    @Override
    public void discard(ClientHttpResponse answer) {
      answer.close();
    }
  }
}
