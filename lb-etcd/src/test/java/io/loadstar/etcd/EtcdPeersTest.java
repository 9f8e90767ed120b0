package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Subsetting;
import io.loadstar.testing.Await;
import io.loadstar.testing.EtcdServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Peers in etcd: 50 balancers in one JVM register as clients of a service, derive distinct indexes
 * and subsets that cover every endpoint evenly; a client killed without deregistering leaves when
 * its lease expires, and the others' subsets follow.
 */
class EtcdPeersTest {

  private static final Duration WAIT = Duration.ofSeconds(15);

  private static EtcdServer etcd;
  private static EtcdClient client;

  @BeforeAll
  static void startEtcd() throws IOException {
    assumeTrue(EtcdServer.binary() != null, EtcdServer.INSTALL_HINT);
    etcd = EtcdServer.start();
    client = EtcdClient.builder(etcd.url()).build();
  }

  @AfterAll
  static void stopEtcd() throws IOException {
    if (client != null) {
      client.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  private static List<Endpoint> backends() {
    List<Endpoint> out = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      out.add(Endpoint.of("10.1." + (i / 100) + "." + (i % 100 + 1), 8080));
    }
    return out;
  }

  /** How many of the balancers list each backend. */
  private static Map<String, Integer> clientsPerBackend(List<LoadBalancer> balancers) {
    Map<String, Integer> out = new HashMap<>();
    for (LoadBalancer lb : balancers) {
      for (Endpoint e : lb.endpoints()) {
        out.merge(e.key(), 1, Integer::sum);
      }
    }
    return out;
  }

  @Test
  void fiftyClients_distinctIndexes_evenSubsets_aKilledClientLeavesWithItsLease() throws Exception {
    String prefix = EtcdPeers.DEFAULT_ROOT + "fleet/";
    Process doomed =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                RegistrarProcess.class.getName(),
                etcd.url(),
                "fleet",
                "127.0.0.99",
                "9000",
                "2",
                prefix)
            .redirectErrorStream(true)
            .start();
    List<EtcdPeers> peers = new ArrayList<>();
    List<LoadBalancer> balancers = new ArrayList<>();
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(doomed.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null && !line.equals("registered")) {
        // the child's log lines, until it says it is registered
      }
      assertThat(line).as("the doomed peer registered").isEqualTo("registered");

      for (int i = 0; i < 50; i++) {
        EtcdPeers p =
            EtcdPeers.builder(client, "fleet", Endpoint.of("127.0.1." + (i + 1), 9000))
                .ttl(Duration.ofSeconds(2))
                .build();
        peers.add(p);
        balancers.add(
            LoadBalancers.builder("fleet")
                .endpoints(backends())
                .subsetting(Subsetting.size(10).peers(p))
                .build());
      }
      assertThat(Await.until(WAIT, () -> peers.stream().allMatch(p -> p.count() == 51))).isTrue();
      Set<Integer> indexes = new HashSet<>();
      peers.forEach(p -> indexes.add(p.index()));
      assertThat(indexes).hasSize(50).allSatisfy(i -> assertThat(i).isBetween(0, 50));
      // 51 clients x 10 / 100: 5 per backend and round; the doomed one's group has one fewer here.
      assertThat(clientsPerBackend(balancers).values())
          .allSatisfy(n -> assertThat(n).isBetween(4, 7));

      doomed.destroyForcibly().waitFor(); // SIGKILL: its lease is left to expire
      long killed = System.nanoTime();
      assertThat(Await.until(WAIT, () -> peers.stream().allMatch(p -> p.count() == 50))).isTrue();
      long seen = System.nanoTime();
      assertThat(
              Await.until(
                  WAIT,
                  () -> {
                    Map<String, Integer> n = clientsPerBackend(balancers);
                    return n.size() == 100 && n.values().stream().allMatch(c -> c >= 5);
                  }))
          .isTrue();
      indexes.clear();
      peers.forEach(p -> indexes.add(p.index()));
      assertThat(indexes).hasSize(50).allSatisfy(i -> assertThat(i).isBetween(0, 49));
      // etcd's clock decides, not ours: reported, not asserted (TTL 2 s, renewed every 0.67 s).
      System.out.printf(
          "killed peer gone, 50 subsets re-balanced %d ms after the kill (lease TTL 2 s)%n",
          (seen - killed) / 1_000_000);
    } finally {
      doomed.destroyForcibly();
      balancers.forEach(LoadBalancer::close); // each closes its EtcdPeers: registration revoked
    }
  }
}
