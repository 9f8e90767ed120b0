package io.loadstar.core;

import static io.loadstar.core.TestEndpoints.endpoints;
import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionStrategy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 8 threads x 100,000 picks per strategy while another thread replaces the endpoint set
 * continuously (membership and weights), with an in-flight limit so the limit paths run too.
 */
class StressTest {

  private static final int THREADS = 8;
  private static final int PICKS = 100_000;
  private static final int MIN_UPDATES = 50;

  static Stream<Arguments> strategies() {
    return Stream.of(
        Arguments.of("roundRobin", Strategies.roundRobin()),
        Arguments.of("random", Strategies.random()),
        Arguments.of("leastRequest", Strategies.leastRequest()),
        Arguments.of("peakEwma", Strategies.peakEwma()),
        Arguments.of(
            "ringHash",
            Strategies.ringHash(RingHashConfig.builder().boundedLoadFactor(1.25).build())),
        Arguments.of(
            "maglev", Strategies.maglev(MaglevConfig.builder().boundedLoadFactor(1.25).build())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("strategies")
  void concurrentPicksDuringUpdates_noErrors_inFlightBackToZero_allStablePicked(
      String name, SelectionStrategy strategy) throws Exception {
    List<Endpoint> stable = endpoints(3);
    List<Endpoint> pool = endpoints(12).subList(3, 12);
    DynamicEndpointSource source = DynamicEndpointSource.of(stable);
    Set<EndpointState> seen =
        Collections.newSetFromMap(Collections.synchronizedMap(new IdentityHashMap<>()));
    Set<String> picked = ConcurrentHashMap.newKeySet();
    AtomicInteger unavailable = new AtomicInteger();
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger updates = new AtomicInteger();
    ExecutorService executor = Executors.newFixedThreadPool(THREADS + 1);
    try (LoadBalancer lb =
        LoadBalancers.builder("stress")
            // Outlier detection is not the subject (and would eject the endpoints the test
            // fails); this test predates it being on by default.
            .outlierDetection(OutlierDetectionConfig.disabled())
            .strategy(strategy)
            .source(source)
            .maxInFlightPerEndpoint(64)
            .seed(1)
            .build()) {
      CountDownLatch startLine = new CountDownLatch(1);
      Future<?> mutator =
          executor.submit(
              () -> {
                SplittableRandom random = new SplittableRandom(11);
                startLine.await();
                while (!done.get()) {
                  List<Endpoint> next = new ArrayList<>();
                  for (Endpoint e : stable) {
                    next.add(e.withWeight(1 + random.nextInt(3)));
                  }
                  for (Endpoint e : pool) {
                    if (random.nextBoolean()) {
                      next.add(e);
                    }
                  }
                  source.set(next);
                  updates.incrementAndGet();
                }
                return null;
              });
      List<Future<?>> pickers = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        pickers.add(
            executor.submit(
                () -> {
                  SplittableRandom random = new SplittableRandom(thread);
                  List<PickResult> held = new ArrayList<>();
                  startLine.await();
                  // Picks go on until the mutator has published MIN_UPDATES lists too, however
                  // the threads are scheduled: the overlap is counted, not hoped for.
                  for (int i = 0; i < PICKS || updates.get() < MIN_UPDATES; i++) {
                    PickResult r = lb.pick(PickContext.ofHashKey(random.nextLong()));
                    if (!r.isAvailable()) {
                      unavailable.incrementAndGet();
                      continue;
                    }
                    seen.add((EndpointState) r.handle());
                    picked.add(r.endpoint().key());
                    held.add(r); // hold a few calls open so in-flight counts are non-trivial
                    if (held.size() > 4 || random.nextInt(3) == 0) {
                      PickResult done1 = held.remove(0);
                      switch (random.nextInt(3)) {
                        case 0:
                          done1.handle().onSuccess(random.nextInt(1_000_000));
                          break;
                        case 1:
                          done1.handle().onFailure(io.loadstar.api.CallFailure.status(503), 1_000);
                          break;
                        default:
                          done1.handle().onCancel();
                      }
                    }
                  }
                  held.forEach(r -> r.handle().onSuccess(1));
                  return null;
                }));
      }
      startLine.countDown();
      for (Future<?> f : pickers) {
        f.get(120, TimeUnit.SECONDS);
      }
      done.set(true);
      mutator.get(30, TimeUnit.SECONDS);
    } finally {
      executor.shutdownNow();
    }
    assertThat(updates.get()).isGreaterThanOrEqualTo(MIN_UPDATES);
    assertThat(unavailable.get()).isZero(); // 8 x 5 held calls never fill 3 x 64 slots
    assertThat(picked).containsAll(stable.stream().map(Endpoint::key).toList());
    for (EndpointState state : seen) {
      assertThat(state.inFlight()).as("in-flight of %s", state.endpoint()).isZero();
    }
  }
}
