/**
 * The engine: {@code LoadBalancers}, strategies, sources, health checks, outlier detection,
 * routing, retries. {@code io.loadstar.core.internal} is shared with Loadstar's own modules only.
 */
module io.loadstar.core {
  requires transitive io.loadstar.api;
  requires com.github.benmanes.caffeine;
  requires io.github.resilience4j.core;
  requires org.slf4j;

  exports io.loadstar.core;
  exports io.loadstar.core.internal to
      io.loadstar.etcd;
}
