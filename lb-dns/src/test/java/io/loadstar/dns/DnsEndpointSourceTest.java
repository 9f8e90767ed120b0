package io.loadstar.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.LoopbackDnsServer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/** DnsEndpointSource against a real DNS responder on loopback; fake time for refresh timers. */
class DnsEndpointSourceTest extends LoopbackDnsTest {

  private static final String NAME = "svc.test.";

  private static List<Record> aRecords(String name, long ttl, String... ips) throws Exception {
    List<Record> records = new ArrayList<>();
    for (String ip : ips) {
      records.add(new ARecord(Name.fromString(name), DClass.IN, ttl, InetAddress.getByName(ip)));
    }
    return records;
  }

  private DnsEndpointSource.Builder source() {
    return DnsEndpointSource.builder(NAME, 8080)
        .cache(cache)
        .servers(List.of(dns.address()))
        .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
        .queryTimeout(Duration.ofMillis(300))
        .scheduler(scheduler)
        .seed(4);
  }

  private LoadBalancer balancer(DnsEndpointSource source) {
    LoadBalancer lb = LoadBalancers.builder("svc").source(source).ticker(ticker).build();
    closeables.add(lb);
    return lb;
  }

  private static List<String> hosts(LoadBalancer lb) {
    List<String> hosts = new ArrayList<>();
    for (Endpoint e : lb.inspect().endpoints()) {
      hosts.add(e.host());
    }
    return hosts;
  }

  @Test
  void recordChangeWithTtl2s_followedWithinTtlPlusJitter_underSteadyPicking() throws Exception {
    dns.set(NAME, aRecords(NAME, 2, "127.0.0.1", "127.0.0.2"));
    LoadBalancer lb = balancer(source().build());
    await(() -> lb.inspect().endpoints().size() == 2);

    dns.set(NAME, aRecords(NAME, 2, "127.0.0.3"));
    int failedPicks = 0;
    for (int step = 0; step < 22; step++) { // 2.2 s = TTL + 10% jitter, in 100 ms steps
      ticker.advance(Duration.ofMillis(100));
      scheduler.runDueTasks();
      for (int i = 0; i < 100; i++) {
        PickResult r = lb.pick();
        if (r.isAvailable()) {
          r.handle().onSuccess(1);
        } else {
          failedPicks++;
        }
      }
    }
    await(() -> hosts(lb).equals(List.of("127.0.0.3")));
    assertThat(failedPicks).isZero();
    assertThat(lb.inspect().endpoints().get(0).address())
        .isEqualTo(InetAddress.getByName("127.0.0.3"));
    assertThat(lb.inspect().endpoints().get(0).port()).isEqualTo(8080);
  }

  @Test
  void zoneAndTags_givenToEveryEndpointOfTheName() throws Exception {
    dns.set(NAME, aRecords(NAME, 30, "127.0.0.1", "127.0.0.2"));
    LoadBalancer lb = balancer(source().zone("eu-1a").tag("version", "v2").build());
    await(() -> lb.inspect().endpoints().size() == 2);
    assertThat(lb.inspect().endpoints())
        .allSatisfy(
            e -> {
              assertThat(e.zone()).isEqualTo("eu-1a");
              assertThat(e.tags()).containsEntry("version", "v2");
            });
  }

  @Test
  void sixtyRecords_truncatedOverUdp_allArriveThroughTcp() throws Exception {
    String[] ips = new String[60];
    for (int i = 0; i < 60; i++) {
      ips[i] = "127.0.1." + (i + 1);
    }
    dns.set(NAME, aRecords(NAME, 30, ips));
    LoadBalancer lb = balancer(source().build());
    await(() -> lb.inspect().endpoints().size() == 60);
    assertThat(dns.tcpQueries()).isPositive();
  }

  @Test
  void serverStopsAnsweringForTenMinutes_endpointsKept_noPickFails_newSetAppliedOnReturn()
      throws Exception {
    dns.set(NAME, aRecords(NAME, 5, "127.0.0.1", "127.0.0.2"));
    LoadBalancer lb = balancer(source().queryTimeout(Duration.ofMillis(100)).attempts(1).build());
    await(() -> lb.inspect().endpoints().size() == 2);
    await(() -> scheduler.pendingTasks() == 1);
    List<Endpoint> before = lb.inspect().endpoints();

    dns.mode(LoopbackDnsServer.Mode.STALL);
    int failedPicks = 0;
    int queriesBefore = dns.udpQueries();
    for (int second = 0; second < 600; second++) {
      ticker.advance(Duration.ofSeconds(1));
      if (scheduler.runDueTasks() > 0) {
        // A lookup went out; it times out in real time, then schedules its retry.
        await(() -> scheduler.pendingTasks() == 1);
      }
      PickResult r = lb.pick();
      if (r.isAvailable()) {
        r.handle().onSuccess(1);
      } else {
        failedPicks++;
      }
    }
    assertThat(failedPicks).isZero();
    assertThat(lb.inspect().endpoints()).isEqualTo(before);
    // Backoff reached 32 s: about 25 lookups in 10 minutes, not 120 (one per TTL).
    assertThat(dns.udpQueries() - queriesBefore).isBetween(15, 60);

    dns.set(NAME, aRecords(NAME, 5, "127.0.0.9"));
    dns.mode(LoopbackDnsServer.Mode.ANSWER);
    await(() -> scheduler.pendingTasks() == 1); // the last timed-out lookup scheduled its retry
    ticker.advance(Duration.ofSeconds(39)); // one refresh: at most 32 s + 20%
    scheduler.runDueTasks();
    await(() -> hosts(lb).equals(List.of("127.0.0.9")));
  }

  @Test
  void cnameChain_isFollowed_recordsForOtherNamesIgnored() throws Exception {
    List<Record> records = new ArrayList<>();
    records.add(
        new CNAMERecord(Name.fromString(NAME), DClass.IN, 30, Name.fromString("real.test.")));
    records.addAll(aRecords("real.test.", 30, "127.0.0.5"));
    records.addAll(aRecords("evil.test.", 30, "127.0.0.66")); // not in the chain: ignored
    dns.set(NAME, records);
    LoadBalancer lb = balancer(source().build());
    await(() -> !lb.inspect().endpoints().isEmpty());
    assertThat(hosts(lb)).containsExactly("127.0.0.5");
  }

  @Test
  void nxdomainBeforeAnyAnswer_executeWaitsThenFailsNamingHostOutcomeAndZeroCandidates()
      throws Exception {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source().build())
            .selectionTimeout(Duration.ofSeconds(1))
            .build();
    closeables.add(lb);
    assertThat(lb.awaitReady(Duration.ofMillis(200))).isFalse();
    assertThatThrownBy(() -> lb.execute(e -> "never"))
        .isInstanceOf(io.loadstar.api.NoEndpointAvailableException.class)
        .hasMessage(
            "no endpoint available for 'svc': 0 candidates, no endpoints discovered yet; last"
                + " discovery error: java.lang.IllegalStateException: discovery answered with no"
                + " endpoints: NXDOMAIN for svc.test.");
  }

  @Test
  void awaitReady_trueOnceTheFirstAnswerArrives() throws Exception {
    dns.set(NAME, aRecords(NAME, 30, "127.0.0.1"));
    LoadBalancer lb = balancer(source().build());
    assertThat(lb.awaitReady(Duration.ofSeconds(10))).isTrue();
    assertThat(lb.inspect().endpoints()).hasSize(1);
  }

  @Test
  void close_cancelsTimers_andSendsNoMoreQueries() throws Exception {
    dns.set(NAME, aRecords(NAME, 2, "127.0.0.1"));
    DnsEndpointSource source = source().build();
    LoadBalancer lb = balancer(source);
    await(() -> lb.inspect().endpoints().size() == 1);
    await(() -> scheduler.pendingTasks() == 1);
    lb.close(); // closes its source
    assertThat(scheduler.pendingTasks()).isZero();
    int queries = dns.udpQueries();
    ticker.advance(Duration.ofMinutes(5));
    scheduler.runDueTasks();
    assertThat(dns.udpQueries()).isEqualTo(queries);
  }

  @Test
  void twoSourcesForOneName_costOneQueryPerTtl() throws Exception {
    dns.set(NAME, aRecords(NAME, 30, "127.0.0.1"));
    int before = dns.udpQueries();
    LoadBalancer first = balancer(source().build());
    LoadBalancer second = balancer(source().build());
    await(
        () -> first.inspect().endpoints().size() == 1 && second.inspect().endpoints().size() == 1);
    assertThat(dns.udpQueries() - before).isEqualTo(1);
    // Each refreshes when the shared entry expires: one query again, not two.
    ticker.advance(Duration.ofSeconds(34)); // 30 s TTL + up to 10% jitter
    scheduler.runDueTasks();
    await(() -> scheduler.pendingTasks() == 2);
    assertThat(dns.udpQueries() - before).isEqualTo(2);
  }

  @Test
  void ttlZero_clampedToMinTtl_ttlMax_clampedToMaxTtl() throws Exception {
    dns.set(NAME, aRecords(NAME, 0, "127.0.0.1"));
    LoadBalancer lb =
        balancer(source().ttlRange(Duration.ofSeconds(1), Duration.ofSeconds(60)).build());
    await(() -> lb.inspect().endpoints().size() == 1);
    await(() -> scheduler.pendingTasks() == 1);
    int queries = dns.udpQueries();
    ticker.advance(Duration.ofMillis(900));
    assertThat(scheduler.runDueTasks()).isZero(); // TTL 0 is not "now": at least minTtl
    ticker.advance(Duration.ofMillis(250));
    assertThat(scheduler.runDueTasks()).isEqualTo(1);
    await(() -> dns.udpQueries() > queries);

    dns.set(NAME, aRecords(NAME, Integer.MAX_VALUE, "127.0.0.2"));
    await(() -> scheduler.pendingTasks() == 1);
    ticker.advance(Duration.ofSeconds(2));
    scheduler.runDueTasks();
    await(() -> hosts(lb).equals(List.of("127.0.0.2")));
    await(() -> scheduler.pendingTasks() == 1);
    dns.set(NAME, aRecords(NAME, Integer.MAX_VALUE, "127.0.0.3"));
    ticker.advance(Duration.ofSeconds(59));
    assertThat(scheduler.runDueTasks()).isZero();
    ticker.advance(Duration.ofSeconds(8)); // 60 s maxTtl + up to 10%: the cache refetches too
    scheduler.runDueTasks();
    await(() -> hosts(lb).equals(List.of("127.0.0.3")));
  }

  @Test
  void malformedAnswer_keepsLastGoodSet() throws Exception {
    dns.set(NAME, aRecords(NAME, 2, "127.0.0.1"));
    io.loadstar.testing.RecordingLbEventListener events =
        new io.loadstar.testing.RecordingLbEventListener();
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source().queryTimeout(Duration.ofMillis(200)).attempts(1).build())
            .eventListener(events)
            .build();
    closeables.add(lb);
    await(() -> lb.inspect().endpoints().size() == 1);
    await(() -> scheduler.pendingTasks() == 1);
    dns.mode(LoopbackDnsServer.Mode.GARBAGE);
    ticker.advance(Duration.ofMillis(2_300));
    scheduler.runDueTasks();
    await(() -> !events.discoveryErrors.isEmpty());
    assertThat(hosts(lb)).containsExactly("127.0.0.1");
    assertThat(lb.pick().isAvailable()).isTrue();
  }

  @Test
  void nxdomainAfterAnswers_keepsLastGoodByDefault_publishesEmptyWhenAsked() throws Exception {
    dns.set(NAME, aRecords(NAME, 2, "127.0.0.1"));
    LoadBalancer keeping = balancer(source().build());
    LoadBalancer emptying =
        LoadBalancers.builder("svc2")
            .source(source().build())
            .keepLastEndpoints(Duration.ZERO) // the one setting: an empty answer applies at once
            .build();
    closeables.add(emptying);
    await(
        () ->
            keeping.inspect().endpoints().size() == 1
                && emptying.inspect().endpoints().size() == 1);
    await(() -> scheduler.pendingTasks() == 2);
    dns.set(NAME, List.of()); // NXDOMAIN from now on
    ticker.advance(Duration.ofMillis(2_300));
    scheduler.runDueTasks();
    await(() -> emptying.inspect().endpoints().isEmpty());
    assertThat(keeping.inspect().endpoints()).hasSize(1);
  }

  @Test
  void keepLastWhileFailingNotWhileEmpty_anOutageKeepsTheList_nxdomainDropsItAtOnce()
      throws Exception {
    dns.set(NAME, aRecords(NAME, 2, "127.0.0.1"));
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source().queryTimeout(Duration.ofMillis(100)).attempts(1).build())
            .ticker(ticker)
            .keepLastEndpoints(Duration.ofDays(365), Duration.ZERO)
            .build();
    closeables.add(lb);
    await(() -> lb.inspect().endpoints().size() == 1);
    await(() -> scheduler.pendingTasks() == 1);
    // The DNS server is down (stops answering): the last list stays, for minutes of retries.
    dns.mode(LoopbackDnsServer.Mode.STALL);
    for (int second = 0; second < 120; second++) {
      ticker.advance(Duration.ofSeconds(1));
      if (scheduler.runDueTasks() > 0) {
        await(() -> scheduler.pendingTasks() == 1); // the lookup timed out and was rescheduled
      }
    }
    assertThat(lb.inspect().endpoints()).hasSize(1);
    // It answers again, now that the name is gone: NXDOMAIN drops the list at once.
    dns.mode(LoopbackDnsServer.Mode.ANSWER);
    dns.set(NAME, List.of());
    for (int second = 0; second < 60 && !lb.inspect().endpoints().isEmpty(); second++) {
      ticker.advance(Duration.ofSeconds(1));
      if (scheduler.runDueTasks() > 0) {
        await(() -> scheduler.pendingTasks() == 1 || lb.inspect().endpoints().isEmpty());
      }
    }
    // The last answer's update reaches the balancer on its control loop, maybe just after the
    // source rescheduled its lookup.
    await(() -> lb.inspect().endpoints().isEmpty());
    assertThat(lb.inspect().endpoints()).isEmpty();
    assertThat(lb.pick().reason())
        .contains("discovery answered with no endpoints: NXDOMAIN for svc.test.");
  }

  @Test
  void keepLastEndpoints_dropsTheLastAnswerOnlyForBalancersThatKeepItForAWhile() throws Exception {
    dns.set(NAME, aRecords(NAME, 5, "127.0.0.1"));
    DnsEndpointSource.Builder stale = source().queryTimeout(Duration.ofMillis(100)).attempts(1);
    LoadBalancer accepting =
        LoadBalancers.builder("a")
            .source(stale.build())
            .ticker(ticker)
            .keepLastEndpoints(Duration.ofSeconds(60))
            .build();
    LoadBalancer keeping = LoadBalancers.builder("k").source(stale.build()).build();
    closeables.add(accepting);
    closeables.add(keeping);
    await(
        () ->
            accepting.inspect().endpoints().size() == 1
                && keeping.inspect().endpoints().size() == 1);
    await(() -> scheduler.pendingTasks() == 2);
    dns.mode(LoopbackDnsServer.Mode.STALL);
    for (int second = 0; second < 120 && !accepting.inspect().endpoints().isEmpty(); second++) {
      ticker.advance(Duration.ofSeconds(1));
      if (scheduler.runDueTasks() > 0) {
        await(() -> scheduler.pendingTasks() == 2); // both lookups timed out and rescheduled
      }
    }
    assertThat(accepting.inspect().endpoints()).isEmpty();
    assertThat(keeping.inspect().endpoints()).hasSize(1); // its balancer refuses empty lists
  }
}
