package io.loadstar.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.LoopbackDnsServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;

/** What a user meets first: names checked where given, one source per balancer, quiet logs. */
class DnsSourceContractTest extends LoopbackDnsTest {

  private static final String NAME = "svc.test.";

  private DnsEndpointSource.Builder source() {
    return DnsEndpointSource.builder(NAME, 8080)
        .cache(cache)
        .servers(List.of(dns.address()))
        .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
        .queryTimeout(Duration.ofMillis(100))
        .attempts(1)
        .scheduler(scheduler)
        .seed(4);
  }

  private void answer(String... ips) throws Exception {
    List<org.xbill.DNS.Record> records = new java.util.ArrayList<>();
    for (String ip : ips) {
      records.add(new ARecord(Name.fromString(NAME), DClass.IN, 5, InetAddress.getByName(ip)));
    }
    dns.set(NAME, records);
  }

  @Test
  void builder_namesThatCanNeverBeLookedUp_areRejectedNamingThem() {
    for (String bad : List.of("svc.test:8080", "http://svc.test", " ", "", "svc test", "a..b")) {
      assertThatThrownBy(() -> DnsEndpointSource.builder(bad, 80))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "hostname: '"
                  + bad
                  + "' (expected: a DNS name such as api.internal, without scheme, port or path)");
      assertThatThrownBy(() -> DnsEndpointSource.srv(bad))
          .hasMessageStartingWith("name: '" + bad + "' (expected: a DNS name");
    }
    assertThatThrownBy(() -> DnsEndpointSource.builder("10.0.0.7", 80))
        .hasMessage(
            "hostname: '10.0.0.7' (expected: a DNS name; for an IP address use Endpoint.of)");
    assertThatThrownBy(() -> DnsEndpointSource.builder("svc", 80).searchPath(List.of("a b")))
        .hasMessageStartingWith("searchPath: 'a b' (expected: a DNS name");
    // A trailing dot is allowed (an absolute name), so is the SRV form's underscore.
    DnsEndpointSource.builder("svc.test.", 80);
    DnsEndpointSource.srv("_http._tcp.svc.test");
  }

  @Test
  void oneSourceGivenToTwoBalancers_theSecondBuildFailsNamingIt_theFirstKeepsWorking()
      throws Exception {
    answer("127.0.0.1", "127.0.0.2");
    DnsEndpointSource source = source().build();
    LoadBalancer first = LoadBalancers.builder("first").source(source).build();
    closeables.add(first);
    assertThatThrownBy(() -> LoadBalancers.builder("second").source(source).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "DnsEndpointSource{svc.test.:8080, IPV4_ONLY} already serves a balancer (expected: one"
                + " source per balancer; build one for each, they share DnsCache.shared(), so the"
                + " name is still looked up once per TTL)");
    await(() -> first.inspect().endpoints().size() == 2);
    first.close();
    assertThatThrownBy(() -> LoadBalancers.builder("third").source(source).build())
        .hasMessage(
            "DnsEndpointSource{svc.test.:8080, IPV4_ONLY} is closed (expected: a new source for a"
                + " new balancer)");
  }

  @Test
  void outage_oneWarnWithoutStackTrace_oneInfoOnRecovery() throws Exception {
    answer("127.0.0.1", "127.0.0.2");
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      LoadBalancer lb =
          LoadBalancers.builder("svc-logs").source(source().build()).ticker(ticker).build();
      closeables.add(lb);
      await(() -> lb.inspect().endpoints().size() == 2);
      dns.mode(LoopbackDnsServer.Mode.STALL);
      for (int i = 0; i < 5; i++) { // five failed lookups in a row
        await(() -> scheduler.pendingTasks() == 1);
        ticker.advance(Duration.ofSeconds(40));
        scheduler.runDueTasks();
        await(
            () ->
                captured.toString(StandardCharsets.UTF_8).contains("discovery failed")
                    && scheduler.pendingTasks() == 1);
      }
      dns.mode(LoopbackDnsServer.Mode.ANSWER);
      ticker.advance(Duration.ofSeconds(40));
      scheduler.runDueTasks();
      await(() -> captured.toString(StandardCharsets.UTF_8).contains("discovery recovered"));
    } finally {
      System.setErr(original);
    }
    List<String> lines =
        Arrays.stream(captured.toString(StandardCharsets.UTF_8).split("\n"))
            .filter(l -> l.contains("[svc-logs]")) // this balancer's lines only
            .filter(l -> !l.contains("endpoints updated"))
            .collect(Collectors.toList());
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0))
        .contains(
            "WARN io.loadstar.core.ServiceEvents - [svc-logs] discovery failed; keeping the"
                + " last 2 endpoints: java.net.UnknownHostException: DNS lookup of svc.test. (A)"
                + " failed at [/127.0.0.1:");
    assertThat(lines.get(0)).doesNotContain("{}");
    assertThat(lines.get(1))
        .endsWith(
            "INFO io.loadstar.core.ServiceEvents - [svc-logs] discovery recovered: 2 endpoints");
  }
}
