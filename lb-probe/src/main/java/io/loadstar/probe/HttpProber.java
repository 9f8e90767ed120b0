package io.loadstar.probe;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.ProbeResult;
import io.loadstar.api.Prober;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Probes endpoints over HTTP: {@code GET <scheme>://<endpoint address>:<port>/loadstar/probe} with
 * the JDK's {@link HttpClient} (asynchronous; its own pooled connections), answered by a {@link
 * ProbeLoad} responder. A probe fails, with the endpoint and the reason in its message, when the
 * endpoint does not answer 200 or answers what is not a probe answer.
 *
 * <pre>{@code
 * LoadBalancer api = LoadBalancers.builder("api")
 *     .source(...)
 *     .strategy(Strategies.probing(HttpProber.create()))
 *     .build();
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class HttpProber implements Prober {

  private final HttpClient client;
  private final String scheme;
  private final int port;
  private final String path;
  private final Duration timeout;

  private HttpProber(Builder b) {
    this.client =
        b.client != null
            ? b.client
            : HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(b.timeout)
                .build();
    this.scheme = b.scheme;
    this.port = b.port;
    this.path = b.path;
    this.timeout = b.timeout;
  }

  /** A prober over plain HTTP on each endpoint's own port, 500 ms per probe. */
  public static HttpProber create() {
    return builder().build();
  }

  /** Returns a builder with the defaults of {@link #create()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The URI a probe of {@code endpoint} asks. */
  URI uri(Endpoint endpoint) {
    String host =
        endpoint.address() != null ? endpoint.address().getHostAddress() : endpoint.host();
    if (host.indexOf(':') >= 0) {
      host = "[" + host + "]";
    }
    int p = port != 0 ? port : endpoint.port();
    return URI.create(scheme + "://" + host + ":" + p + path);
  }

  @Override
  public CompletionStage<ProbeResult> probe(Endpoint endpoint) {
    URI uri = uri(endpoint);
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    return client
        .sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .thenCompose(
            response -> {
              if (response.statusCode() != 200) {
                return CompletableFuture.failedFuture(
                    new IllegalStateException(
                        uri + " answered HTTP " + response.statusCode() + ", not a probe answer"));
              }
              try {
                return CompletableFuture.completedFuture(ProbeLoad.parse(response.body()));
              } catch (IllegalArgumentException e) {
                return CompletableFuture.failedFuture(
                    new IllegalStateException(uri + ": " + e.getMessage(), e));
              }
            });
  }

  @Override
  public String toString() {
    return "HttpProber{" + scheme + (port != 0 ? ", port " + port : "") + ", " + timeout + '}';
  }

  /** Builds an {@link HttpProber}. Setters validate at once. Not thread-safe. */
  public static final class Builder {
    private @Nullable HttpClient client;
    private String scheme = "http";
    private int port;
    private String path = ProbeLoad.PATH;
    private Duration timeout = Duration.ofMillis(500);

    private Builder() {}

    /** Probes over HTTPS (the client's TLS settings apply). Defaults to plain HTTP. */
    public Builder https() {
      this.scheme = "https";
      return this;
    }

    /**
     * Sends probes to {@code port} rather than each endpoint's own (a separate admin port). 0, the
     * default, means the endpoint's.
     *
     * @throws IllegalArgumentException if not in {@code 0..65535}
     */
    public Builder port(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
      }
      this.port = port;
      return this;
    }

    /**
     * Sets the path probes ask, for a responder under a context path ({@code "/app" +
     * ProbeLoad.PATH} for a Servlet application at {@code /app}). Defaults to {@link
     * ProbeLoad#PATH}.
     *
     * @throws IllegalArgumentException if it does not start with {@code /}
     */
    public Builder path(String path) {
      requireNonNull(path, "path");
      if (!path.startsWith("/") || path.contains("?") || path.contains("#")) {
        throw new IllegalArgumentException(
            "path: '" + path + "' (expected: an absolute path, without query or fragment)");
      }
      URI.create(path); // refuses what is not a URI path, naming it
      this.path = path;
      return this;
    }

    /**
     * Sets how long a probe may take, connecting included. Defaults to 500 ms.
     *
     * @throws IllegalArgumentException if not in {@code 1ms..10s}
     */
    public Builder timeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      if (timeout.compareTo(Duration.ofMillis(1)) < 0
          || timeout.compareTo(Duration.ofSeconds(10)) > 0) {
        throw new IllegalArgumentException("timeout: " + timeout + " (expected: PT0.001S..PT10S)");
      }
      this.timeout = timeout;
      return this;
    }

    /** Sends probes with {@code client} (its executor, TLS, proxy settings). */
    public Builder client(HttpClient client) {
      this.client = requireNonNull(client, "client");
      return this;
    }

    /** Builds the prober. */
    public HttpProber build() {
      return new HttpProber(this);
    }
  }
}
