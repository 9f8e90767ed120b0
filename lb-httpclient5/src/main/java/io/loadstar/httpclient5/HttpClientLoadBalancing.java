package io.loadstar.httpclient5;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.AttemptLoop;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.api.internal.HostNames;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;
import org.apache.hc.client5.http.HttpRequestRetryStrategy;
import org.apache.hc.client5.http.impl.ChainElement;
import org.apache.hc.client5.http.impl.DefaultHttpRequestRetryStrategy;
import org.apache.hc.client5.http.impl.async.HttpAsyncClientBuilder;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.HttpRequest;
import org.jspecify.annotations.Nullable;

/**
 * Load-balances the requests an Apache HttpClient 5 client sends to the hosts it is configured for:
 * each request (not each connection) goes to an endpoint picked by the service's {@link
 * LoadBalancer}, and a failed attempt is retried on an endpoint the request has not tried, as the
 * balancer's {@link RetryPolicy} and retry budget allow. Install it on a client's builder:
 *
 * <pre>{@code
 * HttpClientLoadBalancing balancing =
 *     HttpClientLoadBalancing.builder().service("orders.internal", orders).build();
 * CloseableHttpClient client = balancing.configure(HttpClients.custom()).build();
 * CloseableHttpAsyncClient async = balancing.configure(HttpAsyncClients.custom()).build();
 * }</pre>
 *
 * <p>The request is never rewritten: its URI, the {@code Host} header, TLS SNI, certificate and
 * host name checks, authentication and cookies keep the service's name. Each attempt's route
 * targets the picked endpoint's address and port with the service's name beside it ({@link
 * org.apache.hc.core5.http.HttpHost} carries both), and HttpClient pools connections by route, so
 * connections are pooled per endpoint ({@code maxConnPerRoute} is per endpoint) and keep-alive
 * cannot pin a service's traffic to one address. Requests to other hosts pass through untouched.
 *
 * <p>Every attempt's outcome is reported to the balancer: success when the response body has been
 * read or closed (so in-flight counts cover the body), failure at once for connect errors, timeouts
 * and statuses that count as failure (5xx by default), and for a body that breaks while it is read.
 * That feeds least request, peak EWMA and outlier detection. {@link CallAttempts#of} tells which
 * endpoint served a response and what was tried before. When nothing can be picked, the request
 * fails with {@link EndpointUnavailableException}.
 *
 * <p>Retries follow the same rules as every Loadstar driver (they run on the shared {@link
 * AttemptLoop} for classic clients and on the same {@code BalancedCall} for async ones): a request
 * that was never sent (connect refused or timed out, TLS handshake failure) is always retried; one
 * that may have been processed (a read timeout, a reset after writing, a malformed or empty
 * response, 502, 503, 504) only when idempotent (see {@link Idempotency}). A request whose entity
 * is not repeatable is never sent twice. For idempotent requests the first 64 KiB of the response
 * body are read before the response is handed over (see {@link Builder#retryBodyReadAhead}), so a
 * body that breaks early is retried too. The first retry goes out at once, later ones after a
 * jittered backoff or the server's {@code Retry-After}; a response that is not handed over is
 * always closed, giving its connection back.
 *
 * <p>The handler sits in the execution chain after redirects and the client's own retries, and
 * before the protocol stage: a redirect to a balanced host is balanced again, and authentication
 * challenges are answered on the attempt's endpoint. {@link #configure} also replaces the client's
 * retry strategy by one that leaves balanced requests to Loadstar (HttpClient's default would send
 * a failed request to the same endpoint again, and waits a second on a 503) and applies {@link
 * Builder#otherHostsRetryStrategy} to the others. Does not combine with an HTTP proxy for balanced
 * hosts, which would resolve the host itself: such a request fails with an explaining {@code
 * IOException}.
 *
 * <p>Async clients: a request's first attempt does not wait for discovery's first answer (an async
 * caller's thread must not block): call {@link LoadBalancer#awaitReady} at start-up. Retries run on
 * a Loadstar daemon thread only to wait out a backoff; sending stays HttpClient's.
 *
 * <p>Thread-safe; one instance serves any number of clients and requests.
 */
public final class HttpClientLoadBalancing {

  /**
   * The name of the handler in the client's execution chain ({@code
   * HttpClientBuilder.addExecInterceptorBefore(..)} and friends can place others around it).
   */
  public static final String HANDLER_NAME = "loadstar";

  /**
   * The context attribute that gives a request's {@link io.loadstar.api.PickContext} (a hash key
   * for consistent hashing and sticky affinity, tried endpoints), overriding {@link
   * Builder#hashKey}.
   */
  public static final String PICK_CONTEXT = "io.loadstar.httpclient5.pick-context";

  /** The context attribute that says whether the request being executed is balanced. */
  static final String BALANCED = "io.loadstar.httpclient5.balanced";

  /** Takes a request's hash key; {@code null} for none. */
  @FunctionalInterface
  public interface KeyFunction {
    /** Returns {@code request}'s hash key, or {@code null} for none. */
    @Nullable CharSequence hashKey(HttpRequest request);
  }

  /** What the builder configures, shared by the handlers' calls. */
  record Settings(
      Ticker ticker,
      long readAheadBytes,
      IntPredicate failureStatus,
      @Nullable KeyFunction key,
      @Nullable String timeoutHeader) {}

  private final Map<String, LoadBalancer> services;
  private final Settings settings;
  private final HttpRequestRetryStrategy otherHostsRetry;

  private HttpClientLoadBalancing(Builder b) {
    this.services = Map.copyOf(b.balancers);
    this.settings =
        new Settings(b.ticker, b.readAheadBytes, b.failureStatus, b.hashKey, b.timeoutHeader);
    this.otherHostsRetry = b.otherHostsRetry;
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Installs the balancing handler on a classic client's builder (see the class description) and
   * returns the builder. Call it once per builder.
   */
  public HttpClientBuilder configure(HttpClientBuilder builder) {
    requireNonNull(builder, "builder");
    builder.addExecInterceptorBefore(
        ChainElement.PROTOCOL.name(), HANDLER_NAME, new ClassicBalancingHandler(this));
    builder.setRetryStrategy(new OtherHostsRetryStrategy(otherHostsRetry));
    return builder;
  }

  /**
   * Installs the balancing handler on an async client's builder (see the class description) and
   * returns the builder. Call it once per builder.
   */
  public HttpAsyncClientBuilder configure(HttpAsyncClientBuilder builder) {
    requireNonNull(builder, "builder");
    builder.addExecInterceptorBefore(
        ChainElement.PROTOCOL.name(), HANDLER_NAME, new AsyncBalancingHandler(this));
    builder.setRetryStrategy(new OtherHostsRetryStrategy(otherHostsRetry));
    return builder;
  }

  /** Returns the balanced hosts. */
  public Set<String> hosts() {
    return services.keySet();
  }

  /**
   * Returns the balancer of a URL host, keyed as requests are (case, a trailing dot and an IPv6
   * literal's brackets do not matter), or {@code null} if the host is not balanced. For drivers
   * that share this balancing's services (the Spring Boot starter's, for other transports).
   */
  public @Nullable LoadBalancer balancerOf(String host) {
    return services.get(HttpRules.serviceKey(host));
  }

  Settings settings() {
    return settings;
  }

  /**
   * Returns the header that tells a server an attempt's time budget ({@link
   * Builder#timeoutHeader}), or {@code null} for none. For drivers that share this balancing's
   * services, so that they send the same.
   */
  public @Nullable String timeoutHeader() {
    return settings.timeoutHeader();
  }

  @Override
  public String toString() {
    return "HttpClientLoadBalancing" + services.keySet();
  }

  /** Builds an {@link HttpClientLoadBalancing}. Setters validate at once. Not thread-safe. */
  public static final class Builder {
    private final Map<String, LoadBalancer> balancers = new HashMap<>();
    private IntPredicate failureStatus = status -> status >= 500;
    private Ticker ticker = Ticker.system();
    private long readAheadBytes = 64 * 1024;
    private @Nullable KeyFunction hashKey;
    private HttpRequestRetryStrategy otherHostsRetry = DefaultHttpRequestRetryStrategy.INSTANCE;
    private @Nullable String timeoutHeader = AttemptTimeout.BUDGET_HEADER;

    private Builder() {}

    /**
     * Balances requests to {@code host} (the URL's host, any port and scheme) over {@code
     * balancer}'s endpoints. Case and a trailing dot do not matter; an IPv6 literal may be given
     * with or without brackets. Nothing here closes the balancer.
     *
     * @throws IllegalArgumentException if {@code host} is not a host name or IP literal (a port, a
     *     scheme or a path in it would never match a URL's host) or is already configured
     */
    public Builder service(String host, LoadBalancer balancer) {
      requireNonNull(balancer, "balancer");
      String h =
          HostNames.checkHost(
                  "host", host, "a URL's host such as api.internal, without scheme, port or path")
              .toLowerCase(Locale.ROOT);
      if (balancers.containsKey(h)) {
        throw new IllegalArgumentException("host: '" + host + "' is already balanced");
      }
      balancers.put(h, balancer);
      return this;
    }

    /**
     * Takes each request's hash key from {@code key} (a header or cookie value), for
     * consistent-hash strategies and sticky affinity. A request whose context carries {@link
     * #PICK_CONTEXT} keeps its own. Defaults to no key.
     */
    public Builder hashKey(KeyFunction key) {
      this.hashKey = requireNonNull(key, "key");
      return this;
    }

    /**
     * Sets which response statuses count as the endpoint's failure (for outlier detection and
     * latency-aware picking). Defaults to 500..599. Whether a failure is retried is the retry
     * policy's call.
     */
    public Builder failureStatus(IntPredicate failureStatus) {
      this.failureStatus = requireNonNull(failureStatus, "failureStatus");
      return this;
    }

    /**
     * Sets how much of an idempotent classic request's response body is read before the response is
     * handed over, so that a body that breaks within it (a connection reset, a malformed chunk, a
     * body cut short) is retried on another endpoint like a failed request. The bytes are kept and
     * read by the caller as usual. A body that breaks later fails the caller's read and counts as
     * the endpoint's failure. Skipped on the last allowed attempt, for failure statuses and for
     * {@code text/event-stream} and {@code application/x-ndjson} responses; a streaming response of
     * another type waits until this many bytes (or its end) arrived, so turn it off (0) for clients
     * of long-lived streams. Defaults to 64 KiB.
     *
     * @throws IllegalArgumentException if not in {@code 0..16777216} (16 MiB)
     */
    public Builder retryBodyReadAhead(long bytes) {
      if (bytes < 0 || bytes > 16 * 1024 * 1024) {
        throw new IllegalArgumentException(
            "retryBodyReadAhead: " + bytes + " (expected: 0..16777216)");
      }
      this.readAheadBytes = bytes;
      return this;
    }

    /**
     * Sets the retry strategy for requests to hosts that are not balanced ({@link #configure}
     * replaces the client's own, which would also retry balanced requests on the same endpoint).
     * Defaults to HttpClient's {@code DefaultHttpRequestRetryStrategy}.
     */
    public Builder otherHostsRetryStrategy(HttpRequestRetryStrategy strategy) {
      this.otherHostsRetry = requireNonNull(strategy, "strategy");
      return this;
    }

    /**
     * Sets the request header that tells the server how long an attempt has, in whole milliseconds
     * (rounded up): the balancer's attempt timeout, sent when it applies to the answer (an
     * idempotent request with a repeatable entity that another attempt may follow; see {@code
     * RetryPolicy.attemptTimeout}). A server can stop work the caller will no longer wait for, or
     * pass the budget on to its own calls. Defaults to {@value AttemptTimeout#BUDGET_HEADER}, as
     * lb-okhttp; null sends none.
     *
     * @throws IllegalArgumentException if {@code name} is not a valid header name (a token of RFC
     *     9110: letters, digits and {@code !#$%&'*+-.^_`|~})
     */
    public Builder timeoutHeader(@Nullable String name) {
      this.timeoutHeader = name == null ? null : HttpRules.checkHeaderName("timeoutHeader", name);
      return this;
    }

    /** Sets the clock for attempt latencies. Defaults to the system's. */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Builds the balancing.
     *
     * @throws IllegalStateException if no service was configured
     */
    public HttpClientLoadBalancing build() {
      if (balancers.isEmpty()) {
        throw new IllegalStateException("HttpClientLoadBalancing needs at least one service()");
      }
      return new HttpClientLoadBalancing(this);
    }
  }
}
