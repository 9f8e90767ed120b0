/**
 * The Apache HttpClient 5 integration: per-request balancing for classic and async clients through
 * their execution chains.
 */
module io.loadstar.httpclient5 {
  requires transitive io.loadstar.api;
  requires transitive org.apache.httpcomponents.client5.httpclient5;
  requires transitive org.apache.httpcomponents.core5.httpcore5;

  exports io.loadstar.httpclient5;
}
