package io.loadstar.etcd;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.PeerPosition;
import io.loadstar.core.StandaloneSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: a registrar and a source on one prefix. The client registers itself under
 * /loadstar/peers/<service>/<host:port> with a lease, like a backend, and follows the prefix; its
 * index is its key's rank in the sorted list of live keys, the count the list's size. A client that
 * dies without closing leaves the list when its lease expires (TTL 10 s by default), and the others
 * take over its share. While etcd cannot be reached, the last position stands; a list that does not
 * (yet) contain this client's own key reports nothing, so a client never acts on a position that
 * leaves it out.
 */
/**
 * This client's position among the clients of a service, from etcd: each client registers under
 * {@code /loadstar/peers/<service>/} and derives its index from the sorted list of peers, following
 * it as clients come and go. For {@link io.loadstar.core.Subsetting#peers}.
 *
 * <pre>{@code
 * LoadBalancer orders = LoadBalancers.builder("orders")
 *     .source(EtcdEndpointSource.builder(etcd, "orders").build())
 *     .subsetting(Subsetting.size(20)
 *         .peers(EtcdPeers.builder(etcd, "orders", Endpoint.of(myHost, myPort)).build()))
 *     .build();
 * }</pre>
 *
 * <p>{@code self} identifies this client among its peers (its own address is a good choice); two
 * clients with the same identity would count once. The balancer starts and closes it.
 */
public final class EtcdPeers implements PeerPosition {

  /** Where peers register unless told otherwise: {@code /loadstar/peers/}. */
  public static final String DEFAULT_ROOT = "/loadstar/peers/";

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
  private boolean closed; // guarded by this

  private EtcdPeers(Builder b) {
    this.client = b.client;
    this.service = b.service;
    this.self = b.self;
    this.prefix = b.prefix;
    this.registration = b.registration.prefix(b.prefix);
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
    List<String> keys = new ArrayList<>();
    for (Endpoint e : update.endpoints()) {
      keys.add(e.key());
    }
    keys.sort(null);
    int i = keys.indexOf(self.key());
    Listener l;
    synchronized (this) {
      if (closed || i < 0 || (i == index && keys.size() == count)) {
        return;
      }
      index = i;
      count = keys.size();
      l = listener;
    }
    LOG.debug("[{}] this client is {} of {} peers", service, i, keys.size());
    if (l != null) {
      l.positionChanged(i, keys.size());
    }
  }

  /** This client's index among its peers, or -1 until its own registration is seen. */
  public synchronized int index() {
    return index;
  }

  /** How many peers were seen with this client's index. */
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
     * Sets the prefix the peers register under. Defaults to {@value #DEFAULT_ROOT}{@code
     * <service>/}.
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
