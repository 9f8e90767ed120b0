/**
 * The Apache HttpClient 5 integration: per-request balancing for classic and async clients through
 * their execution chains.
 */
module io.loadstar.httpclient5 {
  requires transitive io.loadstar.api;
  requires transitive org.apache.httpcomponents.client5.httpclient5;
  requires transitive org.apache.httpcomponents.core5.httpcore5;
  // HttpClient 5.6 is an automatic module that loads jdk.net's socket options: resolve it here, or
  // an application on the module path fails with NoClassDefFoundError: jdk/net/Sockets.
  requires jdk.net;

  exports io.loadstar.httpclient5;
}
