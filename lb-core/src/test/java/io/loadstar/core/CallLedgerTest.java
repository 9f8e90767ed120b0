package io.loadstar.core;

import static io.loadstar.core.TestEndpoints.endpoints;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.testing.Concurrently;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The per-thread call counts of strategies that read no in-flight count (round robin here): exact
 * sums over many threads, calls that end on another thread, threads that end, endpoints that leave
 * and the slots their successors reuse, and virtual threads.
 */
class CallLedgerTest extends FakeTimeTest {

  private DefaultLoadBalancer roundRobin(DynamicEndpointSource source) {
    return (DefaultLoadBalancer)
        closeLater(
            LoadBalancers.builder("ledger")
                .source(source)
                .strategy(Strategies.roundRobin())
                .ticker(ticker)
                .scheduler(scheduler)
                .seed(1)
                .build());
  }

  private static long successes(LoadBalancer lb) {
    return lb.inspect().snapshot().stream().mapToLong(EndpointSnapshot::successes).sum();
  }

  private static int inFlight(LoadBalancer lb) {
    return lb.inspect().snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum();
  }

  @Test
  void manyThreads_countEveryCallExactly_andInFlightIsBackToZero() throws Exception {
    DefaultLoadBalancer lb = roundRobin(DynamicEndpointSource.of(endpoints(3)));
    Concurrently.Outcome outcome =
        Concurrently.run(
            8,
            80_000,
            i -> {
              PickResult r = lb.pick(PickContext.empty());
              if (i % 10 == 0) {
                r.handle().onFailure(io.loadstar.api.CallFailure.status(503), 1_000);
              } else {
                r.handle().onSuccess(1_000);
              }
            });

    assertThat(outcome.failed()).isZero();
    assertThat(successes(lb)).isEqualTo(72_000);
    assertThat(lb.inspect().snapshot().stream().mapToLong(EndpointSnapshot::failures).sum())
        .isEqualTo(8_000);
    assertThat(inFlight(lb)).isZero();
  }

  @Test
  void callsStartedOnOneThreadAndEndedOnAnother_countOnce_andShowInFlightMeanwhile()
      throws Exception {
    DefaultLoadBalancer lb = roundRobin(DynamicEndpointSource.of(endpoints(2)));
    List<PickResult> open = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      open.add(lb.pick(PickContext.empty()));
    }
    assertThat(inFlight(lb)).isEqualTo(100);

    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      other
          .submit(
              () -> {
                for (PickResult r : open) {
                  r.handle().onSuccess(1_000);
                }
              })
          .get(10, TimeUnit.SECONDS);
    } finally {
      other.shutdownNow();
    }

    assertThat(inFlight(lb)).isZero();
    assertThat(successes(lb)).isEqualTo(100);
  }

  @Test
  void threadsThatEnded_areFoldedWhenTheNextRegisters_withTheirCountsKept() throws Exception {
    DefaultLoadBalancer lb = roundRobin(DynamicEndpointSource.of(endpoints(3)));
    for (int round = 0; round < 20; round++) {
      Thread t =
          new Thread(
              () -> {
                for (int i = 0; i < 50; i++) {
                  lb.pick(PickContext.empty()).handle().onSuccess(1_000);
                }
              });
      t.start();
      t.join(10_000);
      assertThat(t.isAlive()).isFalse();
    }
    lb.pick(PickContext.empty()).handle().onSuccess(1_000); // this thread registers: folds

    assertThat(lb.ledger().threads()).isEqualTo(1); // this thread; the 20 that ended are folded
    assertThat(successes(lb)).isEqualTo(20 * 50 + 1);
  }

  @Test
  void aRemovedEndpointsSlot_isReusedOnlyWhenIdleAfterTheGrace_andItsSuccessorStartsAtZero() {
    List<Endpoint> three = endpoints(4).subList(0, 3);
    Endpoint fourth = endpoints(4).get(3);
    Endpoint fifth = endpoints(5).get(4);
    DynamicEndpointSource source = DynamicEndpointSource.of(three);
    DefaultLoadBalancer lb = roundRobin(source);
    assertThat(lb.ledger().capacity()).isEqualTo(LatencyDigest.SLOTS + 3);
    PickResult held = null;
    for (int i = 0; i < 30; i++) {
      PickResult r = lb.pick(PickContext.empty());
      if (held == null && r.endpoint().equals(three.get(0))) {
        held = r; // stays in flight
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    assertThat(held).isNotNull();
    long othersBefore =
        snapshotOf(lb, three.get(1)).successes() + snapshotOf(lb, three.get(2)).successes();

    source.set(three.get(1), three.get(2)); // the first leaves with a call in flight
    ticker.advance(Duration.ofSeconds(5));
    source.set(three.get(1), three.get(2), fourth);
    assertThat(lb.ledger().capacity())
        .as("in flight: its slot is not reused")
        .isEqualTo(LatencyDigest.SLOTS + 4);

    held.handle().onSuccess(1_000); // its last call ends
    source.set(three.get(1), three.get(2), fourth, fifth);
    assertThat(lb.ledger().capacity())
        .as("idle and gone for 5 s: reused")
        .isEqualTo(LatencyDigest.SLOTS + 4);
    assertThat(snapshotOf(lb, fifth).successes()).isZero();
    assertThat(snapshotOf(lb, fifth).inFlight()).isZero();
    assertThat(successes(lb)).as("the others' counts are untouched").isEqualTo(othersBefore);

    source.set(three.get(1), three.get(2), fourth); // the fifth leaves, idle
    source.set(three.get(1), three.get(2), fourth, three.get(0));
    assertThat(lb.ledger().capacity())
        .as("idle, but within the grace")
        .isEqualTo(LatencyDigest.SLOTS + 5);
    source.set(three.get(1), three.get(2), fourth);
    ticker.advance(Duration.ofNanos(CallLedger.SLOT_GRACE_NANOS));
    source.set(three.get(1), three.get(2), fourth, fifth);
    assertThat(lb.ledger().capacity())
        .as("after the grace: reused")
        .isEqualTo(LatencyDigest.SLOTS + 5);
    assertThat(inFlight(lb)).isZero();
  }

  private static EndpointSnapshot snapshotOf(LoadBalancer lb, Endpoint e) {
    return lb.inspect().snapshot().stream()
        .filter(s -> s.endpoint().equals(e))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void virtualThreads_countInTheEndpointsAdders_andRegisterNoBlock() throws Exception {
    assumeTrue(
        Runtime.version().feature() >= 21, "virtual threads need Java 21+; this is Java 17-20");
    DefaultLoadBalancer lb = roundRobin(DynamicEndpointSource.of(endpoints(3)));
    ExecutorService virtual =
        (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
    try {
      List<Future<?>> calls = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        calls.add(virtual.submit(() -> lb.pick(PickContext.empty()).handle().onSuccess(1_000)));
      }
      for (Future<?> f : calls) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      virtual.shutdownNow();
    }

    assertThat(lb.ledger().threads()).isZero();
    assertThat(successes(lb)).isEqualTo(10_000);
    assertThat(inFlight(lb)).isZero();
  }
}
