package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.PeerPosition;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Deterministic subsetting: each client of a service talks to a subset of its endpoints, chosen
 * from the client's position among its peers so that every endpoint gets an even share of the
 * clients and of the requests. With 1,000 clients and 500 endpoints, a subset of 20 means 40
 * clients per endpoint instead of 1,000, and health checks that grow with the subset, not the
 * fleet.
 *
 * <pre>{@code
 * LoadBalancers.builder("orders")
 *     .source(...)
 *     .subsetting(Subsetting.size(20).instance(podOrdinal, replicas))   // or .peers(EtcdPeers...)
 *     .build();
 * }</pre>
 *
 * <p>How subsets are chosen (design notes in {@code SubsetPlan}): the fleet holds {@code N x d}
 * client-endpoint pairs for N positions, so each endpoint gets {@code K = floor(N x d / B)} clients
 * or one more (the {@code N x d mod B} endpoints first in a fixed hash order): the same share to
 * within one client. Each endpoint takes the positions that score highest for its key (rendezvous
 * hashing), so no two clients share a subset and nothing depends on a group count: an endpoint that
 * joins takes its own K pairs and K endpoints give back their extra client (2x its own, whatever
 * the endpoint count); one that leaves is dropped by its clients and as many endpoints gain one.
 * Subsets vary in size around d, so each client weights its subset (the weights every client
 * computes alike) to keep the requests per endpoint even; the weights appear in {@code snapshot()}
 * scaled by 100.
 *
 * <p>Subset sizes: at most {@code ceil(1.5 x d)} endpoints, vacant positions covered included (an
 * endpoint passes over a full subset to the next position); at least {@code ceil(d / 2)}, borrowing
 * the client's own next-best endpoints; and {@code d} at least {@code ceil(B / N)}, so that every
 * endpoint has a client. While members are unusable, a subset widens by as many (below). With d =
 * 20 and 500 endpoints, subsets of 10 to 30.
 *
 * <p>When members of the subset are unusable (unhealthy, ejected), the subset widens by as many
 * endpoints, the client's next-best, before panic routing would set in; it narrows again when they
 * recover. Health checks probe the subset only.
 *
 * <p>The position: {@link #instance(int, int)} when each client knows its ordinal (a StatefulSet, a
 * fixed host list), or {@link #peers(PeerPosition)} to learn it from a registry. A client whose
 * index changes takes another subset, so positions should be stable: lb-etcd's {@code EtcdPeers}
 * gives each client a slot it holds for its lifetime, and a client leaving frees only its own. A
 * position nobody holds (a vacant slot, reported with the position) still counts in N, and each of
 * its endpoints goes to its next-highest live position, so every endpoint keeps its share of the
 * clients while the subsets have room. Until a position is known, the balancer talks to every
 * endpoint.
 *
 * <p>Immutable; {@link #instance} and {@link #peers} return new settings.
 */
public final class Subsetting {

  /** The largest subset size and clients-per-endpoint target accepted. */
  public static final int MAX_SIZE = 100_000;

  /** The most clients a position may count. */
  public static final int MAX_CLIENTS = 10_000_000;

  private final int size;
  private final int clientsPerEndpoint;
  private final int index;
  private final int count;
  private final @Nullable PeerPosition peers;

  private Subsetting(
      int size, int clientsPerEndpoint, int index, int count, @Nullable PeerPosition peers) {
    this.size = size;
    this.clientsPerEndpoint = clientsPerEndpoint;
    this.index = index;
    this.count = count;
    this.peers = peers;
  }

  /**
   * Each client talks to about {@code endpoints} endpoints (more if the fleet has fewer clients
   * than it takes to give every endpoint one).
   *
   * @throws IllegalArgumentException if {@code endpoints} is not in {@code 1..100,000}
   */
  public static Subsetting size(int endpoints) {
    if (endpoints < 1 || endpoints > MAX_SIZE) {
      throw new IllegalArgumentException(
          "size: " + endpoints + " (expected: 1.." + MAX_SIZE + " endpoints per client)");
    }
    return new Subsetting(endpoints, 0, -1, 0, null);
  }

  /**
   * Each endpoint gets about {@code clients} clients: the subset size follows the fleet, {@code
   * ceil(clients x endpoints / clientCount)}.
   *
   * @throws IllegalArgumentException if {@code clients} is not in {@code 1..100,000}
   */
  public static Subsetting clientsPerEndpoint(int clients) {
    if (clients < 1 || clients > MAX_SIZE) {
      throw new IllegalArgumentException(
          "clientsPerEndpoint: " + clients + " (expected: 1.." + MAX_SIZE + ")");
    }
    return new Subsetting(0, clients, -1, 0, null);
  }

  /**
   * This client is {@code index} of {@code count} (0-based), fixed.
   *
   * @throws IllegalArgumentException if {@code count} is not in {@code 1..10,000,000} or {@code
   *     index} is not in {@code 0..count-1}
   */
  public Subsetting instance(int index, int count) {
    checkPosition(index, count);
    return new Subsetting(size, clientsPerEndpoint, index, count, null);
  }

  /** This client's position comes from {@code position}, which the balancer starts and closes. */
  public Subsetting peers(PeerPosition position) {
    return new Subsetting(size, clientsPerEndpoint, -1, 0, requireNonNull(position, "position"));
  }

  static void checkPosition(int index, int count) {
    if (count < 1 || count > MAX_CLIENTS) {
      throw new IllegalArgumentException(
          "count: " + count + " (expected: 1.." + MAX_CLIENTS + " clients)");
    }
    if (index < 0 || index >= count) {
      throw new IllegalArgumentException(
          "index: " + index + " (expected: 0.." + (count - 1) + " for " + count + " clients)");
    }
  }

  /**
   * Checks {@code vacant} for position {@code index} of {@code count} and returns a copy.
   *
   * @throws IllegalArgumentException if the position is out of range, or {@code vacant} is not
   *     ascending, distinct, in {@code 0..count-1} and without {@code index}
   */
  static int[] checkVacant(int index, int count, int[] vacant) {
    checkPosition(index, count);
    int[] v = vacant.clone();
    for (int i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] >= count || v[i] == index || (i > 0 && v[i] <= v[i - 1])) {
        throw new IllegalArgumentException(
            "vacant: "
                + Arrays.toString(v)
                + " (expected: ascending, distinct positions in 0.."
                + (count - 1)
                + ", without this client's "
                + index
                + ")");
      }
    }
    return v;
  }

  /**
   * The subset size for {@code endpoints} endpoints and {@code clients} clients, in 1..endpoints.
   */
  int sizeFor(int endpoints, int clients) {
    long d = size > 0 ? size : (clientsPerEndpoint * (long) endpoints + clients - 1) / clients;
    long cover = (endpoints + (long) clients - 1) / clients; // every endpoint gets a client
    return (int) Math.max(1, Math.min(endpoints, Math.max(d, cover)));
  }

  /** The fixed index, or -1 when the position comes from {@link #peers()}. */
  int index() {
    return index;
  }

  /** The fixed client count, or 0 when the position comes from {@link #peers()}. */
  int count() {
    return count;
  }

  @Nullable PeerPosition peers() {
    return peers;
  }

  /** Whether a position is configured, fixed or from peers. */
  boolean hasPosition() {
    return count > 0 || peers != null;
  }

  @Override
  public String toString() {
    String what = size > 0 ? "size " + size : clientsPerEndpoint + " clients per endpoint";
    String where =
        count > 0
            ? "instance " + index + " of " + count
            : peers != null ? "peers " + peers : "no position";
    return "Subsetting{" + what + ", " + where + "}";
  }
}
