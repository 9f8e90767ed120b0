package io.loadstar.api;

/**
 * Where this client stands among the clients of a service: its index among {@code count} peers. A
 * balancer with subsetting derives the subset of endpoints it talks to from it, so that every
 * endpoint gets an even share of the clients. A fixed position comes from configuration (an
 * instance's ordinal); a registry tells it as clients come and go (lb-etcd's {@code EtcdPeers}).
 *
 * <p>A client whose index changes takes another subset, so an index should stay the client's own
 * while others come and go. The count may exceed the clients alive: a position nobody holds counts
 * as a client that talks to nobody.
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
     * This client is {@code index} of {@code count} (0-based).
     *
     * @throws IllegalArgumentException if {@code count < 1} or {@code index} is not in {@code
     *     0..count-1}
     */
    void positionChanged(int index, int count);
  }
}
