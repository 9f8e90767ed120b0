package io.loadstar.core;

import io.loadstar.api.*;
import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import java.util.*;
import org.junit.jupiter.api.Test;

class ProbeDebugTest {
  @Test
  void debug() {
    FakeTicker ticker = new FakeTicker(0);
    List<Endpoint> e = List.of(Endpoint.of("10.0.0.1", 80), Endpoint.of("10.0.0.2", 80));
    ProbingStrategyTest.SetLoads prober = new ProbingStrategyTest.SetLoads();
    prober.loads.put(e.get(0), new ProbeResult(0, 1_000_000));
    prober.loads.put(e.get(1), new ProbeResult(0, 9_000_000));
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(e)
            .strategy(
                Strategies.probing(ProbingConfig.builder(prober).executor(Runnable::run).build()))
            .ticker(ticker)
            .build();
    for (int i = 0; i < 10; i++) {
      ticker.advance(Duration.ofMillis(1));
      PickResult r = lb.pick(PickContext.empty());
      System.out.println("pick " + r.endpoint() + " probes=" + prober.total());
      r.handle().onSuccess(1);
    }
    Picker p = ((DefaultLoadBalancer) lb).currentPicker();
    System.out.println(p);
  }
}
