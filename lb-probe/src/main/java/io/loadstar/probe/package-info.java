/**
 * Load probes, Prequal's signal: a server counts its requests in flight and its latency at each
 * load in a {@link io.loadstar.probe.ProbeLoad}, and answers probes on {@link
 * io.loadstar.probe.ProbeLoad#PATH} (a JDK {@code HttpServer} with {@link
 * io.loadstar.probe.JdkHttpServerProbes}, a Servlet container with {@link
 * io.loadstar.probe.ProbeServletFilter}, any other server with {@link
 * io.loadstar.probe.ProbeLoad#answer()}); a client asks with {@link io.loadstar.probe.HttpProber}.
 */
@NullMarked
package io.loadstar.probe;

import org.jspecify.annotations.NullMarked;
