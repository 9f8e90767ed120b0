package io.loadstar.okhttp;

import io.loadstar.api.Endpoint;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Objects;
import okhttp3.Dns;
import org.jspecify.annotations.Nullable;

/**
 * Resolves the service's host name to one endpoint's address, and every other name (a redirect's
 * target, say) as the client would. OkHttp keys pooled connections by the {@link Dns} among other
 * things, so each endpoint gets its own connections while the URL, Host header, SNI and certificate
 * checks keep the service's name. Equal for the same endpoint (address and port), service and
 * fallback, so a new instance per attempt finds the endpoint's pooled connections. The port must be
 * part of it: OkHttp's pool does not compare socket factories, so two endpoints on one address with
 * different ports (reached through {@link PortSocketFactory}) would otherwise share connections.
 */
final class EndpointDns implements Dns {

  private final String serviceHost;
  private final String endpointHost;
  private final int endpointPort;
  private final @Nullable InetAddress address;
  private final Dns fallback;

  EndpointDns(Endpoint endpoint, String serviceHost, Dns fallback) {
    this.serviceHost = serviceHost;
    this.endpointHost = endpoint.host();
    this.endpointPort = endpoint.port();
    this.address = endpoint.address();
    this.fallback = fallback;
  }

  @Override
  public List<InetAddress> lookup(String hostname) throws UnknownHostException {
    if (!hostname.equalsIgnoreCase(serviceHost)) {
      return fallback.lookup(hostname);
    }
    InetAddress a = address;
    if (a != null) {
      return List.of(a);
    }
    // A host name or an address literal: the latter parses without a lookup.
    return List.of(InetAddress.getAllByName(endpointHost));
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof EndpointDns)) {
      return false;
    }
    EndpointDns that = (EndpointDns) o;
    return endpointHost.equals(that.endpointHost)
        && endpointPort == that.endpointPort
        && Objects.equals(address, that.address)
        && serviceHost.equalsIgnoreCase(that.serviceHost)
        && fallback.equals(that.fallback);
  }

  @Override
  public int hashCode() {
    return (endpointHost.hashCode() * 31 + endpointPort) * 31 + Objects.hashCode(address);
  }

  @Override
  public String toString() {
    return "EndpointDns{"
        + serviceHost
        + " -> "
        + (address != null ? address.getHostAddress() : endpointHost)
        + ':'
        + endpointPort
        + '}';
  }
}
