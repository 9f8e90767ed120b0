/** The OkHttp integration: a per-request balancing interceptor and an HTTP health checker. */
module io.loadstar.okhttp {
  requires transitive io.loadstar.api;
  requires transitive okhttp3;
  requires okio;

  exports io.loadstar.okhttp;
}
