package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.core.Subsetting;
import io.loadstar.core.TrafficSplit;
import io.loadstar.core.ZoneRouting;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Loadstar's routing features on a gRPC channel, each with the features it meets: zones with
 * outlier detection and retries, a canary rolled back while every RPC succeeds, and subsetting,
 * which also bounds the channel's connections.
 */
class GrpcRoutingTest extends GrpcTestBase {

  @Test
  void localZoneFirst_thenTheOtherZone_whenTheLocalOnesFail_withNoRpcFailed() throws Exception {
    GrpcBackends backends = backends(4);
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      endpoints.add(backends.endpoint(i).withZone(i < 2 ? "a" : "b"));
    }
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(endpoints)
                .zone("a")
                .zoneRouting(
                    ZoneRouting.builder()
                        .policy(ZoneRouting.Policy.LOCAL_FIRST)
                        .minClusterSize(1)
                        .build())
                .build());
    ManagedChannel channel = channel(lb);
    assertThat(Concurrently.run(1, 40, get(channel)).failed()).isZero();
    int[] local = backends.counts();
    assertThat(local[0] + local[1]).as("local zone only: %s", Arrays.toString(local)).isEqualTo(40);
    assertThat(local[0]).isPositive();
    assertThat(local[1]).isPositive();

    backends.resetCounts();
    backends.behave(0, GrpcBackends.Behavior.UNAVAILABLE);
    backends.behave(1, GrpcBackends.Behavior.UNAVAILABLE);
    Concurrently.Outcome outcome = Concurrently.run(1, 100, get(channel));
    int[] counts = backends.counts();
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(counts[0]).as(Arrays.toString(counts)).isLessThanOrEqualTo(5);
    assertThat(counts[1]).as(Arrays.toString(counts)).isLessThanOrEqualTo(5);
    assertThat(counts[2] + counts[3]).isEqualTo(100);
    // One of four may be ejected (maxEjectionPercent 10, at least one); the other failing one
    // goes last, taking only what the others cannot serve.
    EndpointSnapshot s0 = snapshotOf(lb, backends, 0);
    EndpointSnapshot s1 = snapshotOf(lb, backends, 1);
    assertThat(List.of(s0.state(), s1.state()))
        .as("%s, %s", s0, s1)
        .contains(EndpointSnapshot.State.EJECTED);
    EndpointSnapshot other = s0.state() == EndpointSnapshot.State.EJECTED ? s1 : s0;
    assertThat(other.reason()).as("%s", other).contains("goes last");
  }

  @Test
  void aFailingCanary_isRolledBack_withNoRpcFailed() throws Exception {
    GrpcBackends backends = backends(4);
    List<Endpoint> endpoints = new ArrayList<>(backends.endpoints());
    endpoints.set(3, endpoints.get(3).withTag("version", "canary"));
    backends.behave(3, GrpcBackends.Behavior.UNAVAILABLE);
    AtomicReference<String> rolledBack = new AtomicReference<>();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(endpoints)
                .trafficSplit(
                    TrafficSplit.toTag("version", "canary").percent(25).rollbackOnErrors(5))
                .eventListener(
                    new LbEventListener() {
                      @Override
                      public void canaryRolledBack(String service, String reason) {
                        rolledBack.set(reason);
                      }
                    })
                .build());
    Concurrently.Outcome outcome = Concurrently.run(1, 200, get(channel(lb)));
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(Await.until(() -> rolledBack.get() != null)).isTrue();
    assertThat(backends.counts()[3]).isLessThanOrEqualTo(5);
  }

  @Test
  void subsetting_limitsPicksAndConnectionsToTheSubset() throws Exception {
    GrpcBackends backends = backends(6);
    // Three clients of six endpoints, about 2 each: the plan spreads sizes (1 to 5 were seen),
    // but the three subsets cover the six endpoints about once, so the smallest has at most 2
    // or 3 (2 at most over 400 ports tried): take that client.
    LoadBalancer lb = null;
    for (int instance = 0; instance < 3; instance++) {
      LoadBalancer candidate =
          closeLater(
              LoadBalancers.builder("echo")
                  .endpoints(backends.endpoints())
                  .strategy(Strategies.roundRobin())
                  .subsetting(Subsetting.size(2).instance(instance, 3))
                  .build());
      if (lb == null || candidate.inspect().endpoints().size() < lb.inspect().endpoints().size()) {
        lb = candidate;
      }
    }
    assertThat(Concurrently.run(1, 30, get(channel(lb))).failed()).isZero();
    List<String> subset = new ArrayList<>();
    for (Endpoint e : lb.inspect().endpoints()) {
      subset.add(e.key());
    }
    assertThat(subset.size()).as("a subset of 6: %s", subset).isBetween(1, 3);
    int[] counts = backends.counts();
    int[] connections = backends.connections();
    for (int i = 0; i < 6; i++) {
      boolean member = subset.contains(backends.endpoint(i).key());
      assertThat(counts[i] > 0)
          .as("RPCs %s, subset %s", Arrays.toString(counts), subset)
          .isEqualTo(member);
      assertThat(connections[i] > 0)
          .as("connections %s, subset %s", Arrays.toString(connections), subset)
          .isEqualTo(member);
    }
  }
}
