package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.ProbeResult;
import io.loadstar.api.Prober;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Prequal's probing on a real balancer, with a prober that answers what each endpoint's load is set
 * to, at once, on the calling thread (probes are started on a direct executor), on a fake clock
 * from 0, days and negative origins.
 */
class ProbingStrategyTest {

  private static final long MS = 1_000_000L;
  private static final long DAY = 86_400_000 * MS;

  private final List<LoadBalancer> balancers = new ArrayList<>();

  @AfterEach
  void close() {
    balancers.forEach(LoadBalancer::close);
  }

  /** A prober answering each endpoint's set load; endpoints without one fail their probes. */
  static final class SetLoads implements Prober {
    final Map<Endpoint, ProbeResult> loads = new ConcurrentHashMap<>();
    final Map<Endpoint, AtomicInteger> probes = new ConcurrentHashMap<>();

    @Override
    public CompletionStage<ProbeResult> probe(Endpoint endpoint) {
      probes.computeIfAbsent(endpoint, e -> new AtomicInteger()).incrementAndGet();
      ProbeResult r = loads.get(endpoint);
      return r != null
          ? CompletableFuture.completedFuture(r)
          : CompletableFuture.failedFuture(new IOException("404 from " + endpoint));
    }

    int total() {
      return probes.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    /** A prober whose endpoint i of {@code endpoints} answers {@code answers[i]}. */
    static SetLoads answering(List<Endpoint> endpoints, ProbeResult... answers) {
      SetLoads p = new SetLoads();
      for (int i = 0; i < answers.length; i++) {
        p.loads.put(endpoints.get(i), answers[i]);
      }
      return p;
    }
  }

  private static List<Endpoint> endpoints(int n) {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      list.add(Endpoint.of("10.0.0." + i, 80));
    }
    return list;
  }

  private LoadBalancer balancer(
      List<Endpoint> endpoints, ProbingConfig config, FakeTicker ticker, boolean outliers) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .strategy(Strategies.probing(config))
            .ticker(ticker)
            .seed(5)
            .outlierDetection(
                outliers ? OutlierDetectionConfig.defaults() : OutlierDetectionConfig.disabled())
            .build();
    balancers.add(lb);
    return lb;
  }

  private static ProbingConfig.Builder config(Prober prober) {
    return ProbingConfig.builder(prober).executor(Runnable::run);
  }

  /**
   * {@code n} picks, one a millisecond of the balancer's clock, each released at once; how many
   * went to each endpoint.
   */
  private static Map<Endpoint, Integer> picks(
      LoadBalancer lb, FakeTicker ticker, int n, PickContext context) {
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      ticker.advance(Duration.ofMillis(1));
      PickResult r = lb.pick(context);
      counts.merge(r.endpoint(), 1, Integer::sum);
      r.handle().onSuccess(MS);
    }
    return counts;
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 4 * DAY, -4 * DAY})
  void picksTheColdEndpointExpectedFastest_andNeverTheHotOne(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    List<Endpoint> e = endpoints(5);
    SetLoads prober =
        SetLoads.answering(
            e,
            new ProbeResult(40, MS), // fastest, but far busier: hot
            new ProbeResult(2, 5 * MS), // cold, fastest of the cold
            new ProbeResult(2, 20 * MS),
            new ProbeResult(3, 30 * MS),
            new ProbeResult(1, 50 * MS));
    LoadBalancer lb = balancer(e, config(prober).build(), ticker, false);

    picks(
        lb,
        ticker,
        10,
        PickContext.empty()); // the first picks find no answer yet, and ask for them
    Map<Endpoint, Integer> counts = picks(lb, ticker, 300, PickContext.empty());
    // Never by the probes; least request, while the pool refills, may send it one or two.
    assertThat(counts.getOrDefault(e.get(0), 0)).as("hot: %s", counts).isLessThanOrEqualTo(3);
    // The cold endpoint expected fastest gets the most; while its answer is used up and the
    // next probe is on its way, the next fastest cold one.
    assertThat(counts.get(e.get(1)))
        .as("%s", counts)
        .isEqualTo(counts.values().stream().mapToInt(Integer::intValue).max().getAsInt())
        .isGreaterThan(100);
    // Each answer serves at most 2 picks, and its endpoint is probed again at its last use: at
    // most a probe a pick (and the first pool's), rate-limited besides.
    assertThat(prober.total()).isBetween(100, 310 + 16);
  }

  /**
   * A hedge is picked as least request's full scan picks one, by the balancer's own in-flight
   * counts over every endpoint not tried, not from the probe pool: the call is already late, the
   * counts are exact now where an answer may be maxAge old, and a hedge uses up no answer. Here the
   * pool calls endpoint 3 hot (its server reports 20 requests from other clients) and endpoints 1
   * and 2 cold, but this balancer has two calls out on each of those and none on 3. (On tower's
   * mix, TailLab, probing with hedging went from p99.9 200.7 to 110.7 ms.)
   */
  @ParameterizedTest
  @ValueSource(longs = {0, 4 * DAY, -4 * DAY})
  void aHedge_goesByTheBalancersOwnCounts_overEveryEndpointNotTried(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    List<Endpoint> e = endpoints(4);
    SetLoads prober =
        SetLoads.answering(
            e,
            new ProbeResult(1, MS),
            new ProbeResult(1, MS),
            new ProbeResult(1, MS),
            new ProbeResult(20, MS)); // others' requests: hot by the pool
    LoadBalancer lb = balancer(e, config(prober).build(), ticker, false);
    picks(lb, ticker, 10, PickContext.empty()); // the pool fills
    List<PickResult> held = new ArrayList<>();
    for (int i = 1; i <= 2; i++) {
      PickContext only =
          PickContext.builder().tried(e.get(0)).tried(e.get(3 - i)).tried(e.get(3)).build();
      held.add(lb.pick(only));
      held.add(lb.pick(only));
    }
    assertThat(held).extracting(PickResult::endpoint).containsOnly(e.get(1), e.get(2));
    PickContext late = PickContext.builder().tried(e.get(0)).build();

    PickResult first = lb.pick(late);
    assertThat(first.endpoint()).as("a retry: by the pool, 3 is hot").isNotEqualTo(e.get(3));
    first.handle().onCancel();
    PickResult hedge = lb.pick(late.toBuilder().attribute(BasePicker.HEDGE, Boolean.TRUE).build());
    assertThat(hedge.endpoint()).as("a hedge: by the balancer's own counts").isEqualTo(e.get(3));
    hedge.handle().onCancel();
    held.forEach(r -> r.handle().onCancel());
  }

  /**
   * A lone caller's calls, one at a time, with probes that reach the endpoints while a call is out
   * (as the probe of the endpoint a call has just used up the answer of does): each endpoint
   * answers its requests in flight, this balancer's own among them. {@code others[i]}: endpoint i's
   * requests from other clients. Returns the picks per endpoint after the first 20.
   */
  private static Map<Endpoint, Integer> loneCaller(
      LoadBalancer lb,
      PendingProbes probes,
      FakeTicker ticker,
      List<Endpoint> e,
      int[] others,
      int calls) {
    long[] latency = {MS, 5 * MS, 10 * MS};
    Map<Endpoint, Integer> open = new HashMap<>();
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int n = 0; n < calls; n++) {
      ticker.advance(Duration.ofMillis(10)); // a call every 10 ms: answers age out in 10 calls
      PickResult r = lb.pick(PickContext.empty());
      Endpoint picked = r.endpoint();
      open.merge(picked, 1, Integer::sum);
      Function<Endpoint, ProbeResult> load =
          endpoint -> {
            int i = e.indexOf(endpoint);
            return new ProbeResult(open.getOrDefault(endpoint, 0) + others[i], latency[i]);
          };
      if (n >= 20) {
        probes.answerAll(load); // while the call is out
        counts.merge(picked, 1, Integer::sum);
      }
      r.handle().onSuccess(latency[e.indexOf(picked)]);
      open.merge(picked, -1, Integer::sum);
      if (n < 20) {
        probes.answerAll(load); // the first answers come with nothing out: all alike
      }
    }
    return counts;
  }

  /** Probes answered when the test says, with the load the endpoint has then. */
  static final class PendingProbes implements Prober {
    private final List<Map.Entry<Endpoint, CompletableFuture<ProbeResult>>> pending =
        new ArrayList<>();

    @Override
    public CompletionStage<ProbeResult> probe(Endpoint endpoint) {
      CompletableFuture<ProbeResult> answer = new CompletableFuture<>();
      synchronized (pending) {
        pending.add(Map.entry(endpoint, answer));
      }
      return answer;
    }

    void answerAll(Function<Endpoint, ProbeResult> load) {
      List<Map.Entry<Endpoint, CompletableFuture<ProbeResult>>> due;
      synchronized (pending) {
        due = new ArrayList<>(pending);
        pending.clear();
      }
      due.forEach(p -> p.getValue().complete(load.apply(p.getKey())));
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 4 * DAY, -4 * DAY})
  void anAnswer_countsTheBalancersOwnCallsAsTheyAreAtThePick(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    List<Endpoint> e = endpoints(3);
    PendingProbes probes = new PendingProbes();
    LoadBalancer lb = balancer(e, config(probes).build(), ticker, false);

    // Alone, the caller's own call is the only load an endpoint answers; it has ended by the
    // next pick, so the fastest endpoint stays cold and gets the calls, but for a least-request
    // pick when the others' answers have aged out (one in 10 or so). Had the answer's count been
    // taken as it came, the fastest would turn hot whenever the others' were probed anew (82).
    Map<Endpoint, Integer> alone = loneCaller(lb, probes, ticker, e, new int[3], 120);
    assertThat(alone.getOrDefault(e.get(0), 0)).as("%s", alone).isGreaterThanOrEqualTo(90);

    // The others' calls still count: the fastest endpoint busy with 3 of theirs is hot.
    Map<Endpoint, Integer> busy = loneCaller(lb, probes, ticker, e, new int[] {3, 0, 0}, 120);
    assertThat(busy.getOrDefault(e.get(0), 0)).as("%s", busy).isLessThanOrEqualTo(5);
    assertThat(busy.getOrDefault(e.get(1), 0)).as("%s", busy).isGreaterThanOrEqualTo(90);
  }

  @Test
  void withoutAnswers_itPicksByLeastRequest_andProbesOnlyATrickle() {
    FakeTicker ticker = new FakeTicker(0);
    List<Endpoint> e = endpoints(3);
    SetLoads prober = new SetLoads(); // no responder anywhere: every probe fails
    LoadBalancer lb = balancer(e, config(prober).build(), ticker, false);
    PickResult busy = lb.pick(PickContext.empty());
    Map<Endpoint, Integer> counts = picks(lb, ticker, 300, PickContext.empty());
    assertThat(counts)
        .as("least request: the busy one is avoided")
        .doesNotContainKey(busy.endpoint());
    assertThat(prober.total()).as("the first refill only").isBetween(1, 16);
    for (int s = 0; s < 10; s++) {
      ticker.advance(Duration.ofSeconds(1));
      picks(lb, ticker, 100, PickContext.empty());
    }
    assertThat(prober.total()).as("2 a second while failing").isBetween(10, 40);
    busy.handle().onCancel();
  }

  @Test
  void oneEndpointWithoutResponder_doesNotSlowTheOthersProbes() {
    FakeTicker ticker = new FakeTicker(0);
    List<Endpoint> e = endpoints(4);
    SetLoads prober =
        SetLoads.answering(
            e,
            new ProbeResult(0, MS), // the fastest
            new ProbeResult(0, 20 * MS),
            new ProbeResult(0, 30 * MS)); // e3 answers no probe
    LoadBalancer lb = balancer(e, config(prober).build(), ticker, false);
    picks(lb, ticker, 20, PickContext.empty());
    Map<Endpoint, Integer> counts = picks(lb, ticker, 500, PickContext.empty());
    assertThat(counts.get(e.get(0))).as("%s", counts).isGreaterThan(350);
    assertThat(prober.total()).as("far above the 2 a second of a failing pool").isGreaterThan(100);
  }

  @Test
  void staleAnswersAreIgnored_andTriedEndpointsSkipped() {
    FakeTicker ticker = new FakeTicker(-DAY);
    List<Endpoint> e = endpoints(3);
    SetLoads prober = new SetLoads();
    e.forEach(x -> prober.loads.put(x, new ProbeResult(0, MS)));
    prober.loads.put(e.get(0), new ProbeResult(0, 100_000)); // the fastest
    LoadBalancer lb = balancer(e, config(prober).reuseBudget(100).build(), ticker, false);
    picks(lb, ticker, 20, PickContext.empty());
    assertThat(picks(lb, ticker, 20, PickContext.empty())).containsOnlyKeys(e.get(0));
    assertThat(picks(lb, ticker, 20, PickContext.empty().withTried(e.get(0))))
        .doesNotContainKey(e.get(0));

    // Answers older than a second are not used; the pool is refilled from new probes.
    int before = prober.total();
    prober.loads.put(e.get(0), new ProbeResult(0, 90 * MS));
    prober.loads.put(e.get(2), new ProbeResult(0, 100_000));
    ticker.advance(Duration.ofMillis(1_001));
    picks(lb, ticker, 5, PickContext.empty());
    assertThat(prober.total()).isGreaterThan(before);
    assertThat(picks(lb, ticker, 20, PickContext.empty())).containsOnlyKeys(e.get(2));
  }

  @Test
  void aTimeBudget_prefersAnAnswerExpectedWithinIt() {
    FakeTicker ticker = new FakeTicker(0);
    List<Endpoint> e = endpoints(2);
    SetLoads prober = new SetLoads();
    prober.loads.put(e.get(0), new ProbeResult(0, 10 * MS));
    prober.loads.put(e.get(1), new ProbeResult(0, 50 * MS));
    LoadBalancer lb = balancer(e, config(prober).reuseBudget(100).build(), ticker, false);
    picks(lb, ticker, 20, PickContext.empty());
    assertThat(picks(lb, ticker, 20, PickContext.empty().withTimeBudget(30 * MS)))
        .containsOnlyKeys(e.get(0));
  }

  @Test
  void anEjectedEndpoint_getsNoPickWhateverItsProbeSays() {
    FakeTicker ticker = new FakeTicker(3 * DAY);
    List<Endpoint> e = endpoints(3);
    SetLoads prober = new SetLoads();
    e.forEach(x -> prober.loads.put(x, new ProbeResult(0, 10 * MS)));
    prober.loads.put(e.get(0), new ProbeResult(0, MS)); // fastest, and failing every call
    LoadBalancer lb = balancer(e, config(prober).reuseBudget(100).build(), ticker, true);
    picks(lb, ticker, 20, PickContext.empty());
    for (int i = 0; i < 5; i++) {
      ticker.advance(Duration.ofMillis(1));
      PickResult r = lb.pick(PickContext.empty());
      assertThat(r.endpoint()).isEqualTo(e.get(0));
      r.handle().onFailure(CallFailure.notSent(new ConnectException()), MS);
    }
    // The fifth failure hands the ejection to the control loop, which runs it on the timer thread.
    assertThat(
            Await.until(
                () -> lb.inspect().snapshot().get(0).state() == EndpointSnapshot.State.EJECTED))
        .as("%s", lb.inspect().snapshot())
        .isTrue();
    assertThat(picks(lb, ticker, 50, PickContext.empty())).doesNotContainKey(e.get(0));
  }

  @Test
  void badSettings_sayWhatIsAllowed() {
    Prober p = new SetLoads();
    assertThatThrownBy(() -> ProbingConfig.builder(p).poolSize(1))
        .hasMessage("poolSize: 1 (expected: 2..64)");
    assertThatThrownBy(() -> ProbingConfig.builder(p).rifQuantile(0.2))
        .hasMessage("rifQuantile: 0.2 (expected: 0.5..1.0)");
    assertThatThrownBy(() -> ProbingConfig.builder(p).poolSize(4).minFreshProbes(5))
        .hasMessage("minFreshProbes: 5 (expected: 1..4, the pool size)");
    assertThatThrownBy(() -> ProbingConfig.builder(p).reuseBudget(0))
        .hasMessage("reuseBudget: 0 (expected: 1..100)");
    assertThatThrownBy(() -> ProbingConfig.builder(p).maxProbesPerSecond(0))
        .hasMessage("maxProbesPerSecond: 0 (expected: 1..100000)");
    assertThatThrownBy(() -> new ProbeResult(-1, 0))
        .hasMessage("requestsInFlight: -1 (expected: at least 0)");
    assertThat(Strategies.probing(p).toString())
        .startsWith("probing(pool=16, maxAge=PT0.07S, reuse=2");
  }
}
