/**
 * Loadstar's public types and service-provider interfaces: endpoints, discovery sources, the
 * balancer, picks and outcome reporting, the attempt loop for drivers, retry policy, events. {@code
 * io.loadstar.api.internal} is shared with Loadstar's own modules only.
 */
module io.loadstar.api {
  requires transitive org.jspecify;

  exports io.loadstar.api;
  exports io.loadstar.api.internal to
      io.loadstar.core,
      io.loadstar.dns,
      io.loadstar.okhttp,
      io.loadstar.httpclient5,
      io.loadstar.etcd;
}
