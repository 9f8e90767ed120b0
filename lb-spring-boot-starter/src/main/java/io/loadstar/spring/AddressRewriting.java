package io.loadstar.spring;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Balancing for the HTTP clients that cannot connect to one address while verifying another name
 * (the JDK's, Jetty's, Reactor Netty's and {@code HttpURLConnection}): each attempt's URL names the
 * picked endpoint's address and port, and the {@code Host} header keeps the service's name where
 * the client lets a caller set it. Plain HTTP only, unless a service declares that its certificates
 * name its endpoints' addresses ({@code tls-name=endpoint-address}): over HTTPS such a client would
 * check each endpoint's certificate against its address. Shared by the {@code RestClient} / {@code
 * RestTemplate} interceptor and the {@code WebClient} filter.
 */
final class AddressRewriting {

  private static final Set<String> IDEMPOTENT_METHODS =
      Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

  /** Bodies up to this size are read ahead, so that a body that breaks early is retried. */
  static final int READ_AHEAD_BYTES = 64 * 1024;

  private final HttpClientLoadBalancing services;
  private final Map<String, ServiceProperties.TlsName> tlsNames;

  /**
   * @param services the balanced hosts (the same as HttpClient 5's)
   * @param tlsNames each balancer's TLS name setting, by balancer name
   */
  AddressRewriting(
      HttpClientLoadBalancing services, Map<String, ServiceProperties.TlsName> tlsNames) {
    this.services = services;
    this.tlsNames = Map.copyOf(tlsNames);
  }

  /** The header that tells a server an attempt's time budget, or null for none. */
  @Nullable String timeoutHeader() {
    return services.timeoutHeader();
  }

  /** The balancer of a request's URL, or null if its host is not balanced. */
  @Nullable LoadBalancer balancerOf(URI uri) {
    String host = uri.getHost();
    return host == null ? null : services.balancerOf(host);
  }

  /**
   * Refuses an HTTPS request that the client would verify against the endpoint's address, unless
   * its service says that is right.
   *
   * @throws IOException saying why, and what to change
   */
  void checkScheme(URI uri, LoadBalancer lb, String transport) throws IOException {
    if (!"https".equalsIgnoreCase(uri.getScheme())
        || tlsNames.get(lb.name()) == ServiceProperties.TlsName.ENDPOINT_ADDRESS) {
      return;
    }
    throw new IOException(
        "'"
            + uri.getHost()
            + "' is balanced by Loadstar over "
            + transport
            + ", which cannot connect to one address while verifying another name: its endpoints'"
            + " certificates would be checked against their addresses. Not sent. Use Apache"
            + " HttpClient 5 (spring.http.clients.imperative.factory=http-components, or"
            + " spring.http.clients.reactive.connector=http-components for WebClient), or set"
            + " loadstar.services."
            + lb.name()
            + ".tls-name=endpoint-address if the certificates name the endpoints' addresses");
  }

  /**
   * The URL of one attempt: {@code uri} with the endpoint's address (its host name if it has no
   * address) and port, its path and query unchanged, still encoded.
   */
  static URI endpointUri(URI uri, Endpoint endpoint) {
    InetAddress address = endpoint.address();
    String host;
    if (address == null) {
      host = endpoint.host();
    } else if (address instanceof Inet6Address) {
      String literal = address.getHostAddress();
      int zone = literal.indexOf('%');
      host = "[" + (zone < 0 ? literal : literal.substring(0, zone)) + "]";
    } else {
      host = address.getHostAddress();
    }
    StringBuilder b = new StringBuilder(uri.toString().length() + 16);
    b.append(uri.getScheme()).append("://").append(host).append(':').append(endpoint.port());
    String path = uri.getRawPath();
    b.append(path == null || path.isEmpty() ? "/" : path);
    if (uri.getRawQuery() != null) {
      b.append('?').append(uri.getRawQuery());
    }
    return URI.create(b.toString());
  }

  /** The {@code Host} header of a request to {@code uri}: its host, and its port if it has one. */
  static String hostHeader(URI uri) {
    String host = uri.getHost();
    return uri.getPort() < 0 ? host : host + ":" + uri.getPort();
  }

  /** Whether a request may be sent again after it may have been processed. */
  static boolean idempotent(String method, boolean hasIdempotencyKey) {
    return hasIdempotencyKey || IDEMPOTENT_METHODS.contains(method.toUpperCase(Locale.ROOT));
  }

  /** Whether an answer with this status counts as the endpoint's failure (5xx, as HttpClient's). */
  static boolean failureStatus(int status) {
    return status >= 500;
  }

  /** Parses {@code Retry-After} (seconds or an HTTP date); negative if absent or unreadable. */
  static long retryAfterNanos(@Nullable String value) {
    if (value == null || value.isBlank()) {
      return -1;
    }
    String v = value.trim();
    try {
      return TimeUnit.SECONDS.toNanos(Math.max(0, Long.parseLong(v)));
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        return TimeUnit.MILLISECONDS.toNanos(
            Math.max(0, at.toEpochMilli() - System.currentTimeMillis()));
      } catch (DateTimeParseException unreadable) {
        return -1;
      }
    }
  }

  /** Whether a body of this content type never ends by design (event streams): not read ahead. */
  static boolean isStream(@Nullable String contentType) {
    if (contentType == null) {
      return false;
    }
    String t = contentType.toLowerCase(Locale.ROOT);
    return t.startsWith("text/event-stream") || t.startsWith("application/x-ndjson");
  }
}
