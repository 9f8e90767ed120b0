package io.loadstar.grpc;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds a channel the endpoints of one Loadstar balancer: its whole list (every source's, with the
 * last good list kept through discovery errors, as the balancer keeps it), once at start and again
 * whenever the balancer applies a new one. Each address group carries its endpoint's key, which the
 * {@code loadstar} policy routes by. A discovery error before any list is known is passed on, so
 * that RPCs that do not wait for ready fail with it rather than wait.
 */
final class LoadstarNameResolver extends NameResolver {

  private static final Logger logger = LoggerFactory.getLogger(LoadstarNameResolver.class);

  /** The endpoint key an address group is for; the {@code loadstar} policy routes by it. */
  @EquivalentAddressGroup.Attr
  static final Attributes.Key<String> ENDPOINT_KEY =
      Attributes.Key.create("io.loadstar.grpc.endpointKey");

  private final LoadBalancer balancer;
  private final String authority;
  private final SynchronizationContext syncContext;
  private final Executor offloadExecutor;
  private final AtomicLong versions = new AtomicLong();
  private final Set<String> unresolvable = ConcurrentHashMap.newKeySet(); // logged once each
  private @Nullable Listener2 listener; // the sync context's
  private LoadBalancer.@Nullable Subscription subscription;
  private boolean published; // the sync context's: a list was passed on
  private volatile boolean shutdown;

  LoadstarNameResolver(LoadBalancer balancer, String authority, Args args) {
    this.balancer = balancer;
    this.authority = authority;
    this.syncContext = args.getSynchronizationContext();
    Executor offload = args.getOffloadExecutor();
    this.offloadExecutor = offload != null ? offload : Runnable::run;
  }

  @Override
  public String getServiceAuthority() {
    return authority;
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    subscription =
        balancer.addListener(
            new LbEventListener() {
              @Override
              public void endpointsUpdated(String service, List<Endpoint> endpoints) {
                publish(endpoints);
              }

              @Override
              public void discoveryFailed(String service, Throwable error) {
                syncContext.execute(() -> failIfNothingKnown(error));
              }
            });
    publishCurrent();
  }

  @Override
  public void refresh() {
    publishCurrent();
  }

  @Override
  public void shutdown() {
    shutdown = true;
    LoadBalancer.Subscription s = subscription;
    if (s != null) {
      s.close();
    }
  }

  private void publishCurrent() {
    List<Endpoint> endpoints;
    try {
      endpoints = balancer.inspect().endpoints();
    } catch (IllegalStateException closed) {
      syncContext.execute(
          () -> {
            Listener2 l = listener;
            if (!shutdown && l != null) {
              l.onError(
                  Status.UNAVAILABLE
                      .withDescription("Loadstar balancer " + balancer.name() + " is closed")
                      .withCause(closed));
            }
          });
      return;
    }
    if (!endpoints.isEmpty()) {
      publish(endpoints);
    }
  }

  /** Passes {@code endpoints} on, in the order the balancer applied them. */
  private void publish(List<Endpoint> endpoints) {
    long version = versions.incrementAndGet();
    boolean allResolved = true;
    for (Endpoint e : endpoints) {
      allResolved &= e.address() != null;
    }
    if (allResolved) {
      List<EquivalentAddressGroup> groups = groups(endpoints);
      syncContext.execute(() -> deliver(version, groups));
    } else {
      // A host name to look up: never on the balancer's control loop or the channel's context.
      offloadExecutor.execute(
          () -> {
            List<EquivalentAddressGroup> groups = groups(endpoints);
            syncContext.execute(() -> deliver(version, groups));
          });
    }
  }

  private List<EquivalentAddressGroup> groups(List<Endpoint> endpoints) {
    List<EquivalentAddressGroup> groups = new ArrayList<>(endpoints.size());
    for (Endpoint e : endpoints) {
      InetAddress address = e.address();
      if (address == null) {
        try {
          address = InetAddress.getByName(e.host());
          unresolvable.remove(e.key());
        } catch (UnknownHostException ex) {
          if (unresolvable.add(e.key())) {
            logger.warn(
                "[{}] endpoint {} is left out of the gRPC channel: {} does not resolve",
                balancer.name(),
                e.key(),
                e.host(),
                ex);
          }
          continue;
        }
      }
      groups.add(
          new EquivalentAddressGroup(
              new InetSocketAddress(address, e.port()),
              Attributes.newBuilder().set(ENDPOINT_KEY, e.key()).build()));
    }
    return groups;
  }

  private void deliver(long version, List<EquivalentAddressGroup> groups) {
    Listener2 l = listener;
    if (shutdown || l == null || version != versions.get() || groups.isEmpty()) {
      return; // a newer list is on its way, or nothing usable: the channel keeps the last one
    }
    published = true;
    l.onResult(ResolutionResult.newBuilder().setAddresses(groups).build());
  }

  private void failIfNothingKnown(Throwable error) {
    Listener2 l = listener;
    if (!shutdown && l != null && !published) {
      l.onError(
          Status.UNAVAILABLE
              .withDescription(
                  "Loadstar balancer " + balancer.name() + " has no endpoints yet: " + error)
              .withCause(error));
    }
  }

  @Override
  public String toString() {
    return "LoadstarNameResolver{" + balancer.name() + "}";
  }
}
