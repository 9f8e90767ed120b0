/** Micrometer meters for Loadstar balancers. */
module io.loadstar.micrometer {
  requires transitive io.loadstar.api;
  requires transitive micrometer.core;

  exports io.loadstar.micrometer;
}
