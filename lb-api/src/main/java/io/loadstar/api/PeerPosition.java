package io.loadstar.api;

/**
 * Where this client stands among the clients of a service: its index among {@code count} peers. A
 * balancer with subsetting derives the subset of endpoints it talks to from it, so that every
 * endpoint gets an even share of the clients. A fixed position comes from configuration (an
 * instance's ordinal); a registry tells it as clients come and go (lb-etcd's {@code EtcdPeers}).
 *
 * <p>A client whose index changes takes another subset, so an index should stay the client's own
 * while others come and go. The count may exceed the clients alive: a position nobody holds is
 * vacant, and a position that says which ones are ({@link Listener#positionChanged(int, int,
 * int[])}) lets the other balancers cover for it.
 *
 * <p>A balancer calls {@link #start} and {@link #close} from its control loop. The {@link Listener}
 * may be called from any thread, after {@code start} and until {@code close} returns. Until the
 * first position arrives, the balancer talks to every endpoint. An instance serves one balancer.
 */
public interface PeerPosition extends AutoCloseable {

  /** Starts; reports the position now or later, and again whenever it changes. */
  void start(Listener listener);

  /** Stops following the position and releases what it holds. Idempotent. */
  @Override
  void close();

  /** Receives the position. */
  @FunctionalInterface
  interface Listener {
    /**
     * This client is {@code index} of {@code count} (0-based), and every position below {@code
     * count} is held by a client.
     *
     * @throws IllegalArgumentException if {@code count < 1} or {@code index} is not in {@code
     *     0..count-1}
     */
    void positionChanged(int index, int count);

    /**
     * This client is {@code index} of {@code count} (0-based), and the positions in {@code vacant}
     * are held by nobody (clients that left, whose places no one has taken yet). A balancer gives
     * each of a vacant position's endpoints to another client, so every endpoint keeps its share of
     * the clients while the position is empty. The default ignores {@code vacant}.
     *
     * @param vacant ascending, distinct, each in {@code 0..count-1} and not {@code index}; not kept
     *     by the listener (the caller may reuse it)
     * @throws IllegalArgumentException if {@code count < 1}, {@code index} is not in {@code
     *     0..count-1}, or {@code vacant} is not as described
     */
    default void positionChanged(int index, int count, int[] vacant) {
      positionChanged(index, count);
    }
  }
}
