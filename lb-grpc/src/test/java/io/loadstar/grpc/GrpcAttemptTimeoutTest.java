package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The balancer's attempt timeout on gRPC, against real servers: a server that takes RPCs and never
 * answers costs an idempotent unary RPC the attempt timeout, not its deadline; an RPC that could
 * not be repeated, and a stream, keep their own deadline.
 */
class GrpcAttemptTimeoutTest extends GrpcTestBase {

  @Test
  void withTheDefaults_aHungServer_costsNoIdempotentRpcItsDeadline() throws Exception {
    GrpcBackends backends = backends(3);
    backends.behave(0, GrpcBackends.Behavior.HUNG);
    LoadBalancer lb =
        closeLater(LoadBalancers.builder("echo").endpoints(backends.endpoints()).build());
    ManagedChannel channel = channel(lb);

    // Each RPC has 10 s: one that waited on the hung server for its deadline would fail.
    Concurrently.Outcome outcome = Concurrently.run(3, 150, get(channel));
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    int[] counts = backends.counts();
    assertThat(counts[0]).as("RPCs per backend: %s", Arrays.toString(counts)).isPositive();
    EndpointSnapshot hung = snapshotOf(lb, backends, 0);
    assertThat(hung.failures()).as("each timed-out attempt is its failure: %s", hung).isPositive();
    assertThat(Await.until(() -> snapshotOf(lb, backends, 0).inFlight() == 0)).isTrue();
  }

  @Test
  void anRpcThatCannotBeRepeated_orAStream_keepsItsOwnDeadline() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.HUNG);
    backends.behave(1, GrpcBackends.Behavior.HUNG);
    RetryPolicy fixed =
        RetryPolicy.builder().attemptTimeout(AttemptTimeout.fixed(Duration.ofMillis(50))).build();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(backends.endpoints())
                .retryPolicy(fixed)
                .build());
    ManagedChannel channel = channel(lb);

    // Put is not idempotent: its one attempt waits for the RPC's deadline (300 ms), not 50 ms.
    assertFails(
        channel,
        GrpcBackends.PUT,
        CallOptions.DEFAULT.withDeadlineAfter(300, TimeUnit.MILLISECONDS),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(backends.total()).as("one attempt").isEqualTo(1);

    // Get is idempotent: cut at 50 ms, retried on the other, which hangs too; the last allowed
    // attempt keeps the RPC's deadline.
    backends.resetCounts();
    assertFails(
        channel,
        GrpcBackends.GET,
        CallOptions.DEFAULT.withDeadlineAfter(2, TimeUnit.SECONDS),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(backends.total()).as("both servers tried").isEqualTo(2);
  }

  /**
   * The RPC's deadline is its time budget. Backend 0 answers in 100 ms but has 1,000 times the
   * weight, so peak EWMA prefers it (latency x load / weight); an RPC with 60 ms left goes to
   * backend 1, which is predicted to make it, and one with 10 s goes to backend 0 as before.
   */
  @Test
  void anRpcsDeadline_isItsTimeBudget_peakEwmaSkipsAServerPredictedToMissIt() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.SLOW);
    List<Endpoint> endpoints =
        List.of(backends.endpoint(0).withWeight(1_000), backends.endpoint(1));
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(endpoints)
                .strategy(Strategies.peakEwma())
                .build());
    ManagedChannel channel = channel(lb);
    for (int i = 0; i < 20; i++) {
      call(channel, GrpcBackends.GET); // 10 s each: peak EWMA learns both latencies
    }
    assertThat(backends.counts()[0]).as("backend 0 preferred").isGreaterThan(10);

    backends.resetCounts();
    int failed = 0;
    for (int i = 0; i < 20; i++) {
      try {
        ClientCalls.blockingUnaryCall(
            channel,
            GrpcBackends.GET,
            CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.MILLISECONDS),
            "x");
      } catch (StatusRuntimeException e) {
        failed++; // a loopback RPC late on a busy machine; where it went is what is asserted
      }
    }
    int[] counts = backends.counts();
    assertThat(counts[0])
        .as("RPCs per backend: %s, %d failed", Arrays.toString(counts), failed)
        .isZero();
    assertThat(counts[1])
        .as("an RPC late before it was sent never arrives")
        .isBetween(20 - failed, 20);

    backends.resetCounts();
    call(channel, GrpcBackends.GET);
    assertThat(backends.counts()[0]).as("with 10 s, backend 0 again").isEqualTo(1);
  }
}
