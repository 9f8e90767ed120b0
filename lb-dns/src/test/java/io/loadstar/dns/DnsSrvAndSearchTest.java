package io.loadstar.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.core.TierConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.SRVRecord;

/** SRV, the search path, concurrency and the JVM's DNS cache, against the loopback responder. */
class DnsSrvAndSearchTest extends LoopbackDnsTest {

  private void a(String name, long ttl, String ip) throws Exception {
    dns.set(
        name,
        List.of(new ARecord(Name.fromString(name), DClass.IN, ttl, InetAddress.getByName(ip))));
  }

  private static SRVRecord srv(String name, int priority, int weight, int port, String target)
      throws Exception {
    return new SRVRecord(
        Name.fromString(name), DClass.IN, 30, priority, weight, port, Name.fromString(target));
  }

  @Test
  void srv_priority10Weights602020_plusBackup_sharesFollowWeights_backupOnlyWhenAllEjected()
      throws Exception {
    String name = "_http._tcp.svc.test.";
    dns.set(
        name,
        List.of(
            srv(name, 10, 60, 8080, "a.svc.test."),
            srv(name, 10, 20, 8080, "b.svc.test."),
            srv(name, 10, 20, 8080, "c.svc.test."),
            srv(name, 20, 10, 8080, "d.svc.test."),
            srv(name, 10, 50, 0, "broken.svc.test."))); // port 0: skipped
    a("a.svc.test.", 30, "127.0.0.1");
    a("b.svc.test.", 30, "127.0.0.2");
    a("c.svc.test.", 30, "127.0.0.3");
    a("d.svc.test.", 30, "127.0.0.4");
    a("broken.svc.test.", 30, "127.0.0.5");
    DnsEndpointSource source =
        DnsEndpointSource.srv(name)
            .servers(List.of(dns.address()))
            .cache(cache)
            .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
            .scheduler(scheduler)
            .build();
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .source(source)
            .outlierDetection(
                OutlierDetectionConfig.builder()
                    .consecutiveFailures(1)
                    .maxEjectionPercent(100)
                    .build())
            .tiers(TierConfig.builder().panicThreshold(0).build())
            .seed(2)
            .build();
    closeables.add(lb);
    await(() -> lb.inspect().endpoints().size() == 4);
    assertThat(lb.inspect().endpoints())
        .extracting(Endpoint::priority)
        .containsExactly(0, 0, 0, 1); // sorted by key: 127.0.0.1-4

    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 10_000; i++) {
      PickResult r = lb.pick();
      counts.merge(r.endpoint().host(), 1, Integer::sum);
      r.handle().onSuccess(1);
    }
    assertThat(counts.get("127.0.0.1") / 10_000.0).isBetween(0.58, 0.62);
    assertThat(counts.get("127.0.0.2") / 10_000.0).isBetween(0.18, 0.22);
    assertThat(counts.get("127.0.0.3") / 10_000.0).isBetween(0.18, 0.22);
    assertThat(counts).doesNotContainKey("127.0.0.4");

    // Every priority-10 endpoint fails a call and is ejected: the backup takes all picks.
    for (int i = 0; i < 20; i++) {
      PickResult r = lb.pick();
      if (r.endpoint().priority() != 0) {
        r.handle().onSuccess(1);
        break; // every priority-10 endpoint is out
      }
      r.handle().onFailure(CallFailure.notSent(new java.net.ConnectException()), 1);
    }
    for (int i = 0; i < 100; i++) {
      PickResult r = lb.pick();
      assertThat(r.endpoint().host()).isEqualTo("127.0.0.4");
      r.handle().onSuccess(1);
    }
  }

  @Test
  void relativeName_resolvesThroughSearchPath_trailingDotIsAbsolute() throws Exception {
    a("svc.ns.svc.cluster.local.", 30, "127.0.0.7");
    a("svc.", 30, "127.0.0.8");
    DnsEndpointSource relative =
        DnsEndpointSource.builder("svc", 80)
            .servers(List.of(dns.address()))
            .cache(cache)
            .searchPath(List.of("ns.svc.cluster.local"))
            .ndots(1)
            .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
            .scheduler(scheduler)
            .build();
    DnsEndpointSource absolute =
        DnsEndpointSource.builder("svc.", 80)
            .servers(List.of(dns.address()))
            .cache(cache)
            .searchPath(List.of("ns.svc.cluster.local"))
            .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
            .scheduler(scheduler)
            .build();
    LoadBalancer viaSearch =
        LoadBalancers.builder("a").strategy(Strategies.roundRobin()).source(relative).build();
    LoadBalancer direct =
        LoadBalancers.builder("b").strategy(Strategies.roundRobin()).source(absolute).build();
    closeables.add(viaSearch);
    closeables.add(direct);
    await(
        () ->
            !viaSearch.inspect().endpoints().isEmpty() && !direct.inspect().endpoints().isEmpty());
    assertThat(viaSearch.inspect().endpoints())
        .extracting(Endpoint::host)
        .containsExactly("127.0.0.7");
    assertThat(direct.inspect().endpoints())
        .extracting(Endpoint::host)
        .containsExactly("127.0.0.8");
  }

  @Test
  void fiveHundredConcurrentResolutions_noTimeouts() throws Exception {
    a("many.test.", 30, "127.0.0.1");
    AtomicInteger errors = new AtomicInteger();
    LbEventListener counting =
        new LbEventListener() {
          @Override
          public void discoveryFailed(String service, Throwable error) {
            errors.incrementAndGet();
          }
        };
    List<LoadBalancer> balancers = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      DnsEndpointSource source =
          DnsEndpointSource.builder("many.test.", 80)
              .servers(List.of(dns.address()))
              .cache(DnsCache.none()) // every lookup reaches the responder
              .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
              .scheduler(scheduler)
              .build();
      LoadBalancer lb =
          LoadBalancers.builder("lb" + i)
              .strategy(Strategies.roundRobin())
              .source(source)
              .eventListener(counting)
              .build();
      closeables.add(lb);
      balancers.add(lb);
    }
    await(() -> balancers.stream().allMatch(lb -> lb.inspect().endpoints().size() == 1));
    assertThat(errors.get()).isZero();
    assertThat(dns.udpQueries()).isGreaterThanOrEqualTo(500);
  }

  @Test
  void jvmDnsCacheForever_recordChangesStillFollowed() throws Exception {
    String previous = java.security.Security.getProperty("networkaddress.cache.ttl");
    java.security.Security.setProperty("networkaddress.cache.ttl", "-1");
    try {
      a("cached.test.", 2, "127.0.0.1");
      DnsEndpointSource source =
          DnsEndpointSource.builder("cached.test.", 80)
              .servers(List.of(dns.address()))
              .cache(cache)
              .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
              .scheduler(scheduler)
              .seed(1)
              .build();
      LoadBalancer lb =
          LoadBalancers.builder("svc").strategy(Strategies.roundRobin()).source(source).build();
      closeables.add(lb);
      await(() -> lb.inspect().endpoints().size() == 1);
      a("cached.test.", 2, "127.0.0.2");
      ticker.advance(Duration.ofMillis(2_200));
      scheduler.runDueTasks();
      await(() -> lb.inspect().endpoints().get(0).host().equals("127.0.0.2"));
    } finally {
      java.security.Security.setProperty(
          "networkaddress.cache.ttl", previous != null ? previous : "30");
    }
  }
}
