/**
 * Registry discovery for Loadstar on etcd v3: backends register themselves under a lease with
 * {@link io.loadstar.etcd.EtcdRegistrar}, clients follow a key prefix with {@link
 * io.loadstar.etcd.EtcdEndpointSource}; both talk to etcd through one shared {@link
 * io.loadstar.etcd.EtcdClient}. The record format is {@link io.loadstar.etcd.EtcdRecord}.
 */
@NullMarked
package io.loadstar.etcd;

import org.jspecify.annotations.NullMarked;
