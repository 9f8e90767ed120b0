package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.core.StandaloneSource;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Registration and discovery against one real etcd member on loopback. */
class EtcdDiscoveryTest extends EtcdTestBase {

  /** A source started on a recording listener; returns the updates it reports. */
  private Recorder watch(String service) {
    Recorder r = new Recorder();
    EtcdEndpointSource source = EtcdEndpointSource.builder(client, service).build();
    closeables.add(source);
    closeables.add(StandaloneSource.start(service, source, r::add));
    return r;
  }

  private EtcdRegistrar register(String service, Endpoint e) {
    EtcdRegistrar r = EtcdRegistrar.builder(client, service, e).start();
    closeables.add(r);
    return r;
  }

  @Test
  void registered_seenByTheSource_andGoneAtOnceAfterClose() {
    Recorder seen = watch("reg");
    assertThat(Await.until(WAIT, () -> seen.last() != null)).isTrue();
    assertThat(seen.last().endpoints()).isEmpty();

    EtcdRegistrar a = register("reg", Endpoint.of("127.0.0.1", 8081).withZone("z1"));
    register("reg", Endpoint.of("127.0.0.2", 8082).withWeight(3).withTag("version", "v2"));
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 2)).isTrue();
    assertThat(seen.endpoints())
        .containsExactly(
            Endpoint.of("127.0.0.1", 8081).withZone("z1"),
            Endpoint.of("127.0.0.2", 8082).withWeight(3).withTag("version", "v2"));
    // The watch may deliver the key before the registrar has read etcd's answer to its put.
    assertThat(Await.until(WAIT, a::isRegistered)).isTrue();

    a.close();
    assertThat(a.isRegistered()).isFalse();
    // The lease is revoked, not left to expire: the key is gone once close() returns.
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
    assertThat(seen.endpoints())
        .containsExactly(Endpoint.of("127.0.0.2", 8082).withWeight(3).withTag("version", "v2"));
  }

  @Test
  void readinessFalse_deregisters_andTrue_registersAgain() {
    Recorder seen = watch("ready");
    AtomicBoolean ready = new AtomicBoolean(true);
    EtcdRegistrar r =
        EtcdRegistrar.builder(client, "ready", Endpoint.of("127.0.0.1", 9001))
            .readiness(ready::get)
            .readinessInterval(Duration.ofMillis(20))
            .start();
    closeables.add(r);
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();

    ready.set(false);
    assertThat(Await.until(WAIT, () -> seen.endpoints().isEmpty())).isTrue();
    assertThat(Await.until(WAIT, () -> !r.isRegistered())).isTrue();

    ready.set(true);
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
    assertThat(Await.until(WAIT, r::isRegistered)).isTrue();
  }

  @Test
  void badRecords_skippedWithOneWarningEach_theRestLoad() throws Exception {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      String p = EtcdEndpointSource.DEFAULT_ROOT + "bad/";
      client.put(p + "good", EtcdRecord.toJson(Endpoint.of("127.0.0.1", 7001)), 0).join();
      client.put(p + "notjson", "{host: nope", 0).join();
      client.put(p + "port", "{\"version\":1,\"host\":\"127.0.0.1\",\"port\":70000}", 0).join();
      client.put(p + "v2", "{\"version\":2,\"host\":\"127.0.0.1\",\"port\":7002}", 0).join();
      Recorder seen = watch("bad");
      assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
      assertThat(seen.endpoints()).containsExactly(Endpoint.of("127.0.0.1", 7001));

      // A good record turning bad keeps its last good value; a new good one still loads.
      client.put(p + "good", "garbage", 0).join();
      client.put(p + "good2", EtcdRecord.toJson(Endpoint.of("127.0.0.1", 7003)), 0).join();
      assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 2)).isTrue();
      assertThat(seen.endpoints())
          .containsExactly(Endpoint.of("127.0.0.1", 7001), Endpoint.of("127.0.0.1", 7003));
    } finally {
      System.setErr(original);
    }
    List<String> warnings =
        Arrays.stream(captured.toString(StandardCharsets.UTF_8).split("\n"))
            .filter(l -> l.contains("WARN") && l.contains("skipping the record"))
            .collect(Collectors.toList());
    assertThat(warnings).hasSize(4);
    assertThat(String.join("\n", warnings))
        .contains("/loadstar/services/bad/notjson (revision")
        .contains("not JSON")
        .contains("port: 70000 (expected: a number in 1..65535)")
        .contains("version: 2 (expected: 1; written by a newer registrar?)")
        .contains("/loadstar/services/bad/good (revision");
  }

  @Test
  void servicesUnderTheSharedPrefix_shareOneWatchStream_andSeeOnlyTheirOwnKeys() {
    Recorder a = watch("share-a");
    Recorder b = watch("share-b");
    register("share-a", Endpoint.of("127.0.0.1", 6001));
    register("share-b", Endpoint.of("127.0.0.1", 6002));
    register("share-bb", Endpoint.of("127.0.0.1", 6003)); // a prefix of neither: "share-b/" ends
    assertThat(Await.until(WAIT, () -> a.endpoints().size() == 1 && b.endpoints().size() == 1))
        .isTrue();
    assertThat(a.endpoints()).containsExactly(Endpoint.of("127.0.0.1", 6001));
    assertThat(b.endpoints()).containsExactly(Endpoint.of("127.0.0.1", 6002));
    assertThat(client.hubCount()).isEqualTo(1);
  }

  @Test
  void sourceStartedAfterChanges_readsThenFollows_withoutAGap() {
    for (int i = 0; i < 20; i++) {
      register("gap", Endpoint.of("127.0.0.1", 5000 + i));
    }
    Recorder seen = watch("gap");
    // Registrations keep landing while the source reads and its watch joins.
    for (int i = 20; i < 40; i++) {
      register("gap", Endpoint.of("127.0.0.1", 5000 + i));
    }
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 40)).isTrue();
  }

  /**
   * A registrar in a process of its own ({@link RegistrarProcess} with {@code args} after etcd's
   * URL), started and registered: a test can kill it with SIGKILL.
   */
  static Process registeredProcess(String... args) throws IOException {
    return RegistrarProcess.start(etcd.url(), args);
  }

  @Test
  void backendKilledWithoutDeregistering_goneWhenItsLeaseExpires() throws Exception {
    Recorder seen = watch("killed");
    Process backend = registeredProcess("killed", "127.0.0.1", "4001", "2");
    try {
      assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();

      backend.destroyForcibly().waitFor(); // SIGKILL: no revoke, no goodbye
      long killed = System.nanoTime();
      assertThat(Await.until(WAIT, () -> seen.endpoints().isEmpty())).isTrue();
      // etcd's clock decides, not ours: reported, not asserted (TTL 2 s, renewed every 0.67 s).
      System.out.printf(
          "killed backend gone after %d ms (lease TTL 2 s)%n",
          (System.nanoTime() - killed) / 1_000_000);
    } finally {
      backend.destroyForcibly();
    }
  }

  @Test
  void leaseLost_registrarRegistersAgainByItself() {
    Recorder seen = watch("relost");
    EtcdRegistrar r =
        EtcdRegistrar.builder(client, "relost", Endpoint.of("127.0.0.1", 3001))
            .ttl(Duration.ofSeconds(2))
            .start();
    closeables.add(r);
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
    long lease = client.range(r.key()).join().path("kvs").path(0).path("lease").asLong();

    client.revoke(lease).join(); // as if etcd had let it expire: the key goes with it
    assertThat(Await.until(WAIT, () -> seen.endpoints().isEmpty())).isTrue();
    assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
    long again = client.range(r.key()).join().path("kvs").path(0).path("lease").asLong();
    assertThat(again).isNotZero().isNotEqualTo(lease);
  }

  @Test
  void registrarRenewsOnItsSchedulersClock_notOnItsOwn() {
    Recorder seen = watch("clock");
    ManualScheduler manual = new ManualScheduler(new FakeTicker());
    try (EtcdClient own = EtcdClient.builder(etcd.url()).scheduler(manual).build()) {
      EtcdRegistrar r =
          EtcdRegistrar.builder(own, "clock", Endpoint.of("127.0.0.1", 2001))
              .ttl(Duration.ofSeconds(2))
              .start();
      closeables.add(r);
      assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
      // The manual clock stands still, so no renewal is sent: etcd lets the lease expire.
      assertThat(Await.until(WAIT, () -> seen.endpoints().isEmpty())).isTrue();
      assertThat(manual.pendingTasks()).isPositive();

      // One renewal period on the registrar's clock: the renewal finds the lease gone and
      // registers again.
      manual.advance(Duration.ofMillis(667), Duration.ofMillis(667));
      assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 1)).isTrue();
      r.close();
    }
  }

  @Test
  void twoSourcesOfOneClient_closedOneAfterTheOther_releaseTheStream() {
    EtcdEndpointSource a = EtcdEndpointSource.builder(client, "rel-a").build();
    EtcdEndpointSource b =
        EtcdEndpointSource.builder(client, "rel-b").prefix("/elsewhere/b/").build();
    Recorder ra = new Recorder();
    Recorder rb = new Recorder();
    StandaloneSource.start("rel-a", a, ra::add);
    StandaloneSource.start("rel-b", b, rb::add);
    assertThat(Await.until(WAIT, () -> ra.last() != null && rb.last() != null)).isTrue();
    assertThat(client.hubCount()).isEqualTo(2); // the shared prefix, and /elsewhere/b/
    a.close();
    b.close();
    assertThat(client.hubCount()).isZero();
    // OkHttp names a thread after the URL it is calling; the stream's thread is back idle.
    assertThat(
            Await.until(
                WAIT,
                () ->
                    Thread.getAllStackTraces().keySet().stream()
                        .noneMatch(t -> t.getName().startsWith("OkHttp " + etcd.url()))))
        .as("no thread left reading a watch stream")
        .isTrue();
  }

  @Test
  void aSourceServesOneBalancer() {
    EtcdEndpointSource s = EtcdEndpointSource.builder(client, "once").build();
    closeables.add(s);
    closeables.add(StandaloneSource.start("once", s, u -> {}));
    assertThatThrownBy(() -> StandaloneSource.start("once", s, u -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already serves a balancer");
    s.close();
    assertThatThrownBy(() -> StandaloneSource.start("once", s, u -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is closed");
  }

  /** Collects a source's updates. */
  static final class Recorder {
    final List<EndpointUpdate> updates = new CopyOnWriteArrayList<>();

    void add(EndpointUpdate u) {
      updates.add(u);
    }

    EndpointUpdate last() {
      return updates.isEmpty() ? null : updates.get(updates.size() - 1);
    }

    /** The last list reported (an error keeps the one before). */
    List<Endpoint> endpoints() {
      for (int i = updates.size() - 1; i >= 0; i--) {
        if (!updates.get(i).isError()) {
          return updates.get(i).endpoints();
        }
      }
      return List.of();
    }
  }
}
