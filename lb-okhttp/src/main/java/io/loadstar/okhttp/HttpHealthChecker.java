package io.loadstar.okhttp;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.HealthChecker;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;

/**
 * An active HTTP health check on OkHttp, like HAProxy's {@code option httpchk}: sends {@code method
 * path} to the endpoint (on the check port, if lb-core's {@code HealthCheckConfig} sets one) and
 * passes when the status is accepted (200..399 by default) within the timeout.
 *
 * <p>With a {@link Builder#host host} set, the request carries that name in its {@code Host} header
 * and, over HTTPS, in SNI and certificate verification, while the connection goes to the endpoint's
 * address: the check sees the backend as real traffic does. Without one, the endpoint's own host is
 * used. Probes share the given client's connection pool and settings; redirects are not followed
 * and nothing is retried. Thread-safe.
 */
public final class HttpHealthChecker implements HealthChecker {

  private static final Set<String> METHODS = Set.of("GET", "HEAD", "OPTIONS");

  private final OkHttpClient client;
  private final String method;
  private final String path;
  private final int acceptedFrom;
  private final int acceptedTo;
  private final @Nullable String host;
  private final boolean https;

  private HttpHealthChecker(Builder b) {
    this.client =
        b.client
            .newBuilder()
            .followRedirects(false)
            .retryOnConnectionFailure(false)
            .addInterceptor(
                chain -> {
                  Endpoint target = chain.request().tag(Endpoint.class);
                  return target != null
                      ? chain
                          .withDns(
                              new EndpointDns(target, chain.request().url().host(), chain.getDns()))
                          .proceed(chain.request())
                      : chain.proceed(chain.request());
                })
            .build();
    this.method = b.method;
    this.path = b.path;
    this.acceptedFrom = b.acceptedFrom;
    this.acceptedTo = b.acceptedTo;
    this.host = b.host;
    this.https = b.https;
  }

  /** Returns a builder whose probes run on {@code client} (its pool, TLS and proxy settings). */
  public static Builder builder(OkHttpClient client) {
    return new Builder(requireNonNull(client, "client"));
  }

  @Override
  public HealthCheckResult check(Endpoint target, Duration timeout) {
    String name = host != null ? host : target.host();
    HttpUrl url;
    int query = path.indexOf('?');
    try {
      url =
          new HttpUrl.Builder()
              .scheme(https ? "https" : "http")
              .host(name)
              .port(target.port())
              .encodedPath(query < 0 ? path : path.substring(0, query))
              .encodedQuery(query < 0 ? null : path.substring(query + 1))
              .build();
    } catch (IllegalArgumentException e) {
      return HealthCheckResult.unhealthy("bad check URL for " + target + ": " + e.getMessage());
    }
    Request request =
        new Request.Builder()
            .url(url)
            .method(method, null)
            .header("User-Agent", "loadstar-health-check")
            .tag(Endpoint.class, target)
            .build();
    Call call = client.newCall(request);
    call.timeout().timeout(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS);
    try (Response response = call.execute()) {
      int code = response.code();
      if (code >= acceptedFrom && code <= acceptedTo) {
        return HealthCheckResult.healthy();
      }
      return HealthCheckResult.unhealthy(
          method
              + " "
              + path
              + " answered "
              + code
              + " (accepted: "
              + acceptedFrom
              + ".."
              + acceptedTo
              + ")");
    } catch (InterruptedIOException e) {
      return HealthCheckResult.unhealthy(
          method + " " + path + " timed out after " + timeout.toMillis() + " ms");
    } catch (IOException e) {
      return HealthCheckResult.unhealthy(method + " " + path + " failed: " + e);
    }
  }

  @Override
  public String toString() {
    return "HttpHealthChecker{"
        + method
        + " "
        + path
        + ", accepted "
        + acceptedFrom
        + ".."
        + acceptedTo
        + "}";
  }

  /** Builds an {@link HttpHealthChecker}. Setters validate at once. Not thread-safe. */
  public static final class Builder {
    private final OkHttpClient client;
    private String method = "GET";
    private String path = "/";
    private int acceptedFrom = 200;
    private int acceptedTo = 399;
    private @Nullable String host;
    private boolean https;

    private Builder(OkHttpClient client) {
      this.client = client;
    }

    /**
     * Sets the method. Defaults to GET.
     *
     * @throws IllegalArgumentException if not GET, HEAD or OPTIONS
     */
    public Builder method(String method) {
      String m = requireNonNull(method, "method").toUpperCase(Locale.ROOT);
      if (!METHODS.contains(m)) {
        throw new IllegalArgumentException("method: " + method + " (expected: GET, HEAD, OPTIONS)");
      }
      this.method = m;
      return this;
    }

    /**
     * Sets the path, with an optional query. Defaults to {@code /}.
     *
     * @throws IllegalArgumentException if it does not start with {@code /}
     */
    public Builder path(String path) {
      requireNonNull(path, "path");
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("path: " + path + " (expected: starts with /)");
      }
      this.path = path;
      return this;
    }

    /**
     * Sets the accepted statuses as an inclusive range. Defaults to 200..399.
     *
     * @throws IllegalArgumentException if not {@code 100 <= from <= to <= 599}
     */
    public Builder acceptedStatuses(int from, int to) {
      if (from < 100 || to > 599 || from > to) {
        throw new IllegalArgumentException(
            "acceptedStatuses: " + from + ".." + to + " (expected: a range within 100..599)");
      }
      this.acceptedFrom = from;
      this.acceptedTo = to;
      return this;
    }

    /**
     * Sets the name sent as {@code Host} (and as SNI over HTTPS), for backends that route or
     * present certificates by name. Defaults to the endpoint's host.
     *
     * @throws IllegalArgumentException if empty
     */
    public Builder host(String host) {
      requireNonNull(host, "host");
      if (host.isEmpty()) {
        throw new IllegalArgumentException("host: empty (expected: a host name)");
      }
      this.host = host;
      return this;
    }

    /** Sets whether checks use HTTPS. Defaults to false. */
    public Builder https(boolean https) {
      this.https = https;
      return this;
    }

    /** Builds the checker. */
    public HttpHealthChecker build() {
      return new HttpHealthChecker(this);
    }
  }
}
