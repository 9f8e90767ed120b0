package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.bench.FleetTraffic.Fleet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A fleet of clients whose positions are slots, as lb-etcd's {@code EtcdPeers} hands them out: a
 * joiner takes the lowest free slot, a leaver frees its own (at once if it closes, when its lease
 * expires if it crashed), the count is the highest slot held + 1, and the free slots below it are
 * vacant. Each client is a real balancer of a {@link Fleet}; like {@code EtcdPeers}, every client
 * hears of a new count or new vacancies, and a joiner of its slot.
 */
final class SlotFleet implements AutoCloseable {

  /** Whether the clients hear which slots are vacant (ChurnSimulation's {@code --vacant}). */
  static boolean tellVacant = true;

  final Fleet fleet;
  final List<Endpoint> backends;
  final int size;
  private final TreeSet<Integer> free = new TreeSet<>(); // below top only
  private final Map<Integer, Integer> slotOf = new HashMap<>(); // client id -> slot, live or dead
  private int top; // the highest slot held + 1
  private int told = -1; // the count the clients were last told
  private int[] toldVacant = {}; // and the vacant slots
  private int nextId;

  SlotFleet(List<Endpoint> backends, int size, int clients) {
    this.fleet = new Fleet(0, backends, size);
    this.backends = backends;
    this.size = size;
    for (int i = 0; i < clients; i++) {
      join();
    }
  }

  /** A new client joins: the lowest free slot. Returns its id. */
  int join() {
    int id = nextId++;
    Integer gap = free.pollFirst();
    int slot = gap != null ? gap : top;
    slotOf.put(id, slot);
    top = Math.max(top, slot + 1);
    fleet.add(backends, id);
    publish(id);
    return id;
  }

  /** Client {@code id} closes: its balancer and its slot go at once. */
  void leave(int id) {
    crash(id);
    expire(id);
  }

  /** Client {@code id} dies: its balancer goes, its slot stays held until {@link #expire}. */
  void crash(int id) {
    fleet.remove(fleet.ids.indexOf(id));
  }

  /** Client {@code id}'s lease expires: its slot is free. */
  void expire(int id) {
    free.add(slotOf.remove(id));
    while (top > 0 && free.contains(top - 1)) {
      free.remove(--top);
    }
    publish(-1);
  }

  private void publish(int joiner) {
    int[] vacant = tellVacant ? free.stream().mapToInt(Integer::intValue).toArray() : new int[0];
    if (top != told || !Arrays.equals(vacant, toldVacant)) {
      told = top;
      toldVacant = vacant;
      for (int at = 0; at < fleet.ids.size(); at++) {
        fleet.place(at, slotOf.get(fleet.ids.get(at)), top, vacant);
      }
    } else if (joiner >= 0) {
      fleet.place(fleet.ids.size() - 1, slotOf.get(joiner), top, vacant);
    }
  }

  /** The live clients' ids, oldest first. */
  List<Integer> ids() {
    return new ArrayList<>(fleet.ids);
  }

  /** The slot of client {@code id}. */
  int slot(int id) {
    return slotOf.get(id);
  }

  /** The slots held by live clients. */
  List<Integer> liveSlots() {
    List<Integer> out = new ArrayList<>();
    fleet.ids.forEach(id -> out.add(slotOf.get(id)));
    return out;
  }

  /** The count the clients are told: the highest slot held + 1. */
  int count() {
    return top;
  }

  /** How many endpoints client {@code id} talks to. */
  int subsetSize(int id) {
    return fleet.clients.get(fleet.ids.indexOf(id)).inspect().endpoints().size();
  }

  Set<String> pairs() {
    return fleet.pairs();
  }

  List<LoadBalancer> balancers() {
    return fleet.clients;
  }

  @Override
  public void close() {
    fleet.close();
  }
}
