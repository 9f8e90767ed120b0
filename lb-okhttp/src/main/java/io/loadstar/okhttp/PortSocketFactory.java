package io.loadstar.okhttp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import javax.net.SocketFactory;
import org.jspecify.annotations.Nullable;

/**
 * Connects to an endpoint's own port when it differs from the URL's (SRV records, registries): the
 * URL keeps the service's port for Host and cache keys, the socket goes to the endpoint's. Only for
 * clients with the default socket factory; equal for equal ports, so pooling keys stay stable.
 */
final class PortSocketFactory extends SocketFactory {

  private final int port;

  PortSocketFactory(int port) {
    this.port = port;
  }

  @Override
  public Socket createSocket() {
    return new Socket() {
      @Override
      public void connect(SocketAddress endpoint, int timeout) throws IOException {
        InetSocketAddress target = (InetSocketAddress) endpoint;
        super.connect(new InetSocketAddress(target.getAddress(), port), timeout);
      }
    };
  }

  @Override
  public Socket createSocket(String host, int ignoredPort) throws IOException {
    return new Socket(host, port);
  }

  @Override
  public Socket createSocket(String host, int ignoredPort, InetAddress localHost, int localPort)
      throws IOException {
    return new Socket(host, port, localHost, localPort);
  }

  @Override
  public Socket createSocket(InetAddress host, int ignoredPort) throws IOException {
    return new Socket(host, port);
  }

  @Override
  public Socket createSocket(
      InetAddress address, int ignoredPort, InetAddress localAddress, int localPort)
      throws IOException {
    return new Socket(address, port, localAddress, localPort);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof PortSocketFactory && ((PortSocketFactory) o).port == port;
  }

  @Override
  public int hashCode() {
    return port;
  }
}
