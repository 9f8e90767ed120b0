package io.loadstar.etcd;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.PeerPosition;
import io.loadstar.core.StandaloneSource;
import java.time.Duration;
import java.util.Arrays;
import java.util.BitSet;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: a registrar and a source on one prefix. The client claims the lowest free slot
 * under /loadstar/peer-slots/<service>/ with a lease (a key <prefix><n> created in a transaction
 * only if absent: SlotClaim), its record carrying the slot's number, and follows the prefix. Its
 * index is its slot, the count the highest live slot + 1. So a position is the client's own for its
 * lifetime: a client leaving frees its slot and moves nobody else, and the next client to join
 * fills the gap. (In earlier 0.1.0 snapshots the index was the rank of the client's key in the
 * sorted list of peers; one client leaving from the middle renumbered every client after it, and
 * in lb-bench's fleet simulation 19,954 of 20,000 client-endpoint pairs moved where its own 20
 * would have.)
 *
 * Gaps: a slot that nobody holds (its client left, and no one has joined since) is reported as
 * vacant with the position; the balancers still count it, and each of its endpoints goes to its
 * next-best live position (core's SubsetPlan), so every endpoint keeps its share of the clients
 * until the gap fills.
 *
 * A client that dies without closing frees its slot when its lease expires (TTL 10 s by default).
 * While etcd cannot be reached, the last position stands; a list that does not (yet) contain this
 * client's own record reports nothing, so a client never acts on a position that leaves it out.
 */
/**
 * This client's position among the clients of a service, from etcd: each client claims the lowest
 * free numbered slot under {@code /loadstar/peer-slots/<service>/} and holds it for its lifetime;
 * its index is its slot, the count the highest slot held + 1. For {@link
 * io.loadstar.core.Subsetting#peers}.
 *
 * <pre>{@code
 * LoadBalancer orders = LoadBalancers.builder("orders")
 *     .source(EtcdEndpointSource.builder(etcd, "orders").build())
 *     .subsetting(Subsetting.size(20)
 *         .peers(EtcdPeers.builder(etcd, "orders", Endpoint.of(myHost, myPort)).build()))
 *     .build();
 * }</pre>
 *
 * <p>A client leaving (closed, or its lease expired) frees only its own slot: no other client's
 * position changes. A client joining takes the lowest free slot, filling the gap the last leaver
 * left, or the next one after the highest. The position tells the balancer which slots are vacant:
 * until a gap is filled, each of the empty slot's endpoints goes to its next-best live client
 * (subsets stay within 1.5 x d), so every endpoint keeps its share of the clients, and a leaver or
 * a joiner into its slot moves twice its own client-endpoint pairs. Clients that start at once
 * queue for their slots and take distinct ones, without gaps.
 *
 * <p>{@code self} identifies this client among its peers (its own address is a good choice) and
 * must be unique: two clients with the same identity would count once. The balancer starts and
 * closes it.
 */
public final class EtcdPeers implements PeerPosition {

  /**
   * Where peers claim their slots unless told otherwise: {@code /loadstar/peer-slots/}. (Earlier
   * 0.1.0 snapshots registered peers under {@code /loadstar/peers/}; a new root keeps clients of
   * the two kinds apart during an upgrade, each counting its own.)
   */
  public static final String DEFAULT_ROOT = "/loadstar/peer-slots/";

  private static final Logger LOG = LoggerFactory.getLogger(EtcdPeers.class);

  private final EtcdClient client;
  private final String service;
  private final Endpoint self;
  private final String prefix;
  private final EtcdRegistrar.Builder registration;
  private @Nullable EtcdRegistrar registrar; // guarded by this
  private @Nullable StandaloneSource source; // guarded by this: the peers' source, running
  private @Nullable Listener listener; // guarded by this
  private int index = -1; // guarded by this
  private int count; // guarded by this
  private int[] vacant = {}; // guarded by this: the slots below count that nobody holds
  private boolean closed; // guarded by this

  private EtcdPeers(Builder b) {
    this.client = b.client;
    this.service = b.service;
    this.self = b.self;
    this.prefix = b.prefix;
    this.registration = b.registration.prefix(b.prefix).slots();
  }

  /** Starts building the position of the client {@code self} among {@code service}'s clients. */
  public static Builder builder(EtcdClient client, String service, Endpoint self) {
    return new Builder(client, service, self);
  }

  @Override
  public void start(Listener listener) {
    requireNonNull(listener, "listener");
    EtcdEndpointSource s;
    synchronized (this) {
      if (closed || this.listener != null) {
        throw new IllegalStateException(
            this + " is closed or already started (expected: one position per balancer)");
      }
      this.listener = listener;
      registrar = registration.start();
      s = EtcdEndpointSource.builder(client, service).prefix(prefix).build();
    }
    // Not a balancer's source: it runs on the shared threads until this position closes.
    StandaloneSource running = StandaloneSource.start(service + " peers", s, this::peersChanged);
    boolean closedMeanwhile;
    synchronized (this) {
      closedMeanwhile = closed;
      if (!closedMeanwhile) {
        source = running;
      }
    }
    if (closedMeanwhile) {
      running.close();
    }
  }

  private void peersChanged(EndpointUpdate update) {
    if (update.isError()) {
      return; // the last position stands; the source logs the outage
    }
    int own = -1;
    BitSet held = new BitSet();
    for (Endpoint e : update.endpoints()) {
      int slot = SlotClaim.parseSlot(e.tags().getOrDefault(SlotClaim.SLOT_TAG, ""));
      if (slot < 0) {
        continue; // not a slot's record (a peer of another version under a shared prefix)
      }
      held.set(slot);
      if (e.key().equals(self.key())) {
        own = slot;
      }
    }
    int n = held.length();
    int[] gaps = new int[n - held.cardinality()];
    for (int i = 0, slot = held.nextClearBit(0); slot < n; slot = held.nextClearBit(slot + 1)) {
      gaps[i++] = slot;
    }
    Listener l;
    synchronized (this) {
      if (closed || own < 0 || (own == index && n == count && Arrays.equals(gaps, vacant))) {
        return;
      }
      index = own;
      count = n;
      vacant = gaps;
      l = listener;
    }
    LOG.debug(
        "[{}] this client holds slot {} of {} ({} peers)",
        service,
        own,
        n,
        update.endpoints().size());
    if (l != null) {
      l.positionChanged(own, n, gaps);
    }
  }

  /** This client's slot, or -1 until its own registration is seen. */
  public synchronized int index() {
    return index;
  }

  /** The slots below {@link #count()} that nobody holds, as seen with this client's index. */
  public synchronized int[] vacant() {
    return vacant.clone();
  }

  /** The highest slot held + 1, as seen with this client's index; gaps count. */
  public synchronized int count() {
    return count;
  }

  @Override
  public void close() {
    StandaloneSource s;
    EtcdRegistrar r;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      s = source;
      r = registrar;
      listener = null;
    }
    if (s != null) {
      s.close();
    }
    if (r != null) {
      r.close();
    }
  }

  @Override
  public String toString() {
    return "EtcdPeers{" + prefix + self.key() + "}";
  }

  /** Settings of an {@link EtcdPeers}. */
  public static final class Builder {
    private final EtcdClient client;
    private final String service;
    private final Endpoint self;
    private final EtcdRegistrar.Builder registration; // this client's registration: ttl, checks
    private String prefix;

    private Builder(EtcdClient client, String service, Endpoint self) {
      this.client = requireNonNull(client, "client");
      this.service = EtcdEndpointSource.checkService(service);
      this.self = requireNonNull(self, "self");
      this.registration = EtcdRegistrar.builder(client, service, self);
      this.prefix = DEFAULT_ROOT + service + "/";
    }

    /**
     * Sets the prefix the peers claim their slots under. Defaults to {@value #DEFAULT_ROOT}{@code
     * <service>/}. Only clients of this version may share it: a record without a slot is not
     * counted.
     *
     * @throws IllegalArgumentException if it does not start and end with {@code /}
     */
    public Builder prefix(String prefix) {
      this.prefix = EtcdEndpointSource.checkPrefix("prefix", prefix);
      return this;
    }

    /**
     * Sets the lease's time to live: a client that dies without closing leaves its peers' list this
     * long after its last renewal. Defaults to 10 s.
     *
     * @throws IllegalArgumentException if not whole seconds in {@code 2s..1h}
     */
    public Builder ttl(Duration ttl) {
      registration.ttl(ttl);
      return this;
    }

    /** Returns the position; it registers and follows its peers when its balancer starts it. */
    public EtcdPeers build() {
      return new EtcdPeers(this);
    }
  }
}
