package io.loadstar.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.dns.DnsCache;
import io.loadstar.dns.DnsEndpointSource;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.LoopbackDnsServer;
import io.loadstar.testing.ManualScheduler;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

/**
 * A server added in DNS is used by a Loadstar gRPC channel within its record's TTL: a real DNS
 * responder on loopback, real gRPC servers, and the DNS source's refresh on a fake clock started
 * from 0, from days and from a negative value.
 */
class GrpcDnsTest extends GrpcTestBase {

  private static final String NAME = "echo.test.";

  static List<Long> origins() {
    return FakeTicker.origins();
  }

  private static List<Record> aRecords(long ttl, String... ips) throws Exception {
    List<Record> records = new ArrayList<>();
    for (String ip : ips) {
      records.add(new ARecord(Name.fromString(NAME), DClass.IN, ttl, InetAddress.getByName(ip)));
    }
    return records;
  }

  @ParameterizedTest
  @MethodSource("origins")
  void aServerAddedInDns_getsRpcsWithinItsTtl(long origin) throws Exception {
    int first = hosts(3);
    GrpcBackends backends = closeLater(GrpcBackends.startAt(first, 3));
    String[] ips = {"127.0.0." + first, "127.0.0." + (first + 1), "127.0.0." + (first + 2)};
    LoopbackDnsServer dns = closeLater(new LoopbackDnsServer());
    dns.set(NAME, aRecords(5, ips[0], ips[1]));
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    DnsEndpointSource source =
        DnsEndpointSource.builder(NAME, backends.port())
            .cache(DnsCache.builder().ticker(ticker).build())
            .servers(List.of(dns.address()))
            .addressPolicy(DnsEndpointSource.AddressPolicy.IPV4_ONLY)
            .scheduler(scheduler)
            .build();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("echo")
                .source(source)
                .ticker(ticker)
                .strategy(Strategies.roundRobin())
                .build());
    assertThat(lb.awaitReady(Duration.ofSeconds(10))).isTrue();
    ManagedChannel channel = channel(lb);
    for (int i = 0; i < 10; i++) {
      call(channel, GrpcBackends.GET);
    }
    assertThat(backends.counts()).containsExactly(5, 5, 0);

    dns.set(NAME, aRecords(5, ips));
    ticker.advance(Duration.ofSeconds(6)); // the TTL, and the refresh's jitter
    scheduler.runDueTasks();
    assertThat(Await.until(() -> lb.inspect().endpoints().size() == 3)).isTrue();
    assertThat(
            Await.until(
                () -> {
                  call(channel, GrpcBackends.GET);
                  return backends.counts()[2] > 0;
                }))
        .isTrue();
  }
}
