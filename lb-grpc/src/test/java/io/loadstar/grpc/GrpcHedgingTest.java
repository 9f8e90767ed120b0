package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Hedged RPCs on a Loadstar channel, against real grpc-netty servers: a unary RPC marked retryable
 * that waits on a hung server gets a hedge on another after the hedging delay; the first answer
 * wins and the other attempt is cancelled, blaming no endpoint; an RPC that cannot be repeated is
 * never hedged; the caller's cancel stops both attempts. The attempt timeout is off where it would
 * rescue the RPC first.
 */
class GrpcHedgingTest extends GrpcTestBase {

  private static final RetryPolicy HEDGED_ONLY =
      RetryPolicy.builder()
          .hedging(Hedging.after(Duration.ofMillis(50)))
          .attemptTimeout(AttemptTimeout.none())
          .build();

  private LoadBalancer hashed(GrpcBackends backends) {
    return closeLater(
        LoadBalancers.builder("echo")
            .endpoints(backends.endpoints())
            .strategy(Strategies.ringHash())
            .retryPolicy(HEDGED_ONLY)
            .build());
  }

  /** Call options whose hash key sends the first attempt to {@code target}. */
  private static CallOptions firstOn(LoadBalancer lb, Endpoint target) {
    for (int k = 0; ; k++) {
      PickResult r = lb.pick(PickContext.ofHashKey("k" + k));
      r.handle().onCancel();
      if (r.endpoint().equals(target)) {
        return CallOptions.DEFAULT.withOption(LoadstarGrpc.HASH_KEY, "k" + k);
      }
    }
  }

  private static boolean idle(LoadBalancer lb, GrpcBackends backends) {
    for (int i = 0; i < backends.endpoints().size(); i++) {
      if (snapshotOf(lb, backends, i).inFlight() != 0) {
        return false;
      }
    }
    return true;
  }

  @Test
  void anRpcWaitingOnAHungServer_isHedged_andTheHedgesAnswerWins() throws Exception {
    GrpcBackends backends = backends(3);
    backends.behave(0, GrpcBackends.Behavior.HUNG);
    LoadBalancer lb = hashed(backends);
    ManagedChannel channel = channel(lb);

    String answer = call(channel, GrpcBackends.GET, firstOn(lb, backends.endpoint(0)));

    assertThat(answer).isIn("backend-1", "backend-2");
    assertThat(backends.counts()[0]).as("the first attempt reached the hung server").isEqualTo(1);
    assertThat(backends.total()).as("the first attempt and its hedge").isEqualTo(2);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(Await.until(() -> idle(lb, backends)))
        .as("the loser was cancelled: %s", lb.inspect().snapshot())
        .isTrue();
    assertThat(snapshotOf(lb, backends, 0).failures())
        .as("an attempt its hedge beat blames nobody")
        .isZero();
  }

  @Test
  void whenTheFirstAttemptAnswersFirst_theHedgeIsCancelled() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.SLOW); // answers at 100 ms, after the hedge went
    backends.behave(1, GrpcBackends.Behavior.HUNG);
    LoadBalancer lb = hashed(backends);
    ManagedChannel channel = channel(lb);

    String answer = call(channel, GrpcBackends.GET, firstOn(lb, backends.endpoint(0)));

    assertThat(answer).isEqualTo("backend-0");
    assertThat(Await.until(() -> backends.total() == 2 && idle(lb, backends))).isTrue();
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(snapshotOf(lb, backends, 1).failures()).as("the overtaken hedge").isZero();
  }

  @Test
  void concurrentRpcs_withASlowServer_allAnswerOnce_andLeaveNoAttemptOut() throws Exception {
    GrpcBackends backends = backends(3);
    backends.behave(0, GrpcBackends.Behavior.SLOW); // 100 ms: hedged at 20 ms, within the budget
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .endpoints(backends.endpoints())
                .retryPolicy(
                    RetryPolicy.builder()
                        .hedging(Hedging.after(Duration.ofMillis(20)))
                        .attemptTimeout(AttemptTimeout.none())
                        .build())
                .build());
    ManagedChannel channel = channel(lb);

    // Blocking stubs from 4 threads: each RPC gets exactly one answer (a second would fail the
    // stub), whichever of its attempts wins.
    Concurrently.Outcome outcome = Concurrently.run(4, 200, get(channel));
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(lb.inspect().retryStats().hedges()).as("some were hedged").isPositive();
    assertThat(Await.until(() -> idle(lb, backends)))
        .as("every attempt reported: %s", lb.inspect().snapshot())
        .isTrue();
    for (int i = 0; i < 3; i++) {
      assertThat(snapshotOf(lb, backends, i).failures()).as("backend %s", i).isZero();
    }
  }

  @Test
  void anRpcThatCannotBeRepeated_isNeverHedged() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.HUNG);
    LoadBalancer lb = hashed(backends);
    ManagedChannel channel = channel(lb);

    // Put is not idempotent: its one attempt waits for the RPC's deadline.
    assertFails(
        channel,
        GrpcBackends.PUT,
        firstOn(lb, backends.endpoint(0)).withDeadlineAfter(300, TimeUnit.MILLISECONDS),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(backends.total()).as("one attempt").isEqualTo(1);
    assertThat(lb.inspect().retryStats().hedges()).isZero();
  }

  @Test
  void theCallersCancel_stopsBothAttempts_andBlamesNoEndpoint() throws Exception {
    GrpcBackends backends = backends(2);
    backends.behave(0, GrpcBackends.Behavior.HUNG);
    backends.behave(1, GrpcBackends.Behavior.HUNG);
    LoadBalancer lb = hashed(backends);
    ManagedChannel channel = channel(lb);

    ClientCall<String, String> rpc =
        channel.newCall(
            GrpcBackends.GET,
            firstOn(lb, backends.endpoint(0)).withDeadlineAfter(30, TimeUnit.SECONDS));
    CompletableFuture<String> running = new CompletableFuture<>();
    ClientCalls.asyncUnaryCall(
        rpc,
        "x",
        new StreamObserver<>() {
          @Override
          public void onNext(String value) {
            running.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            running.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    assertThat(Await.until(() -> backends.total() == 2))
        .as("the first attempt and its hedge reached the servers")
        .isTrue();
    rpc.cancel("the caller gave up", null);

    assertThatThrownBy(() -> running.get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("CANCELLED");
    assertThat(Await.until(() -> idle(lb, backends))).isTrue();
    assertThat(snapshotOf(lb, backends, 0).failures()).isZero();
    assertThat(snapshotOf(lb, backends, 1).failures()).isZero();
  }

  @Test
  void withBothAttemptsFailing_theHedgesDecisionCarriesTheRpcOn() throws Exception {
    GrpcBackends backends = backends(3);
    backends.behave(0, GrpcBackends.Behavior.HUNG);
    backends.behave(1, GrpcBackends.Behavior.UNAVAILABLE);
    backends.behave(2, GrpcBackends.Behavior.UNAVAILABLE);
    LoadBalancer lb = hashed(backends);
    ManagedChannel channel = channel(lb);

    // The hedge fails at once while the first waits, and would allow a retry; the RPC's deadline
    // then ends the first: the RPC fails with its deadline, no third attempt sent past it.
    assertFails(
        channel,
        GrpcBackends.GET,
        firstOn(lb, backends.endpoint(0)).withDeadlineAfter(500, TimeUnit.MILLISECONDS),
        Status.Code.DEADLINE_EXCEEDED);
    assertThat(backends.counts()[0]).isEqualTo(1);
    assertThat(backends.total()).as("the first attempt and its hedge only").isEqualTo(2);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(Await.until(() -> idle(lb, backends))).isTrue();
  }
}
