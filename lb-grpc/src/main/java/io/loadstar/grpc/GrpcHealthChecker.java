package io.loadstar.grpc;

import static java.util.Objects.requireNonNull;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.HealthChecker;
import io.loadstar.api.Ticker;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * An active health check through gRPC's standard health service ({@code grpc.health.v1.Health/
 * Check}): passes when the endpoint answers {@code SERVING} for the configured service within the
 * timeout. Plug it into the balancer's builder as any checker: {@code
 * .healthChecks(GrpcHealthChecker.builder(credentials).service("orders.Orders").build(),
 * HealthCheckConfig.builder()...build())}.
 *
 * <p>Each endpoint is probed over a channel of its own, to its address (with the check port, if the
 * health check config sets one), with the given credentials and, if set, the service's authority,
 * so TLS checks the service's certificate as real calls do. A channel not used for {@link
 * Builder#idleChannelTimeout} (an endpoint that left) is shut down at a later probe; {@link
 * #close()} shuts down all of them. Needs {@code io.grpc:grpc-services} on the class path (its
 * generated health messages), as servers that offer the service have. Thread-safe.
 */
public final class GrpcHealthChecker implements HealthChecker, AutoCloseable {

  private final ChannelCredentials credentials;
  private final String service;
  private final @Nullable String authority;
  private final long idleNanos;
  private final Ticker ticker;
  private final Map<String, Probe> channels = new ConcurrentHashMap<>();
  private volatile long lastSweep;
  private volatile boolean closed;

  private GrpcHealthChecker(Builder b) {
    this.credentials = b.credentials;
    this.service = b.service;
    this.authority = b.authority;
    this.idleNanos = b.idleChannelTimeout.toNanos();
    this.ticker = b.ticker;
    this.lastSweep = ticker.nanoTime();
  }

  /**
   * Returns a builder whose probes use {@code credentials} ({@code
   * InsecureChannelCredentials.create()} for plain text).
   *
   * @throws IllegalStateException if {@code io.grpc:grpc-services} is not on the class path
   */
  public static Builder builder(ChannelCredentials credentials) {
    try {
      Class.forName(
          "io.grpc.health.v1.HealthGrpc", false, GrpcHealthChecker.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(
          "GrpcHealthChecker needs io.grpc:grpc-services (the grpc.health.v1 messages) on the"
              + " class path",
          e);
    }
    return new Builder(requireNonNull(credentials, "credentials"));
  }

  @Override
  public HealthCheckResult check(Endpoint target, Duration timeout) {
    if (closed) {
      return HealthCheckResult.unhealthy("the gRPC health checker is closed");
    }
    long now = ticker.nanoTime();
    sweep(now);
    Probe probe = channels.computeIfAbsent(target.key(), k -> new Probe(channel(target)));
    probe.lastUsed = now;
    try {
      HealthCheckResponse response =
          HealthGrpc.newBlockingStub(probe.channel)
              .withDeadlineAfter(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS)
              .check(HealthCheckRequest.newBuilder().setService(service).build());
      HealthCheckResponse.ServingStatus status = response.getStatus();
      if (status == HealthCheckResponse.ServingStatus.SERVING) {
        return HealthCheckResult.healthy();
      }
      return HealthCheckResult.unhealthy(
          "grpc.health.v1 says " + status + " for " + describeService());
    } catch (StatusRuntimeException e) {
      Status s = e.getStatus();
      switch (s.getCode()) {
        case UNIMPLEMENTED:
          return HealthCheckResult.unhealthy(
              "no grpc.health.v1 service on " + target.authority() + " (UNIMPLEMENTED)");
        case NOT_FOUND:
          return HealthCheckResult.unhealthy(
              "grpc.health.v1 does not know " + describeService() + " (NOT_FOUND)");
        default:
          return HealthCheckResult.unhealthy(
              "grpc.health.v1 check failed: "
                  + s.getCode()
                  + (s.getDescription() != null ? " " + s.getDescription() : ""));
      }
    }
  }

  private String describeService() {
    return service.isEmpty() ? "the server as a whole" : "service '" + service + "'";
  }

  private ManagedChannel channel(Endpoint target) {
    ManagedChannelBuilder<?> b =
        Grpc.newChannelBuilderForAddress(
            target.address() != null ? target.address().getHostAddress() : target.host(),
            target.port(),
            credentials);
    if (authority != null) {
      b.overrideAuthority(authority);
    }
    return b.disableRetry().build();
  }

  /** Shuts down the channels of endpoints not probed for the idle timeout, at most so often. */
  private void sweep(long now) {
    if (now - lastSweep < idleNanos / 2) {
      return;
    }
    lastSweep = now;
    for (Iterator<Map.Entry<String, Probe>> it = channels.entrySet().iterator(); it.hasNext(); ) {
      Probe p = it.next().getValue();
      if (now - p.lastUsed > idleNanos) {
        it.remove();
        p.channel.shutdown();
      }
    }
  }

  /** Shuts down every probe channel; later probes report unhealthy. Idempotent. */
  @Override
  public void close() {
    closed = true;
    for (Iterator<Probe> it = channels.values().iterator(); it.hasNext(); ) {
      it.next().channel.shutdownNow();
      it.remove();
    }
  }

  @Override
  public String toString() {
    return "GrpcHealthChecker{" + describeService() + "}";
  }

  private static final class Probe {
    final ManagedChannel channel;
    volatile long lastUsed;

    Probe(ManagedChannel channel) {
      this.channel = channel;
    }
  }

  /** Builds a {@link GrpcHealthChecker}. Not thread-safe. */
  public static final class Builder {
    private final ChannelCredentials credentials;
    private String service = "";
    private @Nullable String authority;
    private Duration idleChannelTimeout = Duration.ofMinutes(5);
    private Ticker ticker = Ticker.system();

    private Builder(ChannelCredentials credentials) {
      this.credentials = credentials;
    }

    /**
     * Sets the service whose health is asked ({@code HealthCheckRequest.service}, such as {@code
     * "orders.Orders"}); the empty string, the default, asks about the server as a whole.
     */
    public Builder service(String service) {
      this.service = requireNonNull(service, "service");
      return this;
    }

    /**
     * Sets the authority probes carry and TLS verifies: the service's name, as the balanced
     * channel's. Unset, it is the endpoint's address.
     *
     * @throws IllegalArgumentException if blank
     */
    public Builder authority(String authority) {
      requireNonNull(authority, "authority");
      if (authority.isBlank()) {
        throw new IllegalArgumentException(
            "authority: '" + authority + "' (expected: a host name, optionally with a port)");
      }
      this.authority = authority;
      return this;
    }

    /**
     * Sets how long an endpoint's probe channel is kept without a probe (an endpoint that left
     * discovery); 5 minutes by default.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder idleChannelTimeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException(
            "idleChannelTimeout: " + timeout + " (expected: a positive duration)");
      }
      this.idleChannelTimeout = timeout;
      return this;
    }

    /** Sets the clock the idle timeout is measured on; the system's by default. */
    public Builder ticker(Ticker ticker) {
      this.ticker = requireNonNull(ticker, "ticker");
      return this;
    }

    /** Builds the checker. */
    public GrpcHealthChecker build() {
      return new GrpcHealthChecker(this);
    }
  }
}
