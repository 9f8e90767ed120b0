package io.loadstar.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loadstar.api.Endpoint;
import io.loadstar.core.Subsetting;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.random.RandomGenerator;

/*
 * Design notes: a slot is a key <prefix><n>, n a decimal number, created in a transaction that
 * succeeds only if the key does not exist (create_revision == 0), under the claimant's lease. So a
 * slot has one holder at a time, and it frees itself when the holder closes (lease revoked) or
 * dies (lease expired). Claimants take the lowest free slots, which keeps the numbers compact: a
 * joiner fills the gap a leaver left.
 *
 * Many claimants at once: racing for "the lowest free slot", one would win per round and N
 * claimants would send N^2 / 2 transactions (measured: 60 claimants at once, 1,884 failed
 * transactions and 2.8 to 4 s, long enough for 2 s leases to expire meanwhile). Picking at random
 * among the lowest 2, 4, 8, ... free slots after a lost race spread them, but left gaps: 27 of 87
 * slots empty for 60 claimants. So claimants queue instead: each first puts a ticket under
 * <prefix without its last '/'>~queue/<id> (its lease, so a dead claimant's ticket goes too), then
 * reads the slots and the tickets at one revision. A claimant whose ticket is r-th oldest (by
 * create revision) among the tickets still there takes the r-th lowest free slot, and deletes its
 * ticket in the transaction that creates the slot. Claimants that read at one revision choose
 * distinct slots, and the r older ones take the r lower free slots, so none is skipped; views of
 * different revisions may still collide, and the loser reads again after a short random wait.
 * 60 claimants at once (EtcdPeersTest): slots 0..59, no gap, 120 transactions, 0.55 s.
 */
/** Claims the lowest free numbered slot under a prefix, for {@link EtcdRegistrar}. Stateless. */
final class SlotClaim {

  /** The record's tag that holds its slot's number. */
  static final String SLOT_TAG = "slot";

  /** Lost races before a claim gives up (the registrar tries again at its next tick). */
  static final int MAX_TRIES = 10;

  /** The first wait after a lost race, in milliseconds; it doubles up to 16 times this. */
  static final int BACKOFF_MILLIS = 2;

  private final EtcdClient client;
  private final String prefix;
  private final String ticket;
  private final String queue;
  private final IntFunction<String> record;

  /**
   * Claims under {@code prefix} through {@code client} for the claimant {@code id} (unique among
   * the claimants), storing {@code record.apply(slot)} in the slot it takes.
   */
  SlotClaim(EtcdClient client, String prefix, String id, IntFunction<String> record) {
    this.client = client;
    this.prefix = prefix;
    this.queue = queueOf(prefix);
    this.ticket = queue + id;
    this.record = record;
  }

  /**
   * Claims for {@code endpoint}: its record, with the slot's number in the {@value #SLOT_TAG} tag.
   */
  static SlotClaim of(EtcdClient client, String prefix, String id, Endpoint endpoint) {
    return new SlotClaim(
        client,
        prefix,
        id,
        n -> EtcdRecord.toJson(endpoint.withTag(SLOT_TAG, Integer.toString(n))));
  }

  /**
   * Where the claimants of {@code prefix} queue: {@code /a/b/} queues under {@code /a/b~queue/}.
   * Service names have no {@code ~}, so that is no service's prefix under the same root.
   */
  static String queueOf(String prefix) {
    return prefix.substring(0, prefix.length() - 1) + "~queue/";
  }

  /** Claims a slot under {@code lease}; completes with its number. */
  CompletableFuture<Integer> claim(long lease) {
    return client
        .put(ticket, "", lease)
        .thenCompose(a -> view())
        .thenCompose(a -> attempt(lease, a, 0));
  }

  /** Reads the slots' and the queue's keys at one revision (a transaction of two reads). */
  private CompletableFuture<JsonNode> view() {
    ObjectNode body = EtcdWire.object();
    body.putArray("success")
        .add(EtcdWire.object().set("request_range", keysOnly(prefix)))
        .add(EtcdWire.object().set("request_range", keysOnly(queue)));
    return client.txn(body);
  }

  private static ObjectNode keysOnly(String prefix) {
    return EtcdClient.rangeOf(prefix).put("keys_only", true);
  }

  /** Chooses from {@code view} (the slots' and the queue's keys) and tries to create the slot. */
  private CompletableFuture<Integer> attempt(long lease, JsonNode view, int tries) {
    JsonNode slots = view.path("responses").path(0).path("response_range").path("kvs");
    JsonNode tickets = view.path("responses").path(1).path("response_range").path("kvs");
    BitSet taken = new BitSet();
    for (JsonNode kv : slots) {
      int slot = slotOf(EtcdWire.text(kv.path("key")), prefix);
      if (slot < 0) {
        continue;
      }
      if (kv.path("lease").asLong(0) == lease) {
        // Ours: a transaction of this claim was applied, though its answer was lost.
        return client.delete(ticket).thenApply(a -> slot);
      }
      taken.set(slot);
    }
    List<Long> ahead = new ArrayList<>();
    long own = -1;
    for (JsonNode kv : tickets) {
      long created = kv.path("create_revision").asLong(0);
      if (EtcdWire.text(kv.path("key")).equals(ticket)) {
        own = created;
      } else {
        ahead.add(created);
      }
    }
    if (own < 0) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("the ticket " + ticket + " is gone (its lease expired?)"));
    }
    long mine = own;
    int slot = nthFree(taken, (int) ahead.stream().filter(c -> c < mine).count());
    if (slot >= Subsetting.MAX_CLIENTS) {
      return CompletableFuture.failedFuture(
          new IllegalStateException(
              "no free slot under " + prefix + " (expected: fewer than " + slot + " peers)"));
    }
    ObjectNode body = EtcdWire.object();
    body.putArray("compare")
        .addObject()
        .put("key", EtcdWire.b64(prefix + slot))
        .put("result", "EQUAL")
        .put("target", "CREATE")
        .put("create_revision", "0");
    ObjectNode put =
        EtcdWire.object()
            .put("key", EtcdWire.b64(prefix + slot))
            .put("value", EtcdWire.b64(record.apply(slot)))
            .put("lease", Long.toString(lease));
    body.putArray("success")
        .add(EtcdWire.object().set("request_put", put))
        .add(
            EtcdWire.object()
                .set("request_delete_range", EtcdWire.object().put("key", EtcdWire.b64(ticket))));
    return client
        .txn(body)
        .thenCompose(
            a -> {
              if (a.path("succeeded").asBoolean(false)) {
                return CompletableFuture.completedFuture(slot);
              }
              // The failed claim's view is stale after the wait: the next try reads again.
              if (tries + 1 >= MAX_TRIES) {
                throw new IllegalStateException(
                    "could not claim a slot under " + prefix + " in " + MAX_TRIES + " tries");
              }
              CompletableFuture<Integer> next = new CompletableFuture<>();
              client
                  .scheduler()
                  .schedule(
                      () -> again(lease, tries + 1, next),
                      backoffMillis(tries + 1, ThreadLocalRandom.current()),
                      TimeUnit.MILLISECONDS);
              return next;
            });
  }

  /** After a lost race and its wait: reads again, and tries again. */
  private void again(long lease, int tries, CompletableFuture<Integer> result) {
    view()
        .thenCompose(a -> attempt(lease, a, tries))
        .whenComplete(
            (slot, error) -> {
              if (error != null) {
                result.completeExceptionally(error);
              } else {
                result.complete(slot);
              }
            });
  }

  /** The {@code n}-th (0-based) slot not in {@code taken}. */
  static int nthFree(BitSet taken, int n) {
    int slot = taken.nextClearBit(0);
    for (int i = 0; i < n; i++) {
      slot = taken.nextClearBit(slot + 1);
    }
    return slot;
  }

  /**
   * How long to wait after {@code tries} lost races: at random below {@link #BACKOFF_MILLIS} x
   * 2^(tries - 1), at most x 16.
   */
  static long backoffMillis(int tries, RandomGenerator random) {
    return random.nextLong((long) BACKOFF_MILLIS << Math.min(tries - 1, 4));
  }

  /**
   * The slot number of {@code key}: its part after {@code prefix} if that is a number in {@code
   * 0..}{@link Subsetting#MAX_CLIENTS}{@code -1} written without leading zeros, otherwise -1.
   */
  static int slotOf(String key, String prefix) {
    if (!key.startsWith(prefix)) {
      return -1;
    }
    return parseSlot(key.substring(prefix.length()));
  }

  /** {@code text} as a slot number (see {@link #slotOf}), or -1. */
  static int parseSlot(String text) {
    int n = text.length();
    if (n == 0 || n > 8 || (n > 1 && text.charAt(0) == '0')) {
      return -1;
    }
    int slot = 0;
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      slot = slot * 10 + (c - '0');
    }
    return slot < Subsetting.MAX_CLIENTS ? slot : -1;
  }
}
