package io.loadstar.httpclient5;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryDecision;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.apache.hc.client5.http.ConnectTimeoutException;
import org.apache.hc.client5.http.HttpRoute;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.client5.http.utils.DateUtils;
import org.apache.hc.core5.http.EntityDetails;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.net.URIAuthority;
import org.jspecify.annotations.Nullable;

/** What HTTP says about a request and its answers, the same for the classic and async handlers. */
final class HttpRules {

  private static final Set<String> IDEMPOTENT_METHODS =
      Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

  private HttpRules() {}

  /** A URL host as services are keyed: lower case, without a trailing dot. */
  static String serviceKey(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    int n = h.length();
    if (n > 2 && h.charAt(0) == '[' && h.charAt(n - 1) == ']') {
      return h.substring(1, n - 1);
    }
    return n > 1 && h.charAt(n - 1) == '.' ? h.substring(0, n - 1) : h;
  }

  /** The host a request is addressed to: its authority's, else its route's target's. */
  static String requestHost(HttpRequest request, HttpRoute route) {
    URIAuthority authority = request.getAuthority();
    return authority != null ? authority.getHostName() : route.getTargetHost().getHostName();
  }

  /**
   * Refuses a balanced request routed through a proxy, which would resolve the host itself.
   *
   * @throws IOException saying so, and how to fix it
   */
  static void checkNoProxy(String host, HttpRoute route) throws IOException {
    HttpHost proxy = route.getProxyHost();
    if (proxy != null) {
      throw new IOException(
          "'"
              + host
              + "' is balanced by Loadstar, which picks the endpoint's address itself: it cannot"
              + " be reached through the proxy "
              + proxy
              + " (exclude it from the client's proxy settings)");
    }
  }

  /** Whether {@code request} may be sent again after it may have been processed. */
  static boolean idempotent(HttpRequest request, HttpContext context) {
    Object override = context.getAttribute(Idempotency.ATTRIBUTE);
    if (override instanceof Idempotency) {
      return override == Idempotency.IDEMPOTENT;
    }
    return IDEMPOTENT_METHODS.contains(request.getMethod().toUpperCase(Locale.ROOT))
        || request.containsHeader("Idempotency-Key");
  }

  /** The pick context a request asks for: the context's, else {@code fromRequest}'s key. */
  static PickContext pickContext(
      HttpRequest request, HttpContext context, HttpClientLoadBalancing.@Nullable KeyFunction key) {
    Object given = context.getAttribute(HttpClientLoadBalancing.PICK_CONTEXT);
    if (given instanceof PickContext) {
      return (PickContext) given;
    }
    if (key != null) {
      CharSequence k = key.hashKey(request);
      if (k != null) {
        return PickContext.ofHashKey(k);
      }
    }
    return PickContext.empty();
  }

  /**
   * The route of one attempt: to the endpoint's address and port, keeping the service's name for
   * TLS (SNI, certificate and host name checks), from the same local address. HttpClient pools
   * connections by route, and a route's target with an address is its own route, so connections are
   * pooled per endpoint.
   */
  static HttpRoute endpointRoute(HttpRoute serviceRoute, Endpoint endpoint)
      throws UnknownHostException {
    HttpHost service = serviceRoute.getTargetHost();
    InetAddress address = endpoint.address();
    if (address == null) {
      address = InetAddress.getByName(endpoint.host()); // a named endpoint; the JDK caches it
    }
    HttpHost target =
        new HttpHost(service.getSchemeName(), address, service.getHostName(), endpoint.port());
    return new HttpRoute(target, serviceRoute.getLocalAddress(), serviceRoute.isSecure());
  }

  /**
   * How an attempt failed: never sent if the connection was never made (which {@link
   * CallFailure#classify} reads from the cause chain, plus HttpClient's own connect timeout and a
   * certificate that does not match the name, found before a byte of the request is written).
   */
  static CallFailure failure(Exception e) {
    if (e instanceof ConnectTimeoutException || e instanceof SSLPeerUnverifiedException) {
      return CallFailure.notSent(e);
    }
    return CallFailure.classify(e);
  }

  /**
   * Reports an answer whose status is retried: as the endpoint's failure if {@code failed}, else as
   * a refusal that does not blame it (a 429); with the answer's {@code Retry-After}.
   */
  static RetryDecision reportStatus(
      Attempt attempt, HttpResponse response, boolean failed, long latencyNanos) {
    CallFailure status = CallFailure.status(response.getCode());
    long retryAfter = retryAfterNanos(response);
    return failed
        ? attempt.failed(status, latencyNanos, retryAfter, Long.MAX_VALUE)
        : attempt.refused(status, latencyNanos, retryAfter, Long.MAX_VALUE);
  }

  /** Parses {@code Retry-After} (seconds or an HTTP date); negative if absent or unreadable. */
  static long retryAfterNanos(HttpResponse response) {
    Header header = response.getFirstHeader("Retry-After");
    if (header == null || header.getValue() == null) {
      return -1;
    }
    String value = header.getValue().trim();
    try {
      return TimeUnit.SECONDS.toNanos(Math.max(0, Long.parseLong(value)));
    } catch (NumberFormatException notSeconds) {
      Instant at = DateUtils.parseStandardDate(value);
      if (at == null) {
        return -1;
      }
      return TimeUnit.MILLISECONDS.toNanos(
          Math.max(0, at.toEpochMilli() - System.currentTimeMillis()));
    }
  }

  /** Whether a body of this type never ends by design (event streams), so is not read ahead. */
  static boolean isStream(@Nullable EntityDetails entity) {
    String type = entity != null ? entity.getContentType() : null;
    if (type == null) {
      return false;
    }
    String t = type.toLowerCase(Locale.ROOT);
    return t.startsWith("text/event-stream") || t.startsWith("application/x-ndjson");
  }

  /** {@code e} as an IOException: HttpClient's protocol errors become its own IOException. */
  static IOException io(Exception e) {
    if (e instanceof IOException) {
      return (IOException) e;
    }
    return new org.apache.hc.client5.http.ClientProtocolException(e.getMessage(), e);
  }

  /**
   * Tells the server in {@code header} how long the attempt has ({@code timeoutNanos}), if there is
   * a header to send and a timeout that applies.
   */
  static <R extends HttpRequest> R tellBudget(
      R request, long timeoutNanos, @Nullable String header) {
    if (header != null && timeoutNanos != Long.MAX_VALUE) {
      request.setHeader(header, AttemptTimeout.budgetMillis(timeoutNanos));
    }
    return request;
  }

  /** Returns {@code name} if it is an HTTP header name (an RFC 9110 token), else throws. */
  static String checkHeaderName(String what, String name) {
    boolean token = !name.isEmpty();
    for (int i = 0; i < name.length() && token; i++) {
      char c = name.charAt(i);
      token =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }
    if (!token) {
      throw new IllegalArgumentException(
          what
              + ": '"
              + name
              + "' (expected: a header name such as Loadstar-Timeout-Ms: letters, digits and"
              + " !#$%&'*+-.^_`|~)");
    }
    return name;
  }

  /**
   * The failure of an attempt its timeout cut ({@link AttemptTimeout#expired}), caused by what the
   * cut left ({@code cut}, if anything).
   */
  static SocketTimeoutException timedOut(
      Endpoint endpoint, String service, long timeoutNanos, @Nullable Exception cut) {
    SocketTimeoutException e = AttemptTimeout.expired(endpoint, service, timeoutNanos);
    if (cut != null) {
      e.initCause(cut);
    }
    return e;
  }

  /**
   * The context an attempt of a hedged request runs in: the request's ({@code parent}) for its
   * first, a copy for the others, which may run beside it (a context is not for two exchanges at
   * once): its request config, cookie store, credentials, auth cache and user token; other
   * attributes are read from the request's.
   */
  static HttpClientContext attemptContext(HttpClientContext parent, int attemptNumber) {
    if (attemptNumber == 1) {
      return parent;
    }
    HttpClientContext c = new HttpClientContext(parent);
    c.setRequestConfig(parent.getRequestConfig());
    c.setCookieStore(parent.getCookieStore());
    c.setCookieSpecRegistry(parent.getCookieSpecRegistry());
    c.setCredentialsProvider(parent.getCredentialsProvider());
    c.setAuthSchemeRegistry(parent.getAuthSchemeRegistry());
    c.setAuthCache(parent.getAuthCache());
    c.setUserToken(parent.getUserToken());
    c.setExchangeId(parent.getExchangeId());
    return c;
  }

  /**
   * A timer on the JDK's shared delayer (no thread of Loadstar's): runs {@code onTimeout} there
   * unless the returned future is completed within {@code nanos}; completing it cancels the timer.
   */
  static CompletableFuture<Void> timer(long nanos, Runnable onTimeout) {
    CompletableFuture<Void> t = new CompletableFuture<>();
    t.orTimeout(nanos, TimeUnit.NANOSECONDS)
        .whenComplete(
            (ignored, error) -> {
              if (error instanceof TimeoutException) {
                onTimeout.run();
              }
            });
    return t;
  }
}
