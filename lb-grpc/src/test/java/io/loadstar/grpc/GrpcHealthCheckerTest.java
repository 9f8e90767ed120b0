package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The grpc.health.v1 checker against real servers, alone and as a balancer's active check. */
class GrpcHealthCheckerTest {

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  @Test
  void servingPasses_notServingAndNoHealthServiceFail_withTheReason() throws Exception {
    GrpcBackends backends = closeLater(GrpcBackends.startAt(71, 2));
    GrpcHealthChecker checker =
        closeLater(GrpcHealthChecker.builder(InsecureChannelCredentials.create()).build());
    backends.serving(1, false);
    assertThat(checker.check(backends.endpoint(0), Duration.ofSeconds(5)).isHealthy()).isTrue();
    HealthCheckResult down = checker.check(backends.endpoint(1), Duration.ofSeconds(5));
    assertThat(down.isHealthy()).isFalse();
    assertThat(down.reason()).contains("NOT_SERVING");

    Server bare =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.73", 0)).build().start();
    closeLater(
        () -> {
          bare.shutdownNow();
          bare.awaitTermination(10, TimeUnit.SECONDS);
        });
    HealthCheckResult none =
        checker.check(Endpoint.of("127.0.0.73", bare.getPort()), Duration.ofSeconds(5));
    assertThat(none.reason()).contains("no grpc.health.v1 service").contains("UNIMPLEMENTED");

    HealthCheckResult unknown =
        GrpcHealthCheckerTest.this
            .closeLater(
                GrpcHealthChecker.builder(InsecureChannelCredentials.create())
                    .service("no.Such")
                    .build())
            .check(backends.endpoint(0), Duration.ofSeconds(5));
    assertThat(unknown.reason()).contains("'no.Such'").contains("NOT_FOUND");

    HealthCheckResult refused = checker.check(Endpoint.of("127.0.0.74", 1), Duration.ofSeconds(5));
    assertThat(refused.isHealthy()).isFalse();
    assertThat(refused.reason()).contains("UNAVAILABLE");
  }

  @Test
  void aBalancersCheck_takesANotServingServerOutOfRotation_andBack() throws Exception {
    GrpcBackends backends = closeLater(GrpcBackends.startAt(75, 3));
    GrpcHealthChecker checker =
        closeLater(GrpcHealthChecker.builder(InsecureChannelCredentials.create()).build());
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(backends.endpoints())
                .strategy(Strategies.roundRobin())
                .healthChecks(
                    checker,
                    HealthCheckConfig.builder()
                        .interval(Duration.ofMillis(50))
                        .rise(1)
                        .fall(1)
                        .build())
                .build());
    ManagedChannel channel =
        LoadstarGrpc.newChannelBuilder(lb, InsecureChannelCredentials.create()).build();
    closeLater(
        () -> {
          channel.shutdownNow();
          channel.awaitTermination(10, TimeUnit.SECONDS);
        });
    backends.serving(2, false);
    assertThat(
            Await.until(
                () -> lb.inspect().snapshot().get(2).state() == EndpointSnapshot.State.UNHEALTHY))
        .isTrue();
    backends.resetCounts();
    for (int i = 0; i < 20; i++) {
      ClientCalls.blockingUnaryCall(
          channel,
          GrpcBackends.GET,
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
          "x");
    }
    assertThat(backends.counts()[2]).isZero();
    backends.serving(2, true);
    assertThat(
            Await.until(
                () -> lb.inspect().snapshot().get(2).state() != EndpointSnapshot.State.UNHEALTHY))
        .isTrue();
  }
}
