package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PeerPosition;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.StandaloneSource;
import io.loadstar.core.Subsetting;
import io.loadstar.testing.Await;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Peers' positions against one real etcd member on loopback: slots claimed under a lease, held for
 * a client's lifetime, freed by its leaving only, and filled again by the next joiner.
 */
class EtcdPeersTest extends EtcdTestBase {

  /** A started position and every (index, count) it reported. */
  private final class Peer implements AutoCloseable {
    final EtcdPeers position;
    final List<int[]> reports = new CopyOnWriteArrayList<>();
    volatile int[] vacant = {};

    Peer(String service, int id) {
      position =
          EtcdPeers.builder(client, service, Endpoint.of("127.0.2." + (id + 1), 9000))
              .ttl(Duration.ofSeconds(2))
              .build();
      position.start(
          new PeerPosition.Listener() {
            @Override
            public void positionChanged(int index, int count) {
              positionChanged(index, count, new int[0]);
            }

            @Override
            public void positionChanged(int index, int count, int[] gaps) {
              reports.add(new int[] {index, count});
              vacant = gaps.clone();
            }
          });
      closeables.add(this);
    }

    /** The indexes it reported, in order, without repeats. */
    List<Integer> indexes() {
      List<Integer> out = new ArrayList<>();
      for (int[] r : reports) {
        if (out.isEmpty() || out.get(out.size() - 1) != r[0]) {
          out.add(r[0]);
        }
      }
      return out;
    }

    @Override
    public void close() {
      position.close();
    }
  }

  /** Starts a peer and waits until it knows its slot. */
  private Peer joined(String service, int id) {
    Peer p = new Peer(service, id);
    assertThat(Await.until(WAIT, () -> p.position.index() >= 0)).as("peer %d's slot", id).isTrue();
    return p;
  }

  /** How many transactions etcd has applied, from its metrics. */
  private static long transactions() throws IOException {
    try (okhttp3.Response r =
        new okhttp3.OkHttpClient()
            .newCall(new okhttp3.Request.Builder().url(etcd.url() + "/metrics").build())
            .execute()) {
      for (String line : r.body().string().split("\n")) {
        if (line.startsWith("etcd_debugging_mvcc_txn_total ")) {
          return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1));
        }
      }
    }
    throw new AssertionError("etcd's metrics have no etcd_debugging_mvcc_txn_total");
  }

  private static List<Endpoint> records(String service) {
    List<Endpoint> out = new ArrayList<>();
    String prefix = EtcdPeers.DEFAULT_ROOT + service + "/";
    for (var kv : client.range(prefix).join().path("kvs")) {
      out.add(EtcdRecord.parse(EtcdWire.text(kv.path("value"))));
    }
    return out;
  }

  @Test
  void peersJoiningOneAfterAnother_takeSlotsInOrder_aLeaverFreesOnlyItsOwn_aJoinerFillsItsGap() {
    List<Peer> peers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      peers.add(joined("order", i));
    }
    for (int i = 0; i < 5; i++) {
      int slot = i;
      Peer p = peers.get(i);
      assertThat(p.position.index()).isEqualTo(slot);
      assertThat(Await.until(WAIT, () -> p.position.count() == 5)).isTrue();
    }

    peers.get(2).close(); // from the middle: slot 2 is free, and nobody else moves
    for (int i : new int[] {0, 1, 3, 4}) {
      Peer p = peers.get(i);
      assertThat(Await.until(WAIT, () -> Arrays.equals(p.vacant, new int[] {2})))
          .as("peer %d hears that slot 2 is vacant", i)
          .isTrue();
    }
    Peer joiner = joined("order", 5);
    assertThat(joiner.position.index()).as("the joiner fills the gap").isEqualTo(2);
    assertThat(joiner.position.count()).isEqualTo(5);
    assertThat(Await.until(WAIT, () -> peers.get(0).vacant.length == 0)).isTrue();

    peers.get(4).close(); // the highest: the count shrinks, and still nobody moves
    for (Peer p : List.of(peers.get(0), peers.get(1), joiner, peers.get(3))) {
      assertThat(Await.until(WAIT, () -> p.position.count() == 4)).isTrue();
    }
    for (int i : new int[] {0, 1, 3}) {
      assertThat(peers.get(i).indexes())
          .as("peer %d's indexes over its life", i)
          .containsExactly(i);
    }
    assertThat(joiner.indexes()).containsExactly(2);
  }

  @Test
  void manyPeersStartingAtOnce_takeSlots0ToNMinus1_withoutGaps() throws IOException {
    List<Peer> peers = new ArrayList<>();
    long transactions = transactions();
    long began = System.nanoTime();
    for (int i = 0; i < 60; i++) {
      peers.add(new Peer("crowd", i)); // started without waiting: they race for the low slots
    }
    assertThat(Await.until(WAIT, () -> peers.stream().allMatch(p -> p.position.index() >= 0)))
        .isTrue();
    long took = (System.nanoTime() - began) / 1_000_000;
    long sent = transactions() - transactions;
    System.out.printf(
        "60 peers started at once held their slots after %d ms, %d transactions%n", took, sent);
    // Each reads once and claims once when nobody collides; racing for the lowest free slot
    // instead would take about 60^2 / 2 = 1,800.
    assertThat(sent).isBetween(120L, 240L);
    Set<Integer> slots = new HashSet<>();
    peers.forEach(p -> slots.add(p.position.index()));
    Set<Integer> expected = new HashSet<>();
    for (int i = 0; i < 60; i++) {
      expected.add(i);
    }
    assertThat(slots).isEqualTo(expected);
    assertThat(Await.until(WAIT, () -> peers.stream().allMatch(p -> p.position.count() == 60)))
        .isTrue();
    assertThat(joined("crowd", 60).position.index()).isEqualTo(60);
    assertThat(Await.until(WAIT, () -> peers.stream().allMatch(p -> p.position.count() == 61)))
        .isTrue();
    peers.forEach(p -> assertThat(p.indexes()).hasSize(1));
  }

  @Test
  void aLeaseLost_thePeerClaimsTheLowestFreeSlotAgain() {
    List<Peer> peers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      peers.add(joined("relost", i));
    }
    String key = EtcdPeers.DEFAULT_ROOT + "relost/1";
    long lease = client.range(key).join().path("kvs").path(0).path("lease").asLong();
    assertThat(lease).isNotZero();

    client.revoke(lease).join(); // as if etcd had let it expire: its slot goes with it
    assertThat(
            Await.until(
                WAIT,
                () -> {
                  long now = client.range(key).join().path("kvs").path(0).path("lease").asLong();
                  return now != 0 && now != lease;
                }))
        .as("slot 1 claimed again under a new lease")
        .isTrue();
    assertThat(records("relost")).hasSize(3);
    assertThat(peers.get(1).position.index()).isEqualTo(1);
  }

  @Test
  void aSlotTheClaimantsLeaseAlreadyHolds_isTakenAsItsOwn() {
    // As after a transaction that was applied but whose answer was lost: the retry finds the
    // claimant's own key, and takes it instead of a second slot.
    String prefix = "/test/own-slot/";
    long mine = client.grant(10).join().path("ID").asLong();
    long other = client.grant(10).join().path("ID").asLong();
    client.put(prefix + "0", "{}", other).join();
    client.put(prefix + "3", "{}", mine).join();
    assertThat(new SlotClaim(client, prefix, "mine", n -> "{}").claim(mine).join()).isEqualTo(3);
    assertThat(new SlotClaim(client, prefix, "other", n -> "{}").claim(other).join()).isZero();
    long third = client.grant(10).join().path("ID").asLong();
    assertThat(new SlotClaim(client, prefix, "third", n -> "{}").claim(third).join())
        .as("the lowest free")
        .isEqualTo(1);
    assertThat(client.range(SlotClaim.queueOf(prefix)).join().path("kvs"))
        .as("every ticket gone with its claim")
        .isEmpty();
    for (long l : new long[] {mine, other, third}) {
      client.revoke(l).join();
    }
  }

  /** How many of the balancers list each backend. */
  private static Map<String, Integer> clientsPerBackend(List<LoadBalancer> balancers) {
    Map<String, Integer> out = new HashMap<>();
    for (LoadBalancer lb : balancers) {
      for (Endpoint e : lb.inspect().endpoints()) {
        out.merge(e.key(), 1, Integer::sum);
      }
    }
    return out;
  }

  private static Set<String> keys(LoadBalancer lb) {
    Set<String> out = new HashSet<>();
    lb.inspect().endpoints().forEach(e -> out.add(e.key()));
    return out;
  }

  /**
   * 50 balancers with subsetting and a peer in a process of its own: even subsets; the peer killed
   * without closing frees its slot when its lease expires, and only the clients that take over its
   * endpoints change; a new balancer takes the slot, and with it the killed peer's subset, and the
   * others hand it back.
   */
  @Test
  void fiftyBalancers_aKilledPeersEndpointsCovered_aJoinerTakesItsSubsetBack() throws Exception {
    List<Endpoint> backends = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      backends.add(Endpoint.of("10.1." + (i / 100) + "." + (i % 100 + 1), 8080));
    }
    String prefix = EtcdPeers.DEFAULT_ROOT + "fleet/";
    Process doomed =
        RegistrarProcess.start(etcd.url(), "fleet", "127.0.0.99", "9000", "2", prefix, "slots");
    Recorder seen = new Recorder();
    closeables.add(StandaloneSource.start("fleet peers", sourceOf(prefix), seen::add));
    List<EtcdPeers> peers = new ArrayList<>();
    List<LoadBalancer> balancers = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        EtcdPeers p =
            EtcdPeers.builder(client, "fleet", Endpoint.of("127.0.1." + (i + 1), 9000))
                .ttl(Duration.ofSeconds(2))
                .build();
        peers.add(p);
        balancers.add(
            LoadBalancers.builder("fleet")
                .endpoints(backends)
                .subsetting(Subsetting.size(10).peers(p))
                .build());
        assertThat(Await.until(WAIT, () -> p.index() >= 0)).isTrue(); // one after another
      }
      assertThat(Await.until(WAIT, () -> peers.stream().allMatch(p -> p.count() == 51))).isTrue();
      Set<Integer> indexes = new HashSet<>();
      peers.forEach(p -> indexes.add(p.index()));
      assertThat(indexes).hasSize(50).doesNotContain(0); // the process holds slot 0
      assertThat(Await.until(WAIT, () -> clientsPerBackend(balancers).size() == 100)).isTrue();
      // 51 clients x 10 / 100: 5 or 6 per backend; the doomed one's endpoints have one fewer here.
      assertThat(clientsPerBackend(balancers).values())
          .allSatisfy(n -> assertThat(n).isBetween(4, 7));
      List<Set<String>> before = new ArrayList<>();
      balancers.forEach(lb -> before.add(keys(lb)));

      doomed.destroyForcibly().waitFor(); // SIGKILL: its lease is left to expire
      long killed = System.nanoTime();
      assertThat(Await.until(WAIT, () -> seen.endpoints().size() == 50)).isTrue();
      System.out.printf(
          "killed peer's slot free %d ms after the kill (lease TTL 2 s)%n",
          (System.nanoTime() - killed) / 1_000_000);
      // Slot 0 is vacant: each of its endpoints goes to its next-best live position, every backend
      // has its 5 clients again, and nobody else changes.
      assertThat(
              Await.until(
                  WAIT,
                  () -> peers.stream().allMatch(p -> Arrays.equals(p.vacant(), new int[] {0}))))
          .isTrue();
      assertThat(
              Await.until(
                  WAIT, () -> clientsPerBackend(balancers).values().stream().allMatch(n -> n >= 5)))
          .isTrue();
      int changed = 0;
      for (int i = 0; i < 50; i++) {
        assertThat(peers.get(i).count()).isEqualTo(51); // the highest slot stays
        Set<String> now = keys(balancers.get(i));
        if (!now.equals(before.get(i))) {
          assertThat(now).as("client %d's subset only grows", i).containsAll(before.get(i));
          changed++;
        }
      }
      // Each of slot 0's endpoints (at most 1.5 x 10) went to its next-best live position.
      assertThat(changed).isPositive().isLessThanOrEqualTo(15);

      EtcdPeers late =
          EtcdPeers.builder(client, "fleet", Endpoint.of("127.0.1.100", 9000))
              .ttl(Duration.ofSeconds(2))
              .build();
      LoadBalancer lateBalancer =
          LoadBalancers.builder("fleet")
              .endpoints(backends)
              .subsetting(Subsetting.size(10).peers(late))
              .build();
      balancers.add(lateBalancer);
      assertThat(Await.until(WAIT, () -> late.index() == 0)).isTrue();
      assertThat(Await.until(WAIT, () -> keys(lateBalancer).size() < 100)).isTrue();
      try (LoadBalancer slotZero =
          LoadBalancers.builder("fleet")
              .endpoints(backends)
              .subsetting(Subsetting.size(10).instance(0, 51))
              .build()) {
        assertThat(keys(lateBalancer)).as("slot 0's subset").isEqualTo(keys(slotZero));
      }
      // Every slot held by a balancer now: the others hand slot 0's endpoints back.
      assertThat(
              Await.until(
                  WAIT,
                  () -> {
                    for (int i = 0; i < 50; i++) {
                      if (!keys(balancers.get(i)).equals(before.get(i))) {
                        return false;
                      }
                    }
                    return true;
                  }))
          .isTrue();
      assertThat(clientsPerBackend(balancers).values())
          .allSatisfy(n -> assertThat(n).isBetween(5, 7));
    } finally {
      doomed.destroyForcibly();
      balancers.forEach(LoadBalancer::close); // each closes its EtcdPeers: registration revoked
    }
  }

  private static EtcdEndpointSource sourceOf(String prefix) {
    return EtcdEndpointSource.builder(client, "fleet").prefix(prefix).build();
  }

  /** Collects a source's last list. */
  static final class Recorder {
    private volatile List<Endpoint> last = List.of();

    void add(io.loadstar.api.EndpointUpdate u) {
      if (!u.isError()) {
        last = u.endpoints();
      }
    }

    List<Endpoint> endpoints() {
      return last;
    }
  }
}
