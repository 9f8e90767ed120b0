package io.loadstar.okhttp;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.AttemptLoop;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import io.loadstar.api.internal.Checks;
import io.loadstar.api.internal.HostNames;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.IntPredicate;
import javax.net.SocketFactory;
import okhttp3.Call;
import okhttp3.EventListener;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;

/**
 * An OkHttp application interceptor that load-balances the hosts it is configured for: each request
 * (not each connection) goes to an endpoint picked by the service's {@link LoadBalancer}, and a
 * failed attempt is retried on an endpoint the request has not tried, as the balancer's {@link
 * RetryPolicy} allows. The interceptor runs each call on the shared {@link AttemptLoop} over the
 * balancer's {@link LoadBalancer#newCall call}: a service has one policy, one retry budget, one
 * selection timeout (how long a call's first attempt waits for discovery's first answer while no
 * endpoint is known) and one event listener, whether its calls go through OkHttp or {@link
 * LoadBalancer#execute}.
 *
 * <p>The URL is never rewritten: the {@code Host} header, TLS SNI, certificate and hostname checks,
 * {@code CertificatePinner}, cookies and cache keys all keep the service's name. Each attempt runs
 * with a {@link okhttp3.Dns} that resolves to the picked endpoint only, and OkHttp keys pooled
 * connections by it, so keep-alive and HTTP/2 connections exist per endpoint and cannot pin all
 * traffic to one address. Requests to other hosts pass through untouched.
 *
 * <p>Every attempt's outcome is reported to the balancer: success when the response body is closed
 * (so in-flight counts cover the body), failure at once for connect errors, timeouts and statuses
 * that count as failure (5xx by default). That feeds least request, peak EWMA and outlier
 * detection. {@link CallAttempts#of(Response)} tells which endpoint served a response and what was
 * tried before. When nothing can be picked, the call fails with {@link
 * EndpointUnavailableException}.
 *
 * <p>Retries: a request that was never sent (connect refused or timed out, TLS handshake failure)
 * is always retried; one that may have been processed (read timeout, reset after writing, a
 * malformed or empty response, 502, 503, 504) only when idempotent (see {@link Idempotency}). For
 * idempotent requests the first 64 KiB of the response body are read before it is handed over (see
 * {@link Builder#retryBodyReadAhead}), so a body that breaks early is retried too. A one-shot or
 * duplex body is never sent twice. The first retry goes out at once, later ones after a jittered
 * backoff or the server's {@code Retry-After}; a discarded response is always closed. The call's
 * {@code callTimeout} and {@link Call#cancel()} cover every attempt and the waits between them.
 *
 * <p>The first attempt runs in the call's own chain. A retry runs as a {@link Call#clone() clone}
 * of the call on the calling thread, because OkHttp keeps a call on its first connection for every
 * later exchange to the same host and port: so application interceptors installed before this one
 * run again for a retry, and an {@link EventListener} sees the retry as a call of its own. Install
 * it last among application interceptors ({@link #wrap(OkHttpClient)} does). Requires OkHttp 5
 * (per-attempt {@code Chain.withDns}); does not combine with an HTTP proxy, which would resolve the
 * host itself. Thread-safe; one instance serves any number of clients and calls.
 */
public final class LoadBalancingInterceptor implements Interceptor {

  /** The header that carries an attempt's time budget unless {@link Builder#timeoutHeader} says. */
  public static final String DEFAULT_TIMEOUT_HEADER = AttemptTimeout.BUDGET_HEADER;

  private static final Set<String> IDEMPOTENT_METHODS =
      Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

  private final Map<String, Service> services;
  private final OkHttpDriver.Settings settings;
  private final @Nullable Function<Request, @Nullable ? extends CharSequence> hashKey;

  private LoadBalancingInterceptor(Builder b) {
    Map<String, Service> map = new HashMap<>();
    for (Map.Entry<String, LoadBalancer> e : b.balancers.entrySet()) {
      map.put(e.getKey(), new Service(e.getValue()));
    }
    this.services = Map.copyOf(map);
    this.settings =
        new OkHttpDriver.Settings(
            b.ticker, b.attemptTimeoutNanos, b.readAheadBytes, b.failureStatus, b.timeoutHeader);
    this.hashKey = b.hashKey;
  }

  /**
   * Returns a new builder.
   *
   * @throws IllegalStateException if the OkHttp on the class path is older than 5, naming the
   *     version found and the one this module was built with
   */
  public static Builder builder() {
    OkHttpVersion.check(LoadBalancingInterceptor.class.getClassLoader());
    return new Builder();
  }

  /**
   * Returns a client derived from {@code base} (sharing its connection pool, dispatcher and
   * settings) with this interceptor added after its application interceptors.
   */
  public OkHttpClient wrap(OkHttpClient base) {
    return requireNonNull(base, "base").newBuilder().addInterceptor(this).build();
  }

  /** A URL host as services are keyed: OkHttp lower-cases it; a trailing dot is the same name. */
  private static String serviceKey(String urlHost) {
    int n = urlHost.length();
    return n > 1 && urlHost.charAt(n - 1) == '.' ? urlHost.substring(0, n - 1) : urlHost;
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    RetryAttempt retry = RETRY_ATTEMPT.get();
    if (retry != null && retry.call == chain.call()) {
      // A retry this interceptor started: one attempt to the endpoint it picked, nothing else.
      RETRY_ATTEMPT.remove();
      Request stamped = retry.timeouts.stamped(request);
      return retry.timeouts.apply(routed(chain, retry.endpoint, stamped)).proceed(stamped);
    }
    Service service = services.get(serviceKey(request.url().host()));
    if (service == null) {
      return chain.proceed(request);
    }
    return service.call(chain, request);
  }

  @Override
  public String toString() {
    return "LoadBalancingInterceptor" + services.keySet();
  }

  /**
   * Retries run as clones of the call, executed on the calling thread: OkHttp keeps a call on its
   * first connection for every later exchange to the same host and port, whatever the Dns says, so
   * a retry inside the same call would go back to the endpoint that just failed. The clone passes
   * through this interceptor again, which finds here the endpoint to send it to.
   */
  static final ThreadLocal<RetryAttempt> RETRY_ATTEMPT = new ThreadLocal<>();

  static final class RetryAttempt {
    final Call call;
    final Endpoint endpoint;
    final OkHttpDriver.Timeouts timeouts;

    RetryAttempt(Call call, Endpoint endpoint, OkHttpDriver.Timeouts timeouts) {
      this.call = call;
      this.endpoint = endpoint;
      this.timeouts = timeouts;
    }
  }

  /** Returns the chain that sends to {@code endpoint} only, for one attempt. */
  static Chain routed(Chain chain, Endpoint endpoint, Request request) throws IOException {
    String host = request.url().host();
    Chain c = chain.withDns(new EndpointDns(endpoint, host, chain.getDns()));
    int urlPort = request.url().port();
    if (endpoint.port() != urlPort) {
      if (chain.getSocketFactory() != SocketFactory.getDefault()) {
        throw new IOException(
            "endpoint "
                + endpoint.key()
                + " listens on another port than the URL's ("
                + urlPort
                + "), which needs the client's default SocketFactory");
      }
      c = c.withSocketFactory(new PortSocketFactory(urlPort, endpoint.port(), endpoint.address()));
    }
    return c;
  }

  /** One balanced host. */
  private final class Service {
    final LoadBalancer lb;

    Service(LoadBalancer lb) {
      this.lb = lb;
    }

    /** Runs one call on the attempt loop, with a driver that knows HTTP and OkHttp. */
    Response call(Chain chain, Request request) throws IOException {
      Idempotency override = request.tag(Idempotency.class);
      boolean idempotent =
          override != null
              ? override == Idempotency.IDEMPOTENT
              : IDEMPOTENT_METHODS.contains(request.method())
                  || request.header("Idempotency-Key") != null;
      PickContext context = request.tag(PickContext.class);
      if (context == null && hashKey != null) {
        CharSequence key = hashKey.apply(request);
        context = key != null ? PickContext.ofHashKey(key) : null;
      }
      OkHttpDriver driver =
          new OkHttpDriver(
              settings, lb.name(), lb.inspect().retryPolicy(), chain, request, idempotent);
      long remaining = driver.remainingNanos();
      PickContext picking = context != null ? context : PickContext.empty();
      BalancedCall call = lb.newCall(picking.withTimeBudget(remaining), idempotent);
      return AttemptLoop.run(call, remaining, driver);
    }
  }

  /** Builds a {@link LoadBalancingInterceptor}. Setters validate at once. Not thread-safe. */
  public static final class Builder {
    private final Map<String, LoadBalancer> balancers = new HashMap<>();
    private IntPredicate failureStatus = status -> status >= 500;
    private Ticker ticker = Ticker.system();
    private long attemptTimeoutNanos;
    private long readAheadBytes = 64 * 1024;
    private @Nullable String timeoutHeader = DEFAULT_TIMEOUT_HEADER;
    private @Nullable Function<Request, @Nullable ? extends CharSequence> hashKey;

    private Builder() {}

    /**
     * Takes each request's hash key from {@code key} (for example {@link AffinityKeys#header} or
     * {@link AffinityKeys#cookie}), for consistent-hash strategies and sticky affinity ({@code
     * LoadBalancers.builder(..).affinity(..)}). A request tagged with a {@code PickContext} keeps
     * its own; a null key means none. Defaults to no key.
     */
    public Builder hashKey(Function<Request, @Nullable ? extends CharSequence> key) {
      this.hashKey = requireNonNull(key, "key");
      return this;
    }

    /**
     * Sets how much of an idempotent request's response body is read before the response is handed
     * over, so that a body that breaks within it (a connection reset, a malformed chunk, a body cut
     * short) is retried on another endpoint like a failed request. The bytes stay in the body's
     * buffer; the caller reads them as usual. A body that breaks later fails the caller's read and
     * counts as the endpoint's failure. Skipped on the last allowed attempt and for {@code
     * text/event-stream} and {@code application/x-ndjson} responses; a streaming response of
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
     * Balances requests to {@code host} (the URL's host, any port and scheme) over {@code
     * balancer}'s endpoints. Case and a trailing dot do not matter; an IPv6 literal may be given
     * with or without brackets. The interceptor does not close the balancer.
     *
     * @throws IllegalArgumentException if {@code host} is not a host name or IP literal (a port, a
     *     scheme or a path in it would never match a URL's host) or is already configured
     */
    public Builder service(String host, LoadBalancer balancer) {
      requireNonNull(balancer, "balancer");
      String h = key(host);
      if (balancers.containsKey(h)) {
        throw new IllegalArgumentException("host: '" + host + "' is already balanced");
      }
      balancers.put(h, balancer);
      return this;
    }

    private static String key(String host) {
      return HostNames.checkHost(
              "host", host, "a URL's host such as api.internal, without scheme, port or path")
          .toLowerCase(Locale.ROOT);
    }

    /**
     * Sets the request header that tells the server how long each attempt has, in whole
     * milliseconds (rounded up): the call's time left ({@code callTimeout} minus what it used), or
     * the attempt's timeout if that is shorter and applies to the answer (see {@code
     * RetryPolicy.attemptTimeout}). A server can stop work the caller will no longer wait for, or
     * pass the budget on to its own calls. Sent only when there is a limit. Defaults to {@value
     * #DEFAULT_TIMEOUT_HEADER}; null sends none.
     *
     * @throws IllegalArgumentException if {@code name} is not a valid header name
     */
    public Builder timeoutHeader(@Nullable String name) {
      if (name != null) {
        new okhttp3.Headers.Builder().add(name, "0"); // validates the name as OkHttp sends it
      }
      this.timeoutHeader = name;
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
     * Sets a time limit for each attempt, which covers the attempt as OkHttp's {@code callTimeout}
     * covers a call: until its response body is read. An attempt that runs out of time is abandoned
     * and retried if it was never sent or the request is idempotent. The client's {@code
     * callTimeout} still bounds the whole call. Defaults to 0: no limit but OkHttp's connect, read
     * and write timeouts. With a limit, every attempt runs as a clone of the call.
     *
     * @throws IllegalArgumentException if not in {@code 0..5m}
     */
    public Builder attemptTimeout(Duration timeout) {
      this.attemptTimeoutNanos = upToFiveMinutes("attemptTimeout", timeout);
      return this;
    }

    private static long upToFiveMinutes(String name, Duration timeout) {
      requireNonNull(timeout, name);
      Checks.duration(name, timeout, Duration.ZERO, Duration.ofMinutes(5));
      return timeout.toNanos();
    }

    /** Sets the clock for attempt latencies and call deadlines. Defaults to the system's. */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Builds the interceptor.
     *
     * @throws IllegalStateException if no service was configured
     */
    public LoadBalancingInterceptor build() {
      if (balancers.isEmpty()) {
        throw new IllegalStateException("LoadBalancingInterceptor needs at least one service()");
      }
      return new LoadBalancingInterceptor(this);
    }
  }
}
