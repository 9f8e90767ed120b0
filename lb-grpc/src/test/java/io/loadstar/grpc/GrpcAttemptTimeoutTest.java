package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import java.time.Duration;
import java.util.Arrays;
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
}
