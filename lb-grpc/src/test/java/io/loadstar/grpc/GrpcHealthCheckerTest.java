package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The grpc.health.v1 checker against real servers, alone and as a balancer's active check. */
class GrpcHealthCheckerTest extends GrpcTestBase {

  @Test
  void servingPasses_notServingAndNoHealthServiceFail_withTheReason() throws Exception {
    GrpcBackends backends = backends(2);
    GrpcHealthChecker checker =
        closeLater(GrpcHealthChecker.builder(InsecureChannelCredentials.create()).build());
    backends.serving(1, false);
    assertThat(checker.check(backends.endpoint(0), Duration.ofSeconds(5)).isHealthy()).isTrue();
    HealthCheckResult down = checker.check(backends.endpoint(1), Duration.ofSeconds(5));
    assertThat(down.isHealthy()).isFalse();
    assertThat(down.reason()).contains("NOT_SERVING");

    String bareHost = "127.0.0." + hosts(1);
    Server bare = NettyServerBuilder.forAddress(new InetSocketAddress(bareHost, 0)).build().start();
    closeLater(
        () -> {
          bare.shutdownNow();
          bare.awaitTermination(10, TimeUnit.SECONDS);
        });
    HealthCheckResult none =
        checker.check(Endpoint.of(bareHost, bare.getPort()), Duration.ofSeconds(5));
    assertThat(none.reason()).contains("no grpc.health.v1 service").contains("UNIMPLEMENTED");

    HealthCheckResult unknown =
        closeLater(
                GrpcHealthChecker.builder(InsecureChannelCredentials.create())
                    .service("no.Such")
                    .build())
            .check(backends.endpoint(0), Duration.ofSeconds(5));
    assertThat(unknown.reason()).contains("'no.Such'").contains("NOT_FOUND");

    HealthCheckResult refused =
        checker.check(Endpoint.of("127.0.0." + hosts(1), 1), Duration.ofSeconds(5));
    assertThat(refused.isHealthy()).isFalse();
    assertThat(refused.reason()).contains("UNAVAILABLE");
  }

  @Test
  void aBalancersCheck_takesANotServingServerOutOfRotation_andBack() throws Exception {
    GrpcBackends backends = backends(3);
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
    ManagedChannel channel = channel(lb);
    backends.serving(2, false);
    assertThat(
            Await.until(
                () -> snapshotOf(lb, backends, 2).state() == EndpointSnapshot.State.UNHEALTHY))
        .isTrue();
    backends.resetCounts();
    for (int i = 0; i < 20; i++) {
      call(channel, GrpcBackends.GET);
    }
    assertThat(backends.counts()[2]).isZero();
    backends.serving(2, true);
    assertThat(
            Await.until(
                () -> snapshotOf(lb, backends, 2).state() != EndpointSnapshot.State.UNHEALTHY))
        .isTrue();
  }
}
