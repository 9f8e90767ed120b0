package io.loadstar.grpc;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.loadstar.api.LoadBalancer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The {@code loadstar} name resolver ({@code loadstar:///<service>}), found by gRPC's service
 * loader: resolves a target through the Loadstar balancer passed to the channel as {@link
 * LoadstarGrpc#BALANCER}, which {@link LoadstarGrpc#configure} does. The target's path names the
 * service and must match the balancer's name; it is also the channel's default authority.
 */
public final class LoadstarNameResolverProvider extends NameResolverProvider {

  /** Called by gRPC's service loader. */
  public LoadstarNameResolverProvider() {}

  @Override
  protected boolean isAvailable() {
    return true;
  }

  /**
   * Returns 4, below gRPC's DNS resolver (5): the highest priority names the default scheme of
   * targets without one ({@code host:port}), which must stay {@code dns}.
   */
  @Override
  protected int priority() {
    return 4;
  }

  @Override
  public String getDefaultScheme() {
    return LoadstarGrpc.SCHEME;
  }

  /**
   * Returns the resolver for {@code loadstar:///<service>}, or null for another scheme.
   *
   * @throws IllegalArgumentException if the target names no service, or the channel was given no
   *     balancer or one of another name
   */
  @Override
  public @Nullable NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!LoadstarGrpc.SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    String path = targetUri.getPath();
    if (path == null || !path.startsWith("/") || path.length() < 2 || path.indexOf('/', 1) >= 0) {
      throw new IllegalArgumentException(
          "target: " + targetUri + " (expected: loadstar:///<service>, the balancer's name)");
    }
    String service = path.substring(1);
    LoadBalancer balancer = args.getArg(LoadstarGrpc.BALANCER);
    if (balancer == null) {
      throw new IllegalArgumentException(
          "target: "
              + targetUri
              + " has no Loadstar balancer (expected: a channel built with"
              + " LoadstarGrpc.newChannelBuilder(balancer, credentials) or configured with"
              + " LoadstarGrpc.configure)");
    }
    if (!balancer.name().equals(service)) {
      throw new IllegalArgumentException(
          "target: "
              + targetUri
              + " names service '"
              + service
              + "', but the channel's balancer is '"
              + balancer.name()
              + "' (expected: "
              + LoadstarGrpc.target(balancer)
              + ")");
    }
    return new LoadstarNameResolver(balancer, service, args);
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }
}
