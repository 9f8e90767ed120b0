package io.loadstar.okhttp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.Objects;
import javax.net.SocketFactory;
import org.jspecify.annotations.Nullable;

/**
 * Connects to an endpoint's own port when it differs from the URL's (SRV records, registries): the
 * URL keeps the service's port for Host and cache keys, the socket goes to the endpoint's. Only
 * connections to the URL's port on the endpoint's address are moved, so a redirect elsewhere is
 * untouched. For clients with the default socket factory; equal for equal settings, so pooling keys
 * stay stable.
 */
final class PortSocketFactory extends SocketFactory {

  private final int urlPort;
  private final int endpointPort;
  private final @Nullable InetAddress endpointAddress;

  PortSocketFactory(int urlPort, int endpointPort, @Nullable InetAddress endpointAddress) {
    this.urlPort = urlPort;
    this.endpointPort = endpointPort;
    this.endpointAddress = endpointAddress;
  }

  private SocketAddress moved(SocketAddress target) {
    if (target instanceof InetSocketAddress) {
      InetSocketAddress t = (InetSocketAddress) target;
      if (t.getPort() == urlPort
          && (endpointAddress == null || endpointAddress.equals(t.getAddress()))) {
        return new InetSocketAddress(t.getAddress(), endpointPort);
      }
    }
    return target;
  }

  @Override
  public Socket createSocket() {
    return new Socket() {
      @Override
      public void connect(SocketAddress endpoint, int timeout) throws IOException {
        super.connect(moved(endpoint), timeout);
      }
    };
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return connected(new InetSocketAddress(host, port), null);
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
      throws IOException {
    return connected(
        new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return connected(new InetSocketAddress(host, port), null);
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    return connected(
        new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
  }

  /**
   * The connected forms, which OkHttp does not use: one unconnected socket, bound and connected.
   */
  private Socket connected(InetSocketAddress target, @Nullable InetSocketAddress local)
      throws IOException {
    Socket s = createSocket();
    if (local != null) {
      s.bind(local);
    }
    s.connect(target);
    return s;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof PortSocketFactory)) {
      return false;
    }
    PortSocketFactory that = (PortSocketFactory) o;
    return urlPort == that.urlPort
        && endpointPort == that.endpointPort
        && Objects.equals(endpointAddress, that.endpointAddress);
  }

  @Override
  public int hashCode() {
    return urlPort * 31 + endpointPort;
  }
}
