package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The failover scenarios of the HTTP drivers, on real gRPC servers (grpc-netty on 127.0.0.x): one
 * server killed, one answering {@code UNAVAILABLE}, one 100 ms slow. Each runs on a channel on
 * Loadstar with its defaults (asserted), then beside it on gRPC's own {@code round_robin} and
 * {@code least_request_experimental} (grpc-xds) over the same resolver, each with a service config
 * retry policy of three attempts on {@code UNAVAILABLE} (measured and printed, for the README). A
 * fourth scenario, one server that never answers, also runs each peer with gRPC's own hedging
 * policy, beside Loadstar's hedging.
 */
class GrpcFailoverTest extends GrpcTestBase {

  /** The peers' retry policy: what a gRPC user would configure, with as many attempts. */
  private static final Map<String, ?> PEER_RETRY =
      echoMethodConfig(
          "retryPolicy",
          Map.of(
              "maxAttempts",
              3.0,
              "initialBackoff",
              "0.01s",
              "maxBackoff",
              "0.1s",
              "backoffMultiplier",
              2.0,
              "retryableStatusCodes",
              List.of("UNAVAILABLE")));

  /** gRPC's own hedging, as a gRPC user would configure it: up to 3 attempts, 50 ms apart. */
  private static final Map<String, ?> PEER_HEDGING =
      echoMethodConfig(
          "hedgingPolicy",
          Map.of(
              "maxAttempts",
              3.0,
              "hedgingDelay",
              "0.05s",
              "nonFatalStatusCodes",
              List.of("UNAVAILABLE")));

  /**
   * A service config with one method config for the Echo service: {@code kind} is {@code policy}.
   */
  private static Map<String, ?> echoMethodConfig(String kind, Map<String, ?> policy) {
    return Map.of(
        "methodConfig",
        List.of(Map.of("name", List.of(Map.of("service", "loadstar.test.Echo")), kind, policy)));
  }

  private static final List<String> RESULTS = new ArrayList<>();

  @AfterAll
  static void printResults() {
    System.out.println("gRPC failover, side by side:");
    RESULTS.forEach(r -> System.out.println("  " + r));
  }

  private GrpcBackends backends() throws Exception {
    return backends(3);
  }

  private LoadBalancer balancer(GrpcBackends backends) throws Exception {
    return balancer(backends, RetryPolicy.defaults());
  }

  private LoadBalancer balancer(GrpcBackends backends, RetryPolicy policy) throws Exception {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(backends.endpoints())
                .retryPolicy(policy)
                .build());
    assertThat(lb.awaitReady(Duration.ofSeconds(10))).isTrue();
    return lb;
  }

  /** Three servers of which the third takes RPCs and never answers. */
  private GrpcBackends oneHung() throws Exception {
    GrpcBackends backends = backends();
    backends.behave(2, GrpcBackends.Behavior.HUNG);
    return backends;
  }

  private ManagedChannel loadstar(LoadBalancer lb) {
    return channel(lb);
  }

  private ManagedChannel peer(LoadBalancer lb, String policy) {
    return peer(lb, policy, PEER_RETRY);
  }

  private ManagedChannel peer(LoadBalancer lb, String policy, Map<String, ?> serviceConfig) {
    return closing(
        Grpc.newChannelBuilder(LoadstarGrpc.target(lb), InsecureChannelCredentials.create())
            .setNameResolverArg(LoadstarGrpc.BALANCER, lb)
            .defaultLoadBalancingPolicy(policy)
            .defaultServiceConfig(serviceConfig)
            .build());
  }

  private static List<String> peers() {
    List<String> peers = new ArrayList<>(List.of("round_robin"));
    if (LoadBalancerRegistry.getDefaultRegistry().getProvider("least_request_experimental")
        != null) {
      peers.add("least_request_experimental");
    }
    return peers;
  }

  private static void record(String scenario, String client, Concurrently.Outcome o, int[] counts) {
    RESULTS.add(
        String.format(
            "%-12s %-46s failed %3d, RPCs per backend %s",
            scenario, client, o.failed(), Arrays.toString(counts)));
  }

  @Test
  void oneServerKilled_noRpcFails_andItIsEjected() throws Exception {
    GrpcBackends backends = backends();
    LoadBalancer lb = balancer(backends);
    ManagedChannel channel = loadstar(lb);
    Concurrently.run(2, 30, get(channel)); // connected to all three
    backends.kill(2);
    backends.resetCounts();
    Concurrently.Outcome outcome = Concurrently.run(4, 300, get(channel));
    record("killed", "loadstar", outcome, backends.counts());
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    EndpointSnapshot dead = snapshotOf(lb, backends, 2);
    assertThat(dead.state()).as("%s", dead).isEqualTo(EndpointSnapshot.State.EJECTED);

    for (String policy : peers()) {
      GrpcBackends peerBackends = backends();
      LoadBalancer peerLb = balancer(peerBackends);
      ManagedChannel peer = peer(peerLb, policy);
      Concurrently.run(2, 30, get(peer));
      peerBackends.kill(2);
      peerBackends.resetCounts();
      record("killed", policy, Concurrently.run(4, 300, get(peer)), peerBackends.counts());
    }
  }

  @Test
  void oneServerAnswersUnavailable_noRpcFails_andItIsEjectedAfterTheFifth() throws Exception {
    GrpcBackends backends = backends();
    backends.behave(1, GrpcBackends.Behavior.UNAVAILABLE);
    LoadBalancer lb = balancer(backends);
    Concurrently.Outcome outcome = Concurrently.run(1, 300, get(loadstar(lb)));
    record("UNAVAILABLE", "loadstar", outcome, backends.counts());
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(backends.counts()[1]).isEqualTo(5); // one caller: nothing in flight
    assertThat(snapshotOf(lb, backends, 1).state()).isEqualTo(EndpointSnapshot.State.EJECTED);

    for (String policy : peers()) {
      GrpcBackends peerBackends = backends();
      peerBackends.behave(1, GrpcBackends.Behavior.UNAVAILABLE);
      ManagedChannel peer = peer(balancer(peerBackends), policy);
      record("UNAVAILABLE", policy, Concurrently.run(1, 300, get(peer)), peerBackends.counts());
    }
  }

  @Test
  void oneServer100msSlow_getsAtMostATenthOfTheRpcs() throws Exception {
    GrpcBackends backends = backends();
    backends.behave(0, GrpcBackends.Behavior.SLOW);
    LoadBalancer lb = balancer(backends);
    Concurrently.Outcome outcome = Concurrently.run(8, 480, get(loadstar(lb)));
    record("100 ms slow", "loadstar", outcome, backends.counts());
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(backends.counts()[0])
        .as("RPCs per backend: %s", Arrays.toString(backends.counts()))
        .isLessThanOrEqualTo(backends.total() / 10);

    for (String policy : peers()) {
      GrpcBackends peerBackends = backends();
      peerBackends.behave(0, GrpcBackends.Behavior.SLOW);
      ManagedChannel peer = peer(balancer(peerBackends), policy);
      record("100 ms slow", policy, Concurrently.run(8, 480, get(peer)), peerBackends.counts());
    }
  }

  /** One {@code Get} per call with a 2 s deadline: twice the attempt timeout's first value. */
  private static Concurrently.Call getWithin2s(ManagedChannel channel) {
    return i ->
        ClientCalls.blockingUnaryCall(
            channel,
            GrpcBackends.GET,
            CallOptions.DEFAULT.withDeadlineAfter(2, TimeUnit.SECONDS),
            "x");
  }

  @Test
  void oneServerHung_noRpcFails_besideGrpcsOwnRetriesAndHedging() throws Exception {
    GrpcBackends backends = oneHung();
    LoadBalancer lb = balancer(backends);
    Concurrently.Outcome outcome = Concurrently.run(4, 120, getWithin2s(loadstar(lb)));
    record("hung", "loadstar", outcome, backends.counts());
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    EndpointSnapshot hung = snapshotOf(lb, backends, 2);
    assertThat(hung.failures()).as("its attempts were cut: %s", hung).isPositive();
    assertThat(Await.until(() -> snapshotOf(lb, backends, 2).inFlight() == 0)).isTrue();

    GrpcBackends hedgedBackends = oneHung();
    LoadBalancer hedgedLb =
        balancer(
            hedgedBackends,
            RetryPolicy.builder().hedging(Hedging.after(Duration.ofMillis(50))).build());
    Concurrently.Outcome hedged = Concurrently.run(4, 120, getWithin2s(loadstar(hedgedLb)));
    record("hung", "loadstar, hedging 50 ms", hedged, hedgedBackends.counts());
    assertThat(hedged.failed()).as("%s", hedged).isZero();

    // gRPC's own: its retries do not cut an attempt (a third of the RPCs wait out their deadline:
    // 30 RPCs, so that the run ends in seconds); its hedging does.
    for (String policy : peers()) {
      GrpcBackends peerBackends = oneHung();
      ManagedChannel retrying = peer(balancer(peerBackends), policy);
      record(
          "hung",
          policy + ", retries",
          Concurrently.run(4, 30, getWithin2s(retrying)),
          peerBackends.counts());
      GrpcBackends hedgeBackends = oneHung();
      ManagedChannel hedging = peer(balancer(hedgeBackends), policy, PEER_HEDGING);
      record(
          "hung",
          policy + ", hedging 50 ms",
          Concurrently.run(4, 120, getWithin2s(hedging)),
          hedgeBackends.counts());
    }
  }
}
