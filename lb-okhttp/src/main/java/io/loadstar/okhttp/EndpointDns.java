package io.loadstar.okhttp;

import io.loadstar.api.Endpoint;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import okhttp3.Dns;
import org.jspecify.annotations.Nullable;

/**
 * Resolves every name to one endpoint's address. OkHttp keys pooled connections by the {@link Dns}
 * among other things, so each endpoint gets its own connections while the URL, Host header, SNI and
 * certificate checks keep the service's name. Equal for equal endpoint addresses, so a new instance
 * for the same endpoint finds its pooled connections.
 */
final class EndpointDns implements Dns {

  private final String host;
  private final @Nullable InetAddress address;

  EndpointDns(Endpoint endpoint) {
    this.host = endpoint.host();
    this.address = endpoint.address();
  }

  @Override
  public List<InetAddress> lookup(String hostname) throws UnknownHostException {
    InetAddress a = address;
    if (a != null) {
      return List.of(a);
    }
    // A host name or an address literal: the latter parses without a lookup.
    return List.of(InetAddress.getAllByName(host));
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof EndpointDns
        && ((EndpointDns) o).host.equals(host)
        && java.util.Objects.equals(((EndpointDns) o).address, address);
  }

  @Override
  public int hashCode() {
    return host.hashCode() * 31 + java.util.Objects.hashCode(address);
  }

  @Override
  public String toString() {
    return "EndpointDns{" + (address != null ? address.getHostAddress() : host) + '}';
  }
}
