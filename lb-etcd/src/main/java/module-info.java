/** Registry discovery on etcd: backends register with a lease, clients watch a prefix. */
module io.loadstar.etcd {
  requires transitive io.loadstar.api;
  requires transitive io.loadstar.core;
  requires com.fasterxml.jackson.core;
  requires com.fasterxml.jackson.databind;
  requires io.github.resilience4j.core;
  requires okhttp3;
  requires org.slf4j;

  exports io.loadstar.etcd;
}
