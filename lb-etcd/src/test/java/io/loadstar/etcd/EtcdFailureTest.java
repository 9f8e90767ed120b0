package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.StandaloneSource;
import io.loadstar.testing.Await;
import io.loadstar.testing.EtcdServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** etcd going away and coming back: a member killed, a leader lost, history compacted. */
class EtcdFailureTest {

  private static final Duration WAIT = Duration.ofSeconds(15);

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void needsEtcd() {
    assumeTrue(EtcdServer.binary() != null, EtcdServer.INSTALL_HINT);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  private static Set<Endpoint> endpoints(LoadBalancer lb) {
    return Set.copyOf(lb.inspect().endpoints());
  }

  @Test
  void etcdDownFor30s_balancerKeepsItsEndpoints_noPickFails_changesAfterTheRestartAreSeen()
      throws Exception {
    EtcdServer etcd = closeLater(EtcdServer.start());
    EtcdClient client = closeLater(EtcdClient.builder(etcd.url()).build());
    Endpoint a = Endpoint.of("127.0.0.1", 7101);
    Endpoint b = Endpoint.of("127.0.0.1", 7102);
    EtcdRegistrar ra = closeLater(EtcdRegistrar.builder(client, "down", a).start());
    closeLater(EtcdRegistrar.builder(client, "down", b).start());
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("down")
                .source(EtcdEndpointSource.builder(client, "down").build())
                .build());
    assertThat(Await.until(WAIT, () -> endpoints(lb).equals(Set.of(a, b)))).isTrue();

    etcd.kill();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    int picks = 0;
    int failed = 0;
    while (System.nanoTime() < until) {
      try {
        PickResult r = lb.pick();
        r.handle().onSuccess(1_000_000L);
        picks++;
      } catch (RuntimeException e) {
        failed++;
      }
      LockSupport.parkNanos(1_000_000L);
    }
    assertThat(picks).isGreaterThan(1000);
    assertThat(failed).isZero();
    assertThat(endpoints(lb)).isEqualTo(Set.of(a, b));

    etcd.restart();
    etcd.awaitHealthy(WAIT);
    Endpoint c = Endpoint.of("127.0.0.1", 7103);
    closeLater(EtcdRegistrar.builder(client, "down", c).start());
    ra.close();
    assertThat(Await.until(WAIT, () -> endpoints(lb).equals(Set.of(b, c)))).isTrue();
  }

  @Test
  void leaderOfThreeKilled_sourceKeepsItsSetAndFollowsChanges_registrarsLeaseSurvives()
      throws Exception {
    List<EtcdServer> cluster = EtcdServer.cluster(3);
    for (EtcdServer m : cluster) {
      closeLater(m);
    }
    EtcdServer leader = EtcdServer.leader(cluster);
    // The client talks to the leader first, so its watch and keep-alives lose their member too.
    List<String> urls = new ArrayList<>(EtcdServer.urls(cluster));
    urls.remove(leader.url());
    urls.add(0, leader.url());
    EtcdClient client = closeLater(EtcdClient.builder(urls).build());
    Endpoint a = Endpoint.of("127.0.0.1", 7201);
    EtcdRegistrar ra = closeLater(EtcdRegistrar.builder(client, "leader", a).start());
    EtcdDiscoveryTest.Recorder seen = new EtcdDiscoveryTest.Recorder();
    EtcdEndpointSource source = closeLater(EtcdEndpointSource.builder(client, "leader").build());
    closeLater(StandaloneSource.start("leader", source, seen::add));
    assertThat(Await.until(WAIT, () -> seen.endpoints().equals(List.of(a)))).isTrue();
    String key = ra.key();
    long lease = leaseOf(client, key);

    leader.kill();
    EtcdServer.leader(cluster); // a new one, among the two left

    Endpoint b = Endpoint.of("127.0.0.1", 7202);
    closeLater(EtcdRegistrar.builder(client, "leader", b).start());
    assertThat(Await.until(WAIT, () -> seen.endpoints().equals(List.of(a, b)))).isTrue();
    // The first registration still stands on its first lease: kept alive through the new leader.
    assertThat(Await.until(WAIT, () -> leaseOf(client, key) == lease)).isTrue();
    assertThat(Await.until(WAIT, ra::isRegistered)).isTrue();
  }

  @Test
  void historyCompactedWhileTheWatchWasDown_sourceReadsAgain_andMissesNothing() throws Exception {
    List<EtcdServer> cluster = EtcdServer.cluster(3);
    for (EtcdServer m : cluster) {
      closeLater(m);
    }
    EtcdServer pinned = cluster.get(0);
    // The source's client knows one member only, so while that one is down it cannot follow.
    EtcdClient watcher = closeLater(EtcdClient.builder(pinned.url()).build());
    EtcdClient writer =
        closeLater(EtcdClient.builder(cluster.get(1).url(), cluster.get(2).url()).build());
    String p = EtcdEndpointSource.DEFAULT_ROOT + "compacted/";
    writer.put(p + "a", EtcdRecord.toJson(Endpoint.of("127.0.0.1", 7301)), 0).join();
    EtcdDiscoveryTest.Recorder seen = new EtcdDiscoveryTest.Recorder();
    closeLater(
        StandaloneSource.start(
            "compacted", EtcdEndpointSource.builder(watcher, "compacted").build(), seen::add));
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();

    pinned.kill();
    assertThat(Await.until(WAIT, () -> seen.last().isError())).isTrue();
    writer.delete(p + "a").join();
    writer.put(p + "b", EtcdRecord.toJson(Endpoint.of("127.0.0.1", 7302)), 0).join();
    long revision =
        writer
            .put(p + "c", EtcdRecord.toJson(Endpoint.of("127.0.0.1", 7303)), 0)
            .join()
            .path("header")
            .path("revision")
            .asLong();
    writer
        .post("/v3/kv/compaction", EtcdWire.object().put("revision", Long.toString(revision)))
        .join();
    assertThat(seen.endpoints()).containsExactly(Endpoint.of("127.0.0.1", 7301)); // kept

    pinned.restart();
    assertThat(
            Await.until(
                WAIT,
                () ->
                    seen.endpoints()
                        .equals(
                            List.of(
                                Endpoint.of("127.0.0.1", 7302), Endpoint.of("127.0.0.1", 7303)))))
        .isTrue();
  }

  private static long leaseOf(EtcdClient client, String key) {
    try {
      return client.range(key).join().path("kvs").path(0).path("lease").asLong(0);
    } catch (RuntimeException e) {
      return -1; // the cluster is electing: asked again
    }
  }
}
