package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.HealthChecker;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;

/**
 * A health check that passes when a TCP connection to the target opens within the timeout, like
 * HAProxy's plain {@code check}. The connection is closed at once. It tests the {@link
 * Layer#CONNECT connect layer}: it can end an outlier ejection for connect failures, not one for
 * 5xx responses or timeouts.
 *
 * <p>Stateless and thread-safe.
 */
public final class TcpHealthChecker implements HealthChecker {

  private static final TcpHealthChecker INSTANCE = new TcpHealthChecker();

  private TcpHealthChecker() {}

  /** Returns the TCP-connect checker. */
  public static TcpHealthChecker create() {
    return INSTANCE;
  }

  @Override
  public HealthCheckResult check(Endpoint target, Duration timeout) {
    InetSocketAddress address =
        target.address() != null
            ? new InetSocketAddress(target.address(), target.port())
            : new InetSocketAddress(target.host(), target.port());
    if (address.isUnresolved()) {
      return HealthCheckResult.unhealthy("unknown host " + target.host());
    }
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    try (Socket socket = new Socket()) {
      socket.connect(address, millis);
      return HealthCheckResult.healthy();
    } catch (SocketTimeoutException e) {
      return HealthCheckResult.unhealthy(
          "connect timed out after " + millis + " ms on port " + target.port());
    } catch (ConnectException e) {
      return HealthCheckResult.unhealthy("connection refused on port " + target.port());
    } catch (UnknownHostException e) {
      return HealthCheckResult.unhealthy("unknown host " + target.host());
    } catch (IOException e) {
      return HealthCheckResult.unhealthy(e + " on port " + target.port());
    }
  }

  /**
   * {@link Layer#CONNECT}: a passing connect ends an ejection for connect failures on the
   * endpoint's own port, never one for error responses or timeouts.
   */
  @Override
  public Layer layer() {
    return Layer.CONNECT;
  }

  @Override
  public String toString() {
    return "TcpHealthChecker";
  }
}
