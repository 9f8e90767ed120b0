/** DNS discovery (A/AAAA, SRV) on dnsjava, driven by record TTLs. */
module io.loadstar.dns {
  requires transitive io.loadstar.api;
  requires com.github.benmanes.caffeine;
  requires io.github.resilience4j.core;
  requires org.dnsjava;
  requires org.slf4j;

  exports io.loadstar.dns;
}
