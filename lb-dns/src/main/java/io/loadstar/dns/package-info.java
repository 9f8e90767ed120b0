/**
 * DNS discovery for Loadstar on dnsjava: {@link io.loadstar.dns.DnsEndpointSource} follows a name's
 * records at their TTL, never through the JVM's or dnsjava's global caches, and never loses the
 * last good answer to a failed lookup.
 */
@NullMarked
package io.loadstar.dns;

import org.jspecify.annotations.NullMarked;
