package io.loadstar.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.TcpHealthChecker;
import io.loadstar.core.internal.SharedThreads;
import io.loadstar.testing.TcpBackend;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;

/**
 * Many services in one JVM share Loadstar's threads: balancers, their DNS sources, their active
 * health checks and their outlier detection start none of their own.
 */
class SharedThreadsTest extends LoopbackDnsTest {

  private static List<String> loadstarThreads() {
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith("loadstar-")) {
        names.add(t.getName());
      }
    }
    return names;
  }

  @Test
  void fiftyDnsServicesWithChecksAndOutlierDetection_runOnAtMostSixThreads_noneAfterClose()
      throws Exception {
    TcpBackend backend = TcpBackend.start("127.0.0.1", 0);
    closeables.add(backend);
    int before = SharedThreads.users();
    DnsCache realTime = DnsCache.builder().build();
    List<LoadBalancer> balancers = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      String name = "svc-" + i + ".test.";
      dns.set(
          name,
          List.of(
              new ARecord(Name.fromString(name), DClass.IN, 5, InetAddress.getByName("127.0.0.1")),
              new ARecord(
                  Name.fromString(name), DClass.IN, 5, InetAddress.getByName("127.0.0.2"))));
      balancers.add(
          LoadBalancers.builder("svc-" + i)
              .source(
                  DnsEndpointSource.builder(name, backend.port())
                      .cache(realTime)
                      .servers(List.of(dns.address()))
                      .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
                      .build())
              .healthChecks(
                  TcpHealthChecker.create(),
                  HealthCheckConfig.builder()
                      .interval(Duration.ofSeconds(1))
                      .timeout(Duration.ofMillis(500))
                      .build())
              .build()); // outlier detection is on by default
    }
    try {
      // Every service discovered its endpoints, probed them (127.0.0.2 has no listener: it fails
      // its checks) and took real calls.
      for (LoadBalancer lb : balancers) {
        await(() -> lb.inspect().endpoints().size() == 2);
        await(
            () ->
                lb.inspect().snapshot().stream()
                    .anyMatch(s -> s.state() == EndpointSnapshot.State.UNHEALTHY));
        String served = lb.execute(e -> e.host()); // an outcome for outlier detection
        assertThat(served).startsWith("127.0.0.");
      }
      List<String> threads = loadstarThreads();
      assertThat(threads)
          .as("Loadstar threads with 50 services running")
          .hasSizeBetween(2, 1 + SharedThreads.WORKERS)
          .contains("loadstar-timer");
      assertThat(1 + SharedThreads.WORKERS).isLessThanOrEqualTo(6);
    } finally {
      balancers.forEach(LoadBalancer::close);
    }
    assertThat(SharedThreads.users()).isEqualTo(before);
    if (before == 0) { // nothing else in this JVM holds them: every thread ends
      await(() -> loadstarThreads().isEmpty());
    }
    if (DnsSelector.users() == 0) { // and dnsjava's selector thread, which Loadstar's queries used
      assertThat(threadsNamed("dnsjava NIO selector")).isEmpty();
    }
  }

  @Test
  void everyThreadCounted_theLastDnsSourceStopsDnsjavasSelector_theNextStartsItAgain()
      throws Exception {
    if (DnsSelector.users() != 0 || SharedThreads.users() != 0) {
      return; // another test's balancer is still open in this JVM: nothing to compare with
    }
    java.util.Set<Thread> before = liveThreads();
    for (int round = 0; round < 2; round++) {
      dns.set(
          "svc.test.",
          List.of(
              new ARecord(
                  Name.fromString("svc.test."), DClass.IN, 5, InetAddress.getByName("127.0.0.1"))));
      List<LoadBalancer> balancers = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        balancers.add(
            LoadBalancers.builder("svc-" + i)
                .source(
                    DnsEndpointSource.builder("svc.test.", 80)
                        .cache(DnsCache.builder().build())
                        .servers(List.of(dns.address()))
                        .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
                        .build())
                .build());
      }
      for (LoadBalancer lb : balancers) {
        await(() -> lb.inspect().endpoints().size() == 1);
      }
      assertThat(threadsNamed("dnsjava NIO selector")).hasSize(1);
      balancers.forEach(LoadBalancer::close);
      // Every thread started since, not only Loadstar's, has ended.
      await(
          () -> {
            java.util.Set<Thread> now = liveThreads();
            now.removeAll(before);
            return now.isEmpty();
          });
    }
  }

  private static java.util.Set<Thread> liveThreads() {
    java.util.Set<Thread> out = new java.util.HashSet<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive()) {
        out.add(t);
      }
    }
    return out;
  }

  private static List<String> threadsNamed(String name) {
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().equals(name)) {
        names.add(t.getName());
      }
    }
    return names;
  }
}
